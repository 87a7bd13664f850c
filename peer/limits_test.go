package peer

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// tcpPartialFrame writes, on an authenticated raw connection, the header
// of a request of n bytes and the first body bytes of it, and no more.
func tcpPartialFrame(t *testing.T, nc net.Conn, n uint32, body int) {
	t.Helper()
	h := binary.BigEndian.AppendUint32(nil, n)
	h = binary.BigEndian.AppendUint64(h, 1)
	h = append(h, frameOK)
	_, err := nc.Write(append(h, make([]byte, body)...))
	require.NoError(t, err)
}

// tcpReceiving returns the receive budget's state: bytes reserved, readers
// waiting, bytes of buffers held.
func tcpReceiving(tr *TCP) (reserved int64, waiting int, held int64) {
	reserved, waiting = tr.recv.reserved()
	return reserved, waiting, tr.recv.held.Load()
}

// TestTCP_PartialFramesBounded is the probe of issue 12 ("8 peer
// connections holding 63 MB partial frames: 893 MB"): eight peers that
// announce 63 MiB frames and send 100 KiB of each make the node reserve
// only what its receive budget holds (two frames), allocate only twice
// what arrived, and serve again once they are gone.
func TestTCP_PartialFramesBounded(t *testing.T) {
	book := newTCPBook()
	cfg := tcpTestConfig(t)
	cfg.MaxFrame = 63 << 20
	cfg.ReceiveBuffer = 2 * cfg.MinReceiveBuffer()
	tb, _ := startTCP(t, book, "b", "", cfg, tcpEcho)
	ta := tcpClientOnly(t, book, "a", cfg)

	var conns []net.Conn
	for range 8 {
		nc, _ := tcpRawPeer(t, tb, cfg.Secret, true)
		tcpPartialFrame(t, nc, uint32(cfg.MaxFrame), 100<<10)
		conns = append(conns, nc)
	}
	// Two readers hold a reservation and a buffer that doubled once past
	// readStart (64 KiB full, 36 KiB more arrived); six wait, holding
	// nothing.
	want := func() bool {
		r, w, h := tcpReceiving(tb)
		return r == 2*cfg.MinReceiveBuffer() && w == 6 && h == 2*2*readStart
	}
	tcpWaitFor(t, 10*time.Second, "two frames reserved, six waiting", want)
	r, w, h := tcpReceiving(tb)
	t.Logf("reserved %d bytes, %d waiting, %d bytes held", r, w, h)

	for _, nc := range conns {
		require.NoError(t, nc.Close())
	}
	tcpWaitFor(t, 10*time.Second, "the budget returned", func() bool {
		r, w, h := tcpReceiving(tb)
		return r == 0 && w == 0 && h == 0
	})
	got, err := ta.Call(context.Background(), "b", []byte("still serving"))
	require.NoError(t, err)
	require.Equal(t, "still serving", string(got))
}

// TestTCP_StalledFrameTimesOut: a peer that stops in the middle of a frame
// is disconnected FrameTimeout after the header, and its share of the
// budget returns.
func TestTCP_StalledFrameTimesOut(t *testing.T) {
	book := newTCPBook()
	cfg := tcpTestConfig(t)
	cfg.MaxFrame = 1 << 20
	cfg.ReceiveBuffer = cfg.MinReceiveBuffer()
	cfg.FrameTimeout = 200 * time.Millisecond
	tb, _ := startTCP(t, book, "b", "", cfg, tcpEcho)
	ta := tcpClientOnly(t, book, "a", cfg)

	nc, _ := tcpRawPeer(t, tb, cfg.Secret, true)
	tcpPartialFrame(t, nc, 1<<20, 10)
	tcpRequireClosed(t, nc)
	tcpWaitFor(t, 10*time.Second, "the budget returned", func() bool {
		r, w, h := tcpReceiving(tb)
		return r == 0 && w == 0 && h == 0
	})
	got, err := ta.Call(context.Background(), "b", []byte("still serving"))
	require.NoError(t, err)
	require.Equal(t, "still serving", string(got))
}

// TestTCP_HandshakeLimit: strangers that open connections and say nothing
// take at most MaxHandshakes slots, a quarter of them from one address,
// each for at most DialTimeout; one more connection is closed before the
// node reads from it, and the slots free up as the strangers go.
func TestTCP_HandshakeLimit(t *testing.T) {
	book := newTCPBook()
	cfg := tcpTestConfig(t)
	cfg.MaxHandshakes = 4              // 1 per address
	cfg.DialTimeout = 10 * time.Second // the strangers hold their slots for the test
	tb, _ := startTCP(t, book, "b", "", cfg, tcpEcho)
	ta := tcpClientOnly(t, book, "a", cfg)
	addr, _ := tb.resolve("b")
	handshaking := func() int {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		return tb.mu.handshaking
	}
	dial := func(from string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		nc, err := d.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { _ = nc.Close() })
		require.NoError(t, nc.SetDeadline(time.Now().Add(10*time.Second)))
		return nc
	}
	hello := func(nc net.Conn) {
		var b [len(authMagic) + nonceLen]byte
		_, err := io.ReadFull(nc, b[:])
		require.NoError(t, err)
	}
	refused := func(nc net.Conn) {
		n, err := io.Copy(io.Discard, nc)
		require.NoError(t, err)
		require.Zero(t, n, "closed before the hello")
	}

	var strangers []net.Conn
	for _, from := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
		nc := dial(from)
		hello(nc)
		strangers = append(strangers, nc)
	}
	refused(dial("127.0.0.1")) // a second from one address
	nc := dial("127.0.0.4")
	hello(nc)
	strangers = append(strangers, nc)
	require.Equal(t, 4, handshaking())
	refused(dial("127.0.0.5")) // a fifth in all

	for _, nc := range strangers {
		require.NoError(t, nc.Close())
	}
	tcpWaitFor(t, 10*time.Second, "no handshake left", func() bool { return handshaking() == 0 })
	got, err := ta.Call(context.Background(), "b", []byte("served"))
	require.NoError(t, err)
	require.Equal(t, "served", string(got))
	tb.mu.Lock()
	require.Empty(t, tb.mu.handshakesFrom)
	tb.mu.Unlock()
}

// TestTCP_ConnectionLimit: past MaxConns authenticated connections, one
// more is closed once it passes the handshake.
func TestTCP_ConnectionLimit(t *testing.T) {
	book := newTCPBook()
	cfg := tcpTestConfig(t)
	cfg.MaxConns = 2
	tb, _ := startTCP(t, book, "b", "", cfg, tcpEcho)
	ta := tcpClientOnly(t, book, "a", cfg)
	inbound := func() int {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		return len(tb.mu.inbound)
	}

	first, _ := tcpRawPeer(t, tb, cfg.Secret, true)
	tcpRawPeer(t, tb, cfg.Secret, true)
	tcpWaitFor(t, 10*time.Second, "two connections served", func() bool { return inbound() == 2 })
	extra, _ := tcpRawPeer(t, tb, cfg.Secret, true)
	tcpRequireClosed(t, extra)
	require.Equal(t, 2, inbound())

	require.NoError(t, first.Close())
	tcpWaitFor(t, 10*time.Second, "one connection left", func() bool { return inbound() == 1 })
	got, err := ta.Call(context.Background(), "b", []byte("served"))
	require.NoError(t, err)
	require.Equal(t, "served", string(got))
}

// TestBudget: reservations are granted first come first served, a waiter
// that gives up takes nothing, and a release wakes the next.
func TestBudget(t *testing.T) {
	b := newBudget(10)
	require.True(t, b.reserve(nil, 6))
	granted := make(chan int64, 2)
	go func() { // awaited through granted
		if b.reserve(nil, 5) {
			granted <- 5
		}
	}()
	tcpWaitFor(t, 10*time.Second, "the first waiter queued", func() bool { _, w := b.reserved(); return w == 1 })
	go func() { // awaited through granted
		if b.reserve(nil, 1) {
			granted <- 1
		}
	}()
	// 1 byte is free for the second, but it queues behind the first.
	tcpWaitFor(t, 10*time.Second, "the second waiter queued", func() bool { _, w := b.reserved(); return w == 2 })
	done := make(chan struct{})
	close(done)
	require.False(t, b.reserve(done, 4), "gives up behind the queue")
	r, w := b.reserved()
	require.Equal(t, int64(6), r, "the waiters and the one that gave up hold nothing")
	require.Equal(t, 2, w)
	b.release(6)
	require.Equal(t, int64(6), <-granted+<-granted, "both granted")
	r, w = b.reserved()
	require.Equal(t, int64(6), r)
	require.Zero(t, w)
	b.release(5)
	b.release(1)
	r, _ = b.reserved()
	require.Zero(t, r)
}

// nopDeadline is a connection whose deadlines never pass.
type nopDeadline struct{}

func (nopDeadline) SetReadDeadline(time.Time) error { return nil }

// FuzzTCPFrameLimited reads frames from arbitrary bytes under a receive
// budget: whatever the bytes, a frame that opens is the same as without a
// budget, and every byte reserved and held is returned after each frame.
func FuzzTCPFrameLimited(f *testing.F) {
	c, _ := fuzzSession()
	f.Add(appendFrame(nil, frame{id: 1, payload: bytes.Repeat([]byte("x"), 3*readStart)}, c.send), uint32(4*readStart))
	f.Add([]byte{0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1, 0, 'a'}, uint32(10))
	f.Add([]byte{0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 'a'}, uint32(1<<20))
	f.Fuzz(func(t *testing.T, in []byte, maxLen uint32) {
		maxLen %= 1 << 22
		var hdr [frameHeader]byte
		_, s1 := fuzzSession()
		_, s2 := fuzzSession()
		b := newBudget(int64(maxLen) + sealOverhead)
		lim := &recvLimit{budget: b, nc: nopDeadline{}, timeout: time.Second}
		r1, r2 := bytes.NewReader(in), bytes.NewReader(in)
		for {
			want, werr := readFrame(r1, &hdr, int(maxLen), s1.recv, false, nil)
			got, gerr := readFrame(r2, &hdr, int(maxLen), s2.recv, false, lim)
			if (werr == nil) != (gerr == nil) || want.id != got.id || want.status != got.status || !bytes.Equal(want.payload, got.payload) {
				t.Fatalf("with a budget: %+v, %v; without: %+v, %v", got, gerr, want, werr)
			}
			if r, w := b.reserved(); r != 0 || w != 0 || b.held.Load() != 0 {
				t.Fatalf("after a frame: %d reserved, %d waiting, %d held", r, w, b.held.Load())
			}
			if werr != nil {
				break
			}
		}
	})
}

// TestLogLimit: one line per interval passes, and the next that passes
// tells how many were held back.
func TestLogLimit(t *testing.T) {
	at := time.Unix(1_700_000_000, 0)
	l := logLimit{interval: time.Second, now: func() time.Time { return at }}
	ok, n := l.allow()
	require.True(t, ok)
	require.Zero(t, n)
	for range 5 {
		ok, _ = l.allow()
		require.False(t, ok)
	}
	at = at.Add(999 * time.Millisecond)
	ok, _ = l.allow()
	require.False(t, ok)
	at = at.Add(time.Millisecond)
	ok, n = l.allow()
	require.True(t, ok)
	require.Equal(t, 6, n)
}

// syncBuffer is a bytes.Buffer safe for the transport's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestTCP_HandshakeFailuresLogAtBoundedRate: a stranger failing the
// handshake 20 times gets one line logged per second, not 20.
func TestTCP_HandshakeFailuresLogAtBoundedRate(t *testing.T) {
	book := newTCPBook()
	cfg := tcpTestConfig(t)
	var logs syncBuffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	tb, _ := startTCP(t, book, "b", "", cfg, tcpEcho)
	addr, _ := tb.resolve("b")
	start := time.Now()
	for range 20 {
		nc, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		_, err = clientHandshake(nc, "a-guess", "stranger", "b")
		require.ErrorIs(t, err, ErrPeerAuth)
		tcpRequireClosed(t, nc)
		_ = nc.Close()
	}
	tcpWaitFor(t, 10*time.Second, "the first failure logged", func() bool {
		return strings.Contains(logs.String(), "peer handshake failed")
	})
	lines := strings.Count(logs.String(), "peer handshake failed")
	elapsed := time.Since(start)
	require.LessOrEqual(t, lines, 1+int(elapsed/time.Second), "one line a second over %s", elapsed)
}
