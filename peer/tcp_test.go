package peer

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/dynkv/dynkv/replica"
	"github.com/dynkv/dynkv/version"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tcpWaitFor polls cond until it holds or d passes.
func tcpWaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, d, time.Millisecond, "waiting for %s", what)
}

// tcpLogger sends the transport's logs to t.Log.
func tcpLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tcpLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tcpLogWriter struct{ t testing.TB }

func (w tcpLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// tcpBook is the test clusters' address book, the transports' resolver.
type tcpBook struct {
	mu    sync.Mutex
	addrs map[string]string
}

func newTCPBook() *tcpBook { return &tcpBook{addrs: map[string]string{}} }

func (b *tcpBook) set(node, addr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.addrs[node] = addr
}

func (b *tcpBook) resolve(node string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.addrs[node]
	return a, ok
}

// countingListener counts the connections it accepts and the Write calls
// (syscalls) made on them.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
	writes   atomic.Int64
	wire     recorder // every byte written to the accepted connections
}

// recorder keeps the bytes written to it.
type recorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *recorder) add(p []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf.Write(p)
}

func (r *recorder) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.buf.Bytes())
}

func (l *countingListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.accepted.Add(1)
	return countingConn{Conn: nc, writes: &l.writes, wire: &l.wire}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
	wire   *recorder
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	c.wire.add(p)
	return c.Conn.Write(p)
}

func tcpTestConfig(t testing.TB) Config {
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Secret = "test-secret"
	cfg.Logger = tcpLogger(t)
	return cfg
}

// startTCP starts the transport of node serving on addr ("" for a fresh
// loopback port), records it in book and closes it at the end of the test.
func startTCP(t testing.TB, book *tcpBook, node, addr string, cfg Config,
	h func(context.Context, []byte) []byte) (*TCP, *countingListener) {
	t.Helper()
	tr, err := NewTCP(cfg, node, book.resolve, h)
	require.NoError(t, err)
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	cl := &countingListener{Listener: ln}
	book.set(node, ln.Addr().String())
	served := make(chan error, 1)
	go func() { served <- tr.Serve(cl) }() // awaited at cleanup
	t.Cleanup(func() {
		err := tr.Close()
		require.True(t, err == nil || errors.Is(err, ErrClosed), "close: %v", err)
		require.ErrorIs(t, <-served, ErrClosed)
	})
	return tr, cl
}

// tcpClientOnly starts a transport that only calls (a handler that is never
// used) and closes it at the end of the test.
func tcpClientOnly(t testing.TB, book *tcpBook, node string, cfg Config) *TCP {
	t.Helper()
	tr, err := NewTCP(cfg, node, book.resolve, func(context.Context, []byte) []byte { return nil })
	require.NoError(t, err)
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// tcpEcho is a handler that answers every request with itself.
func tcpEcho(_ context.Context, req []byte) []byte { return req }

func TestTCP_MergeGetRoundTrip(t *testing.T) {
	src := tcpStore(t)
	dst := tcpStore(t)
	book := newTCPBook()
	ta, _ := startTCP(t, book, "a", "", tcpTestConfig(t), NewMux(src).Serve)
	startTCP(t, book, "b", "", tcpTestConfig(t), NewMux(dst).Serve)
	ctx := context.Background()

	ss := tcpPut(t, src, "cart:42", "apple")
	b := NewClient(ta, "b")
	require.NoError(t, b.Merge(ctx, []byte("cart:42"), ss))
	got, err := b.Get(ctx, []byte("cart:42"), "")
	require.NoError(t, err)
	require.True(t, version.SameVersions(ss, got), "got %v, want %v", got, ss)
	require.Equal(t, []string{"apple"}, tcpValues(got))
	local, err := dst.Get(ctx, []byte("cart:42"))
	require.NoError(t, err)
	require.Equal(t, []string{"apple"}, tcpValues(local))

	require.NoError(t, b.PutHint(ctx, "c", []byte("k"), ss))
	got, err = b.Get(ctx, []byte("k"), "c")
	require.NoError(t, err)
	require.Equal(t, []string{"apple"}, tcpValues(got))

	missing, err := b.Get(ctx, []byte("nothing"), "")
	require.NoError(t, err)
	require.Empty(t, missing)

	_, err = ta.Call(ctx, "b", []byte("not a request"))
	require.NoError(t, err, "a bad request gets an error response, not a transport error")
}

func TestTCP_ConcurrentCallsShareOneConnection(t *testing.T) {
	src := tcpStore(t)
	dst := tcpStore(t)
	book := newTCPBook()
	_, srvLn := startTCP(t, book, "b", "", tcpTestConfig(t), NewMux(dst).Serve)
	ta := tcpClientOnly(t, book, "a", tcpTestConfig(t))
	b := NewClient(ta, "b")
	ctx := context.Background()

	const goroutines, calls = 64, 100
	ss := tcpPut(t, src, "seed", "v")
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := range calls {
				key := []byte(fmt.Sprintf("k%d-%d", g, i%10))
				if err := b.Merge(ctx, key, ss); err != nil {
					errs <- err
					return
				}
				got, err := b.Get(ctx, key, "")
				if err != nil {
					errs <- err
					return
				}
				if !version.SameVersions(got, ss) {
					errs <- fmt.Errorf("get %s: %v, want %v", key, got, ss)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.EqualValues(t, 1, srvLn.accepted.Load(), "every call shares one connection")
	frames := int64(goroutines * calls * 2)
	writes := srvLn.writes.Load()
	t.Logf("%d responses left in %d writes (%.1f frames per syscall)", frames, writes, float64(frames)/float64(writes))
	require.Less(t, writes, frames, "responses are coalesced")
}

func TestTCP_WrongSecret(t *testing.T) {
	dst := tcpStore(t)
	src := tcpStore(t)
	book := newTCPBook()
	startTCP(t, book, "b", "", tcpTestConfig(t), NewMux(dst).Serve)
	bad := tcpTestConfig(t)
	bad.Secret = "another-secret"
	ta := tcpClientOnly(t, book, "a", bad)
	ctx := context.Background()

	err := NewClient(ta, "b").Merge(ctx, []byte("k"), tcpPut(t, src, "k", "v"))
	require.ErrorIs(t, err, ErrPeerAuth)
	require.ErrorIs(t, err, ErrUnreachable)
	require.Contains(t, err.Error(), "authentication failed")
	ss, err := dst.Get(ctx, []byte("k"))
	require.NoError(t, err)
	require.Empty(t, ss, "the server store is unchanged")

	// An empty secret is a different secret too.
	bad.Secret = ""
	_, err = tcpClientOnly(t, book, "c", bad).Call(ctx, "b", EncodeRequest(Request{Op: OpGet, Key: []byte("k")}))
	require.ErrorIs(t, err, ErrPeerAuth)
}

func TestTCP_RedialsAfterServerRestart(t *testing.T) {
	book := newTCPBook()
	first, ln1 := startTCP(t, book, "b", "", tcpTestConfig(t), tcpEcho)
	ta := tcpClientOnly(t, book, "a", tcpTestConfig(t))
	ctx := context.Background()
	got, err := ta.Call(ctx, "b", []byte("one"))
	require.NoError(t, err)
	require.Equal(t, "one", string(got))

	addr, _ := book.resolve("b")
	require.NoError(t, first.Close())
	require.ErrorIs(t, first.Close(), ErrClosed)
	tcpWaitFor(t, 5*time.Second, "calls to fail while b is down", func() bool {
		_, err := ta.Call(ctx, "b", []byte("x"))
		return errors.Is(err, ErrUnreachable)
	})

	_, ln2 := startTCP(t, book, "b", addr, tcpTestConfig(t), tcpEcho)
	tcpWaitFor(t, 5*time.Second, "a call to succeed after b restarted", func() bool {
		got, err := ta.Call(ctx, "b", []byte("two"))
		return err == nil && string(got) == "two"
	})
	for range 10 {
		_, err := ta.Call(ctx, "b", []byte("three"))
		require.NoError(t, err)
	}
	require.EqualValues(t, 1, ln1.accepted.Load())
	require.EqualValues(t, 1, ln2.accepted.Load(), "one new connection after the restart")
}

// tcpRawPeer dials node b as tr resolves it; with auth it passes the handshake as node
// "raw".
func tcpRawPeer(t *testing.T, tr *TCP, secret string, auth bool) (net.Conn, session) {
	t.Helper()
	addr, _ := tr.resolve("b")
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = nc.Close() })
	require.NoError(t, nc.SetDeadline(time.Now().Add(10*time.Second)))
	var s session
	if auth {
		s, err = clientHandshake(nc, secret, "raw", "b")
		require.NoError(t, err)
	}
	return nc, s
}

// tcpRequireClosed waits for the server to close nc.
func tcpRequireClosed(t *testing.T, nc net.Conn) {
	t.Helper()
	_, err := io.Copy(io.Discard, nc)
	// A reset if the server closed with our bytes unread.
	require.True(t, err == nil || errors.Is(err, syscall.ECONNRESET), "expected the server to close the connection, got %v", err)
}

func TestTCP_GarbagePeer(t *testing.T) {
	book := newTCPBook()
	cfg := tcpTestConfig(t)
	cfg.MaxFrame = 1 << 10
	tb, _ := startTCP(t, book, "b", "", cfg, tcpEcho)
	ta := tcpClientOnly(t, book, "a", cfg)
	ctx := context.Background()
	hdr := func(n uint32, id uint64, status byte) []byte {
		h := binary.BigEndian.AppendUint32(nil, n)
		h = binary.BigEndian.AppendUint64(h, id)
		return append(h, status)
	}
	random := make([]byte, 4096)
	_, _ = rand.Read(random)
	for _, tc := range []struct {
		name string
		auth bool
		send []byte
	}{
		{"random bytes before the handshake", false, random},
		{"redis command", false, []byte("*1\r\n$4\r\nPING\r\n")},
		{"short hello then EOF", false, []byte(authMagic[:3])},
		{"random bytes after the handshake", true, random},
		{"oversized length", true, hdr(0xffffffff, 1, frameOK)},
		{"length just over max frame", true, hdr(1<<10+1, 1, frameOK)},
		{"unknown status", true, hdr(1, 1, 9)},
		{"response status in a request", true, hdr(0, 1, frameTooLarge)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc, _ := tcpRawPeer(t, tb, cfg.Secret, tc.auth)
			if !tc.auth {
				var hello [len(authMagic) + nonceLen]byte
				_, err := io.ReadFull(nc, hello[:])
				require.NoError(t, err)
			}
			_, err := nc.Write(tc.send)
			require.NoError(t, err)
			if tc.name == "short hello then EOF" {
				require.NoError(t, nc.(*net.TCPConn).CloseWrite())
			}
			tcpRequireClosed(t, nc)
			got, err := ta.Call(ctx, "b", []byte("still serving"))
			require.NoError(t, err)
			require.Equal(t, "still serving", string(got))
		})
	}

	t.Run("valid frame from a raw peer", func(t *testing.T) {
		nc, s := tcpRawPeer(t, tb, cfg.Secret, true)
		_, err := nc.Write(appendFrame(nil, frame{id: 7, payload: []byte("hi")}, s.send))
		require.NoError(t, err)
		var h [frameHeader]byte
		f, err := readFrame(nc, &h, 1<<10, s.recv, false, nil)
		require.NoError(t, err)
		require.Equal(t, frame{id: 7, payload: []byte("hi")}, f)
	})
}

func TestTCP_SilentPeerTimesOutHandshake(t *testing.T) {
	book := newTCPBook()
	cfg := tcpTestConfig(t)
	cfg.DialTimeout = 100 * time.Millisecond
	tb, _ := startTCP(t, book, "b", "", cfg, tcpEcho)
	nc, _ := tcpRawPeer(t, tb, cfg.Secret, false)
	start := time.Now()
	tcpRequireClosed(t, nc) // reads the hello, then the server gives up on us
	require.Less(t, time.Since(start), 5*time.Second)
}

func TestTCP_ContextDeadlineOnSlowHandler(t *testing.T) {
	book := newTCPBook()
	slow := func(ctx context.Context, req []byte) []byte {
		if string(req) == "slow" {
			<-ctx.Done() // released when b closes
		}
		return req
	}
	startTCP(t, book, "b", "", tcpTestConfig(t), slow)
	ta := tcpClientOnly(t, book, "a", tcpTestConfig(t))

	_, err := ta.Call(context.Background(), "b", []byte("warm up"))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = ta.Call(ctx, "b", []byte("slow"))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 2*time.Second, "the call returns promptly at its deadline")

	got, err := ta.Call(context.Background(), "b", []byte("fast"))
	require.NoError(t, err, "the connection outlives a call that gave up")
	require.Equal(t, "fast", string(got))

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = ta.Call(ctx, "b", []byte("fast"))
	require.ErrorIs(t, err, context.Canceled)
}

func TestTCP_ClosePendingCalls(t *testing.T) {
	for _, side := range []string{"client", "server"} {
		t.Run(side+" closes", func(t *testing.T) {
			book := newTCPBook()
			var running atomic.Int64
			block := func(ctx context.Context, req []byte) []byte {
				running.Add(1)
				<-ctx.Done()
				return req
			}
			tb, _ := startTCP(t, book, "b", "", tcpTestConfig(t), block)
			ta := tcpClientOnly(t, book, "a", tcpTestConfig(t))
			const n = 10
			errs := make(chan error, n)
			for range n {
				go func() { // awaited below
					_, err := ta.Call(context.Background(), "b", []byte("x"))
					errs <- err
				}()
			}
			tcpWaitFor(t, 5*time.Second, "every handler to run", func() bool { return running.Load() == n })
			closer, want := ta, ErrClosed
			if side == "server" {
				closer, want = tb, ErrUnreachable
			}
			require.NoError(t, closer.Close())
			for range n {
				select {
				case err := <-errs:
					require.ErrorIs(t, err, want)
				case <-time.After(5 * time.Second):
					t.Fatal("a pending call did not return after Close")
				}
			}
			require.ErrorIs(t, closer.Close(), ErrClosed)
			_, err := closer.Call(context.Background(), "b", []byte("x"))
			require.ErrorIs(t, err, ErrClosed)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			require.ErrorIs(t, closer.Serve(ln), ErrClosed)
		})
	}
}

func TestTCP_Unreachable(t *testing.T) {
	book := newTCPBook()
	ta := tcpClientOnly(t, book, "a", tcpTestConfig(t))
	ctx := context.Background()
	_, err := ta.Call(ctx, "nobody", []byte("x"))
	require.ErrorIs(t, err, ErrUnreachable, "an unresolvable node")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	book.set("gone", ln.Addr().String())
	require.NoError(t, ln.Close())
	_, err = ta.Call(ctx, "gone", []byte("x"))
	require.ErrorIs(t, err, ErrUnreachable, "a refused connection")

	// A node that answers under another id is not the node we called.
	startTCP(t, book, "b", "", tcpTestConfig(t), tcpEcho)
	addr, _ := book.resolve("b")
	book.set("c", addr)
	_, err = ta.Call(ctx, "c", []byte("x"))
	require.ErrorIs(t, err, ErrUnreachable)
	require.Contains(t, err.Error(), `reached node "b"`)
}

func TestTCP_Listen(t *testing.T) {
	book := newTCPBook()
	tb, err := NewTCP(tcpTestConfig(t), "b", book.resolve, tcpEcho)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tb.Close() })
	require.Nil(t, tb.Addr())
	require.NoError(t, tb.Listen())
	book.set("b", tb.Addr().String())
	got, err := tcpClientOnly(t, book, "a", tcpTestConfig(t)).Call(context.Background(), "b", []byte("hi"))
	require.NoError(t, err)
	require.Equal(t, "hi", string(got))
	require.NoError(t, tb.Close())
	require.ErrorIs(t, tb.Listen(), ErrClosed)
}

func TestTCP_FrameLimits(t *testing.T) {
	book := newTCPBook()
	cfg := tcpTestConfig(t)
	cfg.MaxFrame = 1 << 10
	h := func(_ context.Context, req []byte) []byte {
		switch string(req) {
		case "big":
			return make([]byte, 1<<10+1)
		case "panic":
			panic("handler bug")
		case "empty":
			return nil
		}
		return req
	}
	startTCP(t, book, "b", "", cfg, h)
	ta := tcpClientOnly(t, book, "a", cfg)
	ctx := context.Background()

	_, err := ta.Call(ctx, "b", make([]byte, 1<<10+1))
	require.ErrorIs(t, err, ErrFrameTooLarge, "request over MaxFrame")
	got, err := ta.Call(ctx, "b", make([]byte, 1<<10))
	require.NoError(t, err, "request of exactly MaxFrame")
	require.Len(t, got, 1<<10)
	_, err = ta.Call(ctx, "b", []byte("big"))
	require.ErrorIs(t, err, ErrFrameTooLarge, "response over MaxFrame")
	_, err = ta.Call(ctx, "b", []byte("panic"))
	require.ErrorIs(t, err, ErrRemote)
	got, err = ta.Call(ctx, "b", []byte("empty"))
	require.NoError(t, err)
	require.Empty(t, got)
	got, err = ta.Call(ctx, "b", []byte("still connected"))
	require.NoError(t, err)
	require.Equal(t, "still connected", string(got))
}

func TestTCP_NoGoroutineLeak(t *testing.T) {
	base := runtime.NumGoroutine()
	func() {
		src := tcpOpenStore(t)
		dst := tcpOpenStore(t)
		defer func() { require.NoError(t, src.Close()); require.NoError(t, dst.Close()) }()
		book := newTCPBook()
		logger := tcpLogger(t)
		var trs []*TCP
		for _, n := range []struct {
			node string
			s    *replica.Store
		}{{"a", src}, {"b", dst}} {
			cfg := tcpTestConfig(t)
			cfg.Logger = logger
			tr, err := NewTCP(cfg, n.node, book.resolve, NewMux(n.s).Serve)
			require.NoError(t, err)
			require.NoError(t, tr.Listen())
			book.set(n.node, tr.Addr().String())
			trs = append(trs, tr)
		}
		ss := tcpPut(t, src, "k", "v")
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				peer := []string{"a", "b"}[i%2]
				_ = NewClient(trs[(i+1)%2], peer).Merge(context.Background(), []byte("k"), ss)
			})
		}
		wg.Wait()
		// Leave calls pending in a handler at Close.
		slow, err := NewTCP(tcpTestConfig(t), "slow", book.resolve, func(ctx context.Context, _ []byte) []byte { <-ctx.Done(); return nil })
		require.NoError(t, err)
		require.NoError(t, slow.Listen())
		book.set("slow", slow.Addr().String())
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		_, err = trs[0].Call(ctx, "slow", []byte("x"))
		require.ErrorIs(t, err, context.DeadlineExceeded)
		for _, tr := range append(trs, slow) {
			require.NoError(t, tr.Close())
		}
	}()
	tcpWaitFor(t, 10*time.Second, "goroutines to return to the baseline", func() bool {
		return runtime.NumGoroutine() <= base+2
	})
}

// tcpStore opens a store on a fresh in-memory filesystem and closes it at
// the end of the test.
func tcpStore(t testing.TB) *replica.Store {
	t.Helper()
	s := tcpOpenStore(t)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// tcpPut writes value over everything s holds for key (a plain SET) and
// returns the key's siblings.
func tcpPut(t testing.TB, s *replica.Store, key, value string) version.Siblings {
	t.Helper()
	ss, err := s.Update(context.Background(), []byte(key), func(cur version.Siblings) (version.Siblings, error) {
		return version.Update(cur, s.Actor(), cur.Context(), 1, []byte(value), false), nil
	})
	require.NoError(t, err)
	return ss
}

// tcpValues returns the live values of ss in order.
func tcpValues(ss version.Siblings) []string {
	var out []string
	for _, s := range ss.Live() {
		out = append(out, string(s.Value))
	}
	return out
}

// tcpOpenStore opens a store on a fresh in-memory filesystem; the caller
// closes it.
func tcpOpenStore(t testing.TB) *replica.Store {
	t.Helper()
	s, err := replica.Open(replica.Config{Dir: "db", FS: vfs.NewMem(), Durability: replica.DurabilityNone})
	require.NoError(t, err)
	return s
}

// BenchmarkTCPCall measures a small Merge round trip over loopback TCP,
// with GOMAXPROCS goroutines calling (parallelism 1) and with many more
// (parallelism 32, where coalescing shows).
func BenchmarkTCPCall(b *testing.B) {
	for _, par := range []int{1, 32} {
		b.Run(fmt.Sprintf("parallelism=%d", par), func(b *testing.B) {
			src := tcpStore(b)
			dst := tcpStore(b)
			cfg := tcpTestConfig(b)
			cfg.Logger = nil
			book := newTCPBook()
			startTCP(b, book, "b", "", cfg, NewMux(dst).Serve)
			client := NewClient(tcpClientOnly(b, book, "a", cfg), "b")
			ss := tcpPut(b, src, "k", "a small value")
			var next atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(par)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				key := []byte(fmt.Sprintf("key-%d", next.Add(1)))
				for pb.Next() {
					if err := client.Merge(context.Background(), key, ss); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// TestTCP_FramesAreSealed: what a node sends its peers is encrypted (a
// value never shows on the wire) and yet arrives intact.
func TestTCP_FramesAreSealed(t *testing.T) {
	book := newTCPBook()
	_, ln := startTCP(t, book, "b", "", tcpTestConfig(t), tcpEcho)
	ta := tcpClientOnly(t, book, "a", tcpTestConfig(t))
	value := []byte("cart:42 holds a very recognisable apple")
	for range 3 {
		got, err := ta.Call(context.Background(), "b", value)
		require.NoError(t, err)
		require.Equal(t, value, got)
	}
	wire := ln.wire.bytes()
	require.Greater(t, len(wire), 3*len(value), "the responses went over this connection")
	require.NotContains(t, string(wire), "recognisable", "a value in clear on the wire")
}

// TestTCP_HandlersOutliveRequests: requests one after another reuse the
// handler goroutine of the one before (a goroutine per request grew its
// stack on every store write), while concurrent requests each get one.
func TestTCP_HandlersOutliveRequests(t *testing.T) {
	book := newTCPBook()
	release := make(chan struct{})
	blocked := atomic.Int64{}
	srv, _ := startTCP(t, book, "b", "", tcpTestConfig(t), func(_ context.Context, req []byte) []byte {
		if string(req) == "block" {
			blocked.Add(1)
			<-release
		}
		return req
	})
	ta := tcpClientOnly(t, book, "a", tcpTestConfig(t))
	ctx := context.Background()
	const calls = 200
	for range calls {
		got, err := ta.Call(ctx, "b", []byte("x"))
		require.NoError(t, err)
		require.Equal(t, "x", string(got))
	}
	seq := srv.handlers.Load()
	t.Logf("%d sequential requests ran on %d handler goroutines", calls, seq)
	require.Less(t, seq, int64(calls/2), "sequential requests reuse handlers")

	const concurrent = 20
	var wg sync.WaitGroup
	for range concurrent {
		wg.Go(func() {
			_, err := ta.Call(ctx, "b", []byte("block"))
			assert.NoError(t, err)
		})
	}
	tcpWaitFor(t, 10*time.Second, "every blocking request running", func() bool { return blocked.Load() == concurrent })
	close(release)
	wg.Wait()
	require.GreaterOrEqual(t, srv.handlers.Load(), int64(concurrent), "concurrent requests each run at once")
}
