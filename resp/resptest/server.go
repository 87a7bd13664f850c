package resptest

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/dynkv/dynkv/conf"
	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/node"
	"github.com/dynkv/dynkv/replica"
	"github.com/dynkv/dynkv/resp"
)

// Timeout bounds every wait of this package.
const Timeout = 10 * time.Second

// Server is a resp.Server serving on loopback over a real coordinator and
// store: a standalone node (node.Build with Deps.Standalone).
type Server struct {
	*resp.Server
	Addr        string // host:port clients dial
	Store       *replica.Store
	Coordinator *coordinator.Coordinator
}

// Start builds a standalone node whose RESP server has cfg (see Backend
// for the rest) and serves it until the test ends. cfg.Listen is ignored:
// the server listens on 127.0.0.1:0. When the test ends it closes the node
// and checks that Serve returned resp.ErrClosed.
func Start(t testing.TB, cfg resp.Config) *Server {
	t.Helper()
	n := build(t, cfg, false)
	n.Start()
	t.Cleanup(func() {
		closeNode(t, n)
		select {
		case <-n.Done():
			if err := n.Err(); !errors.Is(err, resp.ErrClosed) {
				t.Errorf("resptest: Serve returned %v, want resp.ErrClosed", err)
			}
		default:
			t.Errorf("resptest: Serve did not return after Close")
		}
	})
	return &Server{Server: n.Server(), Addr: n.Addr().String(), Store: n.Store(), Coordinator: n.Coordinator()}
}

// Backend builds a standalone node without a RESP server: a
// replica.Store on an in-memory pebble and a one-node coordinator over it
// with the default configuration. Both are closed when the test ends.
func Backend(t testing.TB) (*coordinator.Coordinator, *replica.Store) {
	t.Helper()
	n := build(t, resp.DefaultConfig(), true)
	t.Cleanup(func() { closeNode(t, n) })
	return n.Coordinator(), n.Store()
}

// build assembles the node Start and Backend run: node.Build, standalone
// (coordinator.New, no cluster), on vfs.NewMem with DurabilityNone, the
// RESP server with rcfg on 127.0.0.1:0 unless noClients.
func build(t testing.TB, rcfg resp.Config, noClients bool) *node.Node {
	t.Helper()
	rcfg.Listen = "127.0.0.1:0"
	cfg := conf.Config{
		Node:        conf.NodeConfig{ID: "local"},
		Replica:     replica.Config{Dir: "db", FS: vfs.NewMem(), Durability: replica.DurabilityNone},
		Coordinator: coordinator.DefaultConfig(),
		Resp:        rcfg,
	}
	n, err := node.Build(cfg, node.Deps{Standalone: true, NoClients: noClients}, Logger(t))
	if err != nil {
		t.Fatalf("resptest: build node: %v", err)
	}
	return n
}

// closeNode closes n within Timeout. A server the test closed itself is
// not an error.
func closeNode(t testing.TB, n *node.Node) {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := n.Close(ctx); err != nil && !errors.Is(err, resp.ErrClosed) {
		t.Errorf("resptest: close: %v", err)
	}
}

// Serve starts a resp.Server with cfg over backend and store on
// 127.0.0.1:0 and returns it with its address. When the test ends it closes
// the server and checks that Serve returned resp.ErrClosed.
func Serve(t testing.TB, cfg resp.Config, backend resp.Backend, store resp.StoreStats) (*resp.Server, string) {
	t.Helper()
	srv, err := resp.New(cfg, backend, store, Logger(t))
	if err != nil {
		t.Fatalf("resptest: new server: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("resptest: listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		if err := srv.Close(ctx); err != nil && !errors.Is(err, resp.ErrClosed) {
			t.Errorf("resptest: close: %v", err)
		}
		select {
		case err := <-served:
			if !errors.Is(err, resp.ErrClosed) {
				t.Errorf("resptest: Serve returned %v, want resp.ErrClosed", err)
			}
		case <-ctx.Done():
			t.Errorf("resptest: Serve did not return after Close")
		}
	})
	return srv, ln.Addr().String()
}

// Logger returns a logger that writes to t.Log, at debug level.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(logWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
