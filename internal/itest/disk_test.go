package itest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dynkv/dynkv/internal/testenv"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// diskFullReply is what a write gets from a node whose disk is full.
const diskFullReply = "ERR disk full: write refused"

// Bounds of the full-disk test: a refused write answers at once (a
// generous bound for -race on a loaded machine, far below the 5s request
// timeout a hang would wait out), and SIGTERM ends the process well within
// its shutdown timeout plus the store's close bound.
const (
	refuseBound   = 2 * time.Second
	shutdownBound = 25 * time.Second
)

// mountTmpfs mounts a tmpfs of size at a new directory and unmounts it in
// t.Cleanup (after the cleanups registered later, such as the node's).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "disk")
	require.NoError(t, os.Mkdir(dir, 0o755))
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput()
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): %v: %s", err, out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file at path until the filesystem is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			require.ErrorIs(t, err, syscall.ENOSPC)
			return
		}
	}
}

// set writes key once (no retries) and returns the error and how long the
// reply took.
func set(rdb *redis.Client, key, value string) (error, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	err := rdb.Set(ctx, key, value, 0).Err()
	return err, time.Since(start)
}

func requireReads(t *testing.T, rdb *redis.Client, acked map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for k, v := range acked {
		got, err := rdb.Get(ctx, k).Result()
		require.NoError(t, err, k)
		require.Equal(t, v, got, k)
	}
}

// TestDiskFull runs the binary on a small tmpfs and fills it: writes are
// refused at once with a clear error, reads go on, SIGTERM shuts the node
// down, a restart on the full disk serves reads, and once space is freed
// writes work again. No acknowledged write is lost on the way.
func TestDiskFull(t *testing.T) {
	disk := mountTmpfs(t, "8m")
	data := filepath.Join(disk, "data")
	n := startNode(t, data)
	rdb := redis.NewClient(&redis.Options{Addr: n.addr, MaxRetries: -1, ReadTimeout: 10 * time.Second})
	t.Cleanup(func() { _ = rdb.Close() })

	acked := map[string]string{}
	for i := range 200 {
		k := fmt.Sprintf("before:%d", i)
		err, _ := set(rdb, k, strings.Repeat("v", 100)+k)
		require.NoError(t, err)
		acked[k] = strings.Repeat("v", 100) + k
	}

	fill(t, filepath.Join(disk, "filler"))
	// The last pages the WAL holds may take a few more writes; then every
	// write is refused, at once.
	refused := 0
	for i := 0; refused < 20; i++ {
		require.Less(t, i, 100_000, "writes never refused on a full disk")
		k := fmt.Sprintf("during:%d", i)
		v := strings.Repeat("w", 1000) + k
		err, took := set(rdb, k, v)
		if err == nil {
			require.Zero(t, refused, "a write succeeded after one was refused")
			acked[k] = v
			continue
		}
		require.EqualError(t, err, diskFullReply)
		require.Less(t, took, refuseBound, "a refused write answers at once")
		refused++
	}
	t.Logf("%d writes acknowledged after the disk filled, then refused", len(acked)-200)
	requireReads(t, rdb, acked)

	// SIGTERM completes the shutdown.
	start := time.Now()
	n.signal(syscall.SIGTERM)
	code := n.wait(shutdownBound)
	t.Logf("shut down in %s with exit code %d", time.Since(start).Round(time.Millisecond), code)

	// A restart on the full disk opens the client port and serves reads.
	n = startNode(t, data)
	rdb = redis.NewClient(&redis.Options{Addr: n.addr, MaxRetries: -1, ReadTimeout: 10 * time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	requireReads(t, rdb, acked)
	err, took := set(rdb, "restarted", "x")
	require.EqualError(t, err, diskFullReply)
	require.Less(t, took, refuseBound)
	info, err := rdb.Info(context.Background(), "dynkv").Result()
	require.NoError(t, err)
	require.Contains(t, info, "dynkv_store_writable:0")
	require.Contains(t, info, "dynkv_store_fault:disk_full")
	logs := n.logs.String()
	require.Less(t, strings.Count(logs, "\n"), 200, "errors are logged at a bounded rate")

	// Freeing space lets writes in again.
	require.NoError(t, os.Remove(filepath.Join(disk, "filler")))
	waitFor(t, 30*time.Second, "writes accepted after freeing space", func() bool {
		err, _ := set(rdb, "freed", "y")
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			require.EqualError(t, err, diskFullReply)
		}
		return err == nil
	})
	acked["freed"] = "y"
	requireReads(t, rdb, acked)
	info, err = rdb.Info(context.Background(), "dynkv").Result()
	require.NoError(t, err)
	require.Contains(t, info, "dynkv_store_writable:1")
	n.signal(syscall.SIGTERM)
	require.Zero(t, n.wait(shutdownBound))
}
