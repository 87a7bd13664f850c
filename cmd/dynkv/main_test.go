package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/conf"
	"github.com/dynkv/dynkv/replica"
)

// testLogger sends logs to t.Log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func clearEnv(t *testing.T) {
	for _, k := range conf.Keys() {
		t.Setenv(k.Env(), "")
	}
	t.Setenv(configEnv, "")
}

func TestExecute_Version(t *testing.T) {
	var out, errb bytes.Buffer
	require.Equal(t, 0, execute(context.Background(), []string{"version"}, &out, &errb))
	require.True(t, strings.HasPrefix(out.String(), "dynkv "+Version), out.String())
	require.Empty(t, errb.String())
}

func TestExecute_Errors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{name: "bad value", args: []string{"serve", "--durability", "fast"}, code: 2,
			want: `dynkv: durability: "fast" is not one of none, process, fsync (from flag --durability)`},
		{name: "unknown flag", args: []string{"serve", "--bogus"}, code: 2, want: "unknown flag: --bogus"},
		{name: "missing flag value", args: []string{"serve", "--listen"}, code: 2, want: "flag needs an argument"},
		{name: "stray argument", args: []string{"serve", "extra"}, code: 1, want: `unknown command "extra"`},
		{name: "unknown command", args: []string{"frobnicate"}, code: 1, want: `unknown command "frobnicate"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			var out, errb bytes.Buffer
			require.Equal(t, tt.code, execute(context.Background(), tt.args, &out, &errb))
			require.Contains(t, errb.String(), tt.want)
		})
	}
}

func testConfig(t *testing.T) conf.Config {
	cfg := conf.DefaultConfig()
	cfg.Node.ID = "test"
	cfg.Replica.Dir = filepath.Join(t.TempDir(), "data")
	cfg.Resp.Listen = "127.0.0.1:0"
	cfg.Gossip.Listen = "127.0.0.1:0"
	cfg.ShutdownTimeout = 5 * time.Second
	// The nodes of a test share one cluster secret, as an operator's do.
	cfg.Peer.Secret, cfg.Gossip.Secret = "test-secret", "test-secret"
	return cfg
}

// runningNode is runNode running in the background.
type runningNode struct {
	addr   string
	cancel context.CancelFunc
	done   chan struct{} // closed when runNode has returned
	err    error         // runNode's result; read after done
}

// startRunNode runs runNode in the background until it is ready. It is
// stopped and waited for in t.Cleanup.
func startRunNode(t *testing.T, cfg conf.Config) *runningNode {
	ctx, cancel := context.WithCancel(context.Background())
	n := &runningNode{cancel: cancel, done: make(chan struct{})}
	addrc := make(chan string, 1)
	go func() {
		defer close(n.done)
		n.err = runNode(ctx, cfg, testLogger(t), func(a net.Addr) { addrc <- a.String() })
	}()
	t.Cleanup(func() {
		cancel()
		<-n.done
	})
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case n.addr = <-addrc:
	case <-n.done:
		t.Fatalf("runNode: %v", n.err)
	case <-timer.C:
		t.Fatal("runNode did not get ready")
	}
	return n
}

// stop cancels runNode and returns its result.
func (n *runningNode) stop(t *testing.T) error {
	n.cancel()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case <-n.done:
		return n.err
	case <-timer.C:
		t.Fatal("runNode did not return after its context was cancelled")
		return nil
	}
}

func TestRunNode_ServesAndShutsDown(t *testing.T) {
	cfg := testConfig(t)
	n := startRunNode(t, cfg)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: n.addr})
	defer rdb.Close()
	require.NoError(t, rdb.Set(ctx, "k", "v", 0).Err())
	got, err := rdb.Get(ctx, "k").Result()
	require.NoError(t, err)
	require.Equal(t, "v", got)

	require.NoError(t, n.stop(t))

	// The store was closed: it opens again and holds the write.
	store, err := replica.Open(cfg.Replica)
	require.NoError(t, err)
	defer store.Close()
	ss, err := store.Get(ctx, []byte("k"))
	require.NoError(t, err)
	v, ok := ss.Value()
	require.True(t, ok)
	require.Equal(t, "v", string(v))
}

func TestRunNode_ListenFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	cfg := testConfig(t)
	cfg.Resp.Listen = ln.Addr().String()

	err = runNode(context.Background(), cfg, testLogger(t), nil)
	require.ErrorContains(t, err, "listen")

	// The store was closed on the way out.
	store, err := replica.Open(cfg.Replica)
	require.NoError(t, err)
	require.NoError(t, store.Close())
}

func TestRunNode_InvalidConfig(t *testing.T) {
	cfg := testConfig(t)
	cfg.Replica.Durability = "fast"
	err := runNode(context.Background(), cfg, testLogger(t), nil)
	require.ErrorContains(t, err, `durability: "fast"`)
	require.NoDirExists(t, cfg.Replica.Dir)
}
