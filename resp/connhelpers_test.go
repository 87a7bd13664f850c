package resp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dynkv/dynkv/internal/testclock"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/replica"
)

// syncClock is a clock tests move by hand, safe for concurrent use: the
// server's goroutines read it while the test advances it.
type syncClock = testclock.Clock

func newSyncClock() *syncClock { return testclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) }

// logRecorder is an slog.Handler that keeps every record as one line,
// "LEVEL msg k=v ...", for assertions on what was logged.
type logRecorder struct {
	mu    *sync.Mutex
	lines *[]string
	attrs []slog.Attr
}

func newLogRecorder() *logRecorder {
	return &logRecorder{mu: &sync.Mutex{}, lines: new([]string)}
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	for _, a := range h.attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.lines = append(*h.lines, b.String())
	return nil
}

func (h *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &logRecorder{mu: h.mu, lines: h.lines, attrs: append(append([]slog.Attr{}, h.attrs...), as...)}
}

func (h *logRecorder) WithGroup(string) slog.Handler { return h }

// Lines returns the records so far.
func (h *logRecorder) Lines() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), *h.lines...)
}

// Count returns how many records contain sub.
func (h *logRecorder) Count(sub string) int {
	n := 0
	for _, l := range h.Lines() {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

// connEnv is a Server over a real coordinator and store, served on
// 127.0.0.1 with a clock the test moves; the sweeper does not run by
// itself: the test calls sweep.
type connEnv struct {
	t     *testing.T
	s     *Server
	clock *syncClock
	logs  *logRecorder
	addr  string
}

// newConnEnv serves a Server with cfg over backend (nil: a real
// coordinator over an in-memory store) on 127.0.0.1:0, its listener
// wrapped by wrap when not nil. The server is closed when the test ends.
func newConnEnv(t *testing.T, cfg Config, backend Backend, wrap func(net.Listener) net.Listener) *connEnv {
	return newConnEnvWith(t, cfg, backend, func(s *Server, ln net.Listener) error {
		if wrap != nil {
			ln = wrap(ln)
		}
		return s.Serve(ln)
	}, nil)
}

// newConnEnvWith builds the Server as newConnEnv does, lets setup change
// it, and serves it on 127.0.0.1:0 with serve.
func newConnEnvWith(t *testing.T, cfg Config, backend Backend, serve func(*Server, net.Listener) error, setup func(*Server)) *connEnv {
	t.Helper()
	st, err := replica.Open(replica.Config{Dir: "db", FS: vfs.NewMem(), Durability: replica.DurabilityNone})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	clk := newSyncClock()
	if backend == nil {
		co, err := coordinator.New(coordinator.DefaultConfig(), st, clk.Now, testLogger(t))
		require.NoError(t, err)
		backend = co
	}
	rec := newLogRecorder()
	cfg.Clock = clk.Now
	s, err := New(cfg, backend, st, slog.New(teeHandler{rec, testLogger(t).Handler()}))
	require.NoError(t, err)
	s.noSweeper = true
	if setup != nil {
		setup(s)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- serve(s, ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, s.Close(ctx))
		require.ErrorIs(t, <-served, ErrClosed)
	})
	return &connEnv{t: t, s: s, clock: clk, logs: rec, addr: addr}
}

// teeHandler sends records to two handlers.
type teeHandler struct{ a, b slog.Handler }

func (h teeHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h teeHandler) Handle(ctx context.Context, r slog.Record) error {
	_ = h.a.Handle(ctx, r.Clone())
	return h.b.Handle(ctx, r)
}
func (h teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return teeHandler{h.a.WithAttrs(as), h.b.WithAttrs(as)}
}
func (h teeHandler) WithGroup(g string) slog.Handler {
	return teeHandler{h.a.WithGroup(g), h.b.WithGroup(g)}
}

// rawConn is a client connection that reads replies as raw RESP.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

const rawTimeout = 10 * time.Second

func (e *connEnv) dial() *rawConn {
	e.t.Helper()
	nc, err := net.DialTimeout("tcp", e.addr, rawTimeout)
	require.NoError(e.t, err)
	return newRawConn(e.t, nc)
}

func newRawConn(t *testing.T, nc net.Conn) *rawConn {
	t.Cleanup(func() { _ = nc.Close() })
	return &rawConn{t: t, nc: nc, r: bufio.NewReader(nc)}
}

func (c *rawConn) send(raw string) {
	c.t.Helper()
	_ = c.nc.SetWriteDeadline(time.Now().Add(rawTimeout))
	_, err := c.nc.Write([]byte(raw))
	require.NoError(c.t, err)
}

// do sends one inline command and returns its one-line reply.
func (c *rawConn) do(cmd string) string {
	c.t.Helper()
	c.send(cmd + "\r\n")
	return c.line()
}

// line reads one line of reply, with its CRLF.
func (c *rawConn) line() string {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(rawTimeout))
	l, err := c.r.ReadString('\n')
	require.NoError(c.t, err)
	return l
}

// waitClosed reads until the server closes the connection and returns
// what it sent before; it fails the test if the server does not close it
// within rawTimeout.
func (c *rawConn) waitClosed() string {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(rawTimeout))
	b, err := io.ReadAll(c.r)
	var ne net.Error
	require.False(c.t, errors.As(err, &ne) && ne.Timeout(), "the server did not close the connection")
	return string(b)
}

// session returns the server's session of the client whose local address
// is laddr, waiting until it is registered.
func (e *connEnv) session(c *rawConn) *session {
	e.t.Helper()
	var found *session
	waitUntil(e.t, "the client is registered", func() bool {
		e.s.mu.Lock()
		defer e.s.mu.Unlock()
		for sess := range e.s.mu.clients {
			if sess.addr == c.nc.LocalAddr().String() {
				found = sess
				return true
			}
		}
		return false
	})
	return found
}

// waitUntil polls cond until it holds, failing t after rawTimeout.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(rawTimeout)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		<-tick.C
	}
}

// clientsSnapshot returns the registered sessions.
func (s *Server) clientsSnapshot() []*session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clientsLocked()
}

// writeBlocks reports whether writing b does not complete within 100ms:
// the server no longer reads.
func (c *rawConn) writeBlocks(b []byte) bool {
	_ = c.nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	_, err := c.nc.Write(b)
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// settled waits until the server has finished with the client's last
// commands: their replies are sent and its idle time starts.
func (e *connEnv) settled(c *rawConn) {
	e.t.Helper()
	sess := e.session(c)
	waitUntil(e.t, "the client's commands are done", func() bool { return !sess.busy.Load() })
}
