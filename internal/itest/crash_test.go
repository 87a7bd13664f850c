package itest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// writeLoad runs writers goroutines that SET unique keys, each to its own
// value, until a write fails or stop is closed, and records the keys whose
// write was acknowledged with OK.
type writeLoad struct {
	acked atomic.Int64
	stop  chan struct{}
	wg    sync.WaitGroup

	mu struct {
		sync.Mutex
		keys []string // acknowledged; the value of key k is value(k)
		errs []error  // the error that ended each writer
	}
}

// maxWritesPerWriter bounds the load in case the process never stops.
const maxWritesPerWriter = 200_000

func value(key string) string { return "value-of-" + key }

func startWriteLoad(t *testing.T, addr string, writers int) *writeLoad {
	w := &writeLoad{stop: make(chan struct{})}
	rdb := redis.NewClient(&redis.Options{
		Addr:         addr,
		PoolSize:     writers,
		MaxRetries:   -1, // a write is acknowledged exactly when its own reply says OK
		DialTimeout:  2 * time.Second,
		ReadTimeout:  10 * time.Second,
		WriteTimeout: 10 * time.Second,
	})
	t.Cleanup(func() { _ = rdb.Close() })
	for i := range writers {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			var keys []string
			var err error
			for j := 0; j < maxWritesPerWriter; j++ {
				select {
				case <-w.stop:
					err = fmt.Errorf("stopped")
				default:
				}
				if err != nil {
					break
				}
				key := fmt.Sprintf("w%d-k%d", i, j)
				if err = rdb.Set(context.Background(), key, value(key), 0).Err(); err != nil {
					break
				}
				keys = append(keys, key)
				w.acked.Add(1)
			}
			w.mu.Lock()
			w.mu.keys = append(w.mu.keys, keys...)
			w.mu.errs = append(w.mu.errs, err)
			w.mu.Unlock()
		}()
	}
	t.Cleanup(w.halt)
	return w
}

// halt stops the writers and waits for them.
func (w *writeLoad) halt() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.wg.Wait()
}

// result waits for the writers and returns the acknowledged keys and how
// many writers ended on an error other than being stopped.
func (w *writeLoad) result() (keys []string, failed int) {
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, err := range w.mu.errs {
		if err != nil && err.Error() != "stopped" {
			failed++
		}
	}
	return w.mu.keys, failed
}

// requireAllPresent checks that every key holds its value, in batches.
func requireAllPresent(t *testing.T, rdb *redis.Client, keys []string) {
	t.Helper()
	ctx := testContext(t)
	missing := 0
	for start := 0; start < len(keys); start += 500 {
		batch := keys[start:min(start+500, len(keys))]
		vals, err := rdb.MGet(ctx, batch...).Result()
		require.NoError(t, err)
		for i, v := range vals {
			if v != value(batch[i]) {
				if missing < 10 {
					t.Errorf("acknowledged key %s: got %v, want %q", batch[i], v, value(batch[i]))
				}
				missing++
			}
		}
	}
	require.Zero(t, missing, "%d of %d acknowledged writes lost", missing, len(keys))
}

// TestKill9_AcknowledgedWritesSurvive kills the process with SIGKILL while
// several clients write, restarts it on the same data directory and checks
// that every write acknowledged before the kill is there (durability
// process, the default).
func TestKill9_AcknowledgedWritesSurvive(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 test skipped in -short mode")
	}
	dir := t.TempDir()
	n := startNode(t, dir)
	load := startWriteLoad(t, n.addr, 8)
	waitFor(t, time.Minute, "2000 acknowledged writes", func() bool { return load.acked.Load() >= 2000 })

	n.signal(syscall.SIGKILL)
	require.Equal(t, -1, n.wait(exitTimeout), "killed by a signal")
	keys, failed := load.result()
	require.Equal(t, 8, failed, "every writer was writing when the process died")
	t.Logf("%d writes acknowledged before kill -9", len(keys))

	n2 := startNode(t, dir)
	requireAllPresent(t, n2.client(), keys)
}

// TestSIGTERM_GracefulShutdown stops the process with SIGTERM while
// clients write: it must exit 0 within the deadline, log a clean shutdown,
// and every acknowledged write must be there after a restart.
func TestSIGTERM_GracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir)
	load := startWriteLoad(t, n.addr, 4)
	waitFor(t, time.Minute, "500 acknowledged writes", func() bool { return load.acked.Load() >= 500 })

	n.signal(syscall.SIGTERM)
	require.Equal(t, 0, n.wait(exitTimeout), "exit code after SIGTERM")
	keys, _ := load.result()
	logs := n.logs.String()
	require.Contains(t, logs, "msg=\"shutting down\"")
	require.Contains(t, logs, "msg=\"store closed\"")
	t.Logf("%d writes acknowledged before SIGTERM", len(keys))

	n2 := startNode(t, dir)
	requireAllPresent(t, n2.client(), keys)
}

// TestSIGTERM_Idle checks a quick clean exit of an idle node and that its
// data survives.
func TestSIGTERM_Idle(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir, "--durability", "none")
	rdb := n.client()
	ctx := testContext(t)
	require.NoError(t, rdb.Set(ctx, "k", "v", 0).Err())
	require.NoError(t, rdb.Close())

	n.signal(syscall.SIGTERM)
	require.Equal(t, 0, n.wait(exitTimeout))

	// Even with durability none a clean shutdown keeps every write.
	n2 := startNode(t, dir, "--durability", "none")
	got, err := n2.client().Get(ctx, "k").Result()
	require.NoError(t, err)
	require.Equal(t, "v", got)
}
