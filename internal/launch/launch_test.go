//go:build unix

package launch_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/internal/launch"
)

// syncBuffer is an io.Writer safe for the copying goroutine of exec and
// the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func sh(t *testing.T, script string, mod func(*launch.Config)) *launch.Process {
	t.Helper()
	cfg := launch.Config{Name: "sh", Binary: "/bin/sh", Args: []string{"-c", script}}
	if mod != nil {
		mod(&cfg)
	}
	p, err := launch.Start(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Kill(context.Background()) })
	return p
}

func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestStart_EnvironmentWithoutDynkvVariables(t *testing.T) {
	t.Setenv("DYNKV_LISTEN", "127.0.0.1:1")
	t.Setenv("LAUNCH_TEST", "kept")
	out := &syncBuffer{}
	p := sh(t, `echo "[$DYNKV_LISTEN] [$LAUNCH_TEST] [$EXTRA]"`, func(c *launch.Config) {
		c.Output, c.Env = out, []string{"EXTRA=added"}
	})
	code, err := p.Wait(timeout(t, 10*time.Second))
	require.NoError(t, err)
	require.Zero(t, code)
	require.Equal(t, "[] [kept] [added]\n", out.String())
	require.NotContains(t, strings.Join(launch.Environ(), "\n"), "DYNKV_")
}

func TestStart_LogPathAppendsAndTails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.log")
	for _, word := range []string{"one", "two", "three"} {
		p := sh(t, "echo "+word, func(c *launch.Config) { c.LogPath = path })
		_, err := p.Wait(timeout(t, 10*time.Second))
		require.NoError(t, err)
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "one\ntwo\nthree\n", string(b))
	p := sh(t, "true", func(c *launch.Config) { c.LogPath = path })
	<-p.Done()
	require.Equal(t, "two\nthree", p.Tail(2))
}

func TestStart_MissingBinary(t *testing.T) {
	_, err := launch.Start(launch.Config{})
	require.ErrorContains(t, err, "binary")
	_, err = launch.Start(launch.Config{Binary: filepath.Join(t.TempDir(), "nothing")})
	require.Error(t, err)
}

func TestWait_ExitCodeAndContext(t *testing.T) {
	p := sh(t, "exit 3", nil)
	code, err := p.Wait(timeout(t, 10*time.Second))
	require.NoError(t, err)
	require.Equal(t, 3, code)
	require.True(t, p.Exited())
	require.Equal(t, 3, p.State().ExitCode())

	long := sh(t, "exec sleep 60", nil)
	require.Nil(t, long.State())
	_, err = long.Wait(timeout(t, 50*time.Millisecond))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, long.Kill(context.Background()))
	code, err = long.Wait(context.Background())
	require.NoError(t, err)
	require.Equal(t, -1, code, "a signal ended it")
}

func TestStop(t *testing.T) {
	t.Run("exits on SIGTERM", func(t *testing.T) {
		p := sh(t, "exec sleep 60", nil)
		require.NoError(t, p.Stop(timeout(t, 10*time.Second)))
		require.True(t, p.Exited())
		require.NoError(t, p.Stop(context.Background()), "stopping again does nothing")
	})
	t.Run("killed after the grace", func(t *testing.T) {
		out := &syncBuffer{}
		p := sh(t, `trap "" TERM; echo ready; while :; do sleep 0.05; done`, func(c *launch.Config) { c.Output = out })
		waitFor(t, func() bool { return out.String() == "ready\n" })
		err := p.Stop(timeout(t, 200*time.Millisecond))
		require.ErrorIs(t, err, launch.ErrKilled)
		require.True(t, p.Exited())
	})
	t.Run("a paused process is continued first", func(t *testing.T) {
		out := &syncBuffer{}
		p := sh(t, `trap "echo term; exit 0" TERM; echo ready; while :; do sleep 0.05; done`, func(c *launch.Config) { c.Output = out })
		waitFor(t, func() bool { return out.String() == "ready\n" })
		require.NoError(t, p.Pause())
		require.NoError(t, p.Pause(), "pausing again does nothing")
		require.NoError(t, p.Stop(timeout(t, 10*time.Second)))
		code, err := p.Wait(context.Background())
		require.NoError(t, err)
		require.Zero(t, code, "the shell handled SIGTERM")
		require.Equal(t, "ready\nterm\n", out.String())
	})
}

func TestSignal(t *testing.T) {
	p := sh(t, "exec sleep 60", nil)
	require.NoError(t, p.Signal(syscall.SIGKILL))
	code, err := p.Wait(timeout(t, 10*time.Second))
	require.NoError(t, err)
	require.Equal(t, -1, code)
	require.NoError(t, p.Kill(context.Background()), "killing an exited process does nothing")
}

func TestServe_Args(t *testing.T) {
	require.Equal(t, []string{"serve"}, launch.Serve{}.Args())
	require.Equal(t, []string{"serve", "--node.id", "n1", "--listen", "a:1", "--peer.listen", "a:2", "--gossip.listen", "a:3",
		"--data.dir", "/d", "--n", "3", "--r", "2", "--w", "2", "--seeds", "b:3,c:3", "--log.level", "warn"},
		launch.Serve{ID: "n1", Listen: "a:1", PeerListen: "a:2", GossipListen: "a:3", DataDir: "/d", N: 3, R: 2, W: 2,
			Seeds: []string{"b:3", "c:3"}, Extra: []string{"--log.level", "warn"}}.Args())
}

func TestFreeAddr(t *testing.T) {
	addr, err := launch.FreeAddr()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(addr, "127.0.0.1:"), addr)
	require.NotEqual(t, "127.0.0.1:0", addr)
}

// waitFor polls cond every 10 ms for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		<-tick.C
	}
}
