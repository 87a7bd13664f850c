package resp

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/version"
)

func TestIdleTimeout_ClosesIdleClients(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IdleTimeout = 10 * time.Second
	e := newConnEnv(t, cfg, nil, nil)
	a, b := e.dial(), e.dial()
	// Each reply is followed by settled: the server notes the time after
	// sending it, and the clock must not move before.
	require.Equal(t, "+PONG\r\n", a.do("PING"))
	require.Equal(t, "+PONG\r\n", b.do("PING"))
	e.settled(a)
	e.settled(b)

	e.clock.Advance(5 * time.Second)
	require.Equal(t, "+PONG\r\n", b.do("PING"))
	e.settled(b)
	e.clock.Advance(5 * time.Second)
	e.s.sweep()
	require.Equal(t, "+PONG\r\n", a.do("PING"), "idle for exactly the timeout is not past it")
	e.settled(a)

	e.clock.Advance(10*time.Second + time.Millisecond)
	require.Equal(t, "+PONG\r\n", b.do("PING"))
	e.settled(b)
	e.s.sweep()
	require.Empty(t, a.waitClosed(), "closed without a reply, as Redis")
	require.Equal(t, "+PONG\r\n", b.do("PING"), "an active client stays")
	waitUntil(t, "the idle client is gone", func() bool { return len(e.s.clientsSnapshot()) == 1 })
}

func TestIdleTimeout_ZeroIsNever(t *testing.T) {
	e := newConnEnv(t, DefaultConfig(), nil, nil)
	a := e.dial()
	require.Equal(t, "+PONG\r\n", a.do("PING"))
	e.settled(a)
	e.clock.Advance(1000 * time.Hour)
	e.s.sweep()
	require.Equal(t, "+PONG\r\n", a.do("PING"))

	// CONFIG SET timeout turns it on.
	require.Equal(t, "+OK\r\n", a.do("CONFIG SET timeout 60"))
	e.settled(a)
	e.clock.Advance(time.Minute + time.Second)
	e.s.sweep()
	require.Empty(t, a.waitClosed())
}

// TestIdleTimeout_SlowRequestIsNotIdle: bytes that arrive count as
// activity before a command is complete.
func TestIdleTimeout_SlowRequestIsNotIdle(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IdleTimeout = 10 * time.Second
	e := newConnEnv(t, cfg, nil, nil)
	a := e.dial()
	sess := e.session(a)
	e.clock.Advance(8 * time.Second)
	a.send("*1\r\n$4\r\nPI")
	at := e.clock.Now().UnixNano()
	waitUntil(t, "the server read the first bytes", func() bool { return sess.lastActive.Load() == at })
	e.clock.Advance(8 * time.Second)
	e.s.sweep()
	a.send("NG\r\n")
	require.Equal(t, "+PONG\r\n", a.line())
}

// blockingBackend's Get blocks until release is closed.
type blockingBackend struct {
	Backend
	entered chan struct{}
	release chan struct{}
}

func (b *blockingBackend) Get(ctx context.Context, key []byte, opt coordinator.ReadOptions) (version.Siblings, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.Backend.Get(ctx, key, opt)
}

// TestIdleTimeout_RunningCommandIsNotIdle: a client waiting for its
// command is not idle, as a blocked client in Redis.
func TestIdleTimeout_RunningCommandIsNotIdle(t *testing.T) {
	inner := newDefaultEnv(t)
	bb := &blockingBackend{Backend: inner.co, entered: make(chan struct{}, 1), release: make(chan struct{})}
	cfg := DefaultConfig()
	cfg.IdleTimeout = 10 * time.Second
	e := newConnEnv(t, cfg, bb, nil)
	a := e.dial()
	a.send("GET k\r\n")
	<-bb.entered
	e.clock.Advance(time.Hour)
	e.s.sweep()
	close(bb.release)
	require.Equal(t, "$-1\r\n", a.line())
	e.s.sweep()
	require.Equal(t, "+PONG\r\n", a.do("PING"), "the reply is activity")
}

func TestAuthGrace(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RequirePass = "pw"
	cfg.AuthGrace = 10 * time.Second
	e := newConnEnv(t, cfg, nil, nil)
	silent, wrong, authed := e.dial(), e.dial(), e.dial()
	require.Equal(t, "+OK\r\n", authed.do("AUTH pw"))
	require.Equal(t, "-WRONGPASS invalid username-password pair or user is disabled.\r\n", wrong.do("AUTH nope"))
	require.Equal(t, "-NOAUTH Authentication required.\r\n", silent.do("PING"))
	e.session(silent)

	e.clock.Advance(10*time.Second - time.Millisecond)
	e.s.sweep()
	require.Equal(t, "-NOAUTH Authentication required.\r\n", silent.do("PING"), "within the grace")

	e.clock.Advance(time.Millisecond)
	e.s.sweep()
	require.Empty(t, silent.waitClosed())
	require.Empty(t, wrong.waitClosed(), "a failed AUTH does not count")
	require.Equal(t, "+PONG\r\n", authed.do("PING"))
	require.Equal(t, 2, e.logs.Count("closing client that did not authenticate"))

	t.Run("not without a password", func(t *testing.T) {
		e := newConnEnv(t, DefaultConfig(), nil, nil)
		a := e.dial()
		e.session(a)
		e.clock.Advance(time.Hour)
		e.s.sweep()
		require.Equal(t, "+PONG\r\n", a.do("PING"))
	})
	t.Run("ends an AUTH waiting on the throttle", func(t *testing.T) {
		waiting := make(chan struct{}, 1)
		e := newConnEnvWith(t, cfg, nil, (*Server).Serve, func(s *Server) {
			s.sleep = func(ctx context.Context, _ time.Duration) error {
				waiting <- struct{}{}
				<-ctx.Done()
				return ctx.Err()
			}
		})
		a := e.dial()
		sess := e.session(a)
		require.Equal(t, "-WRONGPASS invalid username-password pair or user is disabled.\r\n", a.do("AUTH nope"))
		a.send("AUTH pw\r\n")
		<-waiting
		require.True(t, sess.busy.Load())
		e.clock.Advance(10 * time.Second)
		e.s.sweep()
		a.waitClosed()
	})
}

func TestSweepInterval(t *testing.T) {
	cfg := DefaultConfig()
	e := newTestEnv(t, cfg)
	require.Equal(t, time.Second, e.s.sweepInterval(), "no limit in force")
	e.s.idle.Store(int64(2 * time.Second))
	require.Equal(t, 500*time.Millisecond, e.s.sweepInterval())
	e.s.idle.Store(int64(time.Millisecond))
	require.Equal(t, minSweepInterval, e.s.sweepInterval())

	cfg.RequirePass, cfg.AuthGrace = "pw", 200*time.Millisecond
	require.Equal(t, 50*time.Millisecond, newTestEnv(t, cfg).s.sweepInterval())
}

// TestAuthGrace_SlowlorisAgainstMaxclients is issue 12's probe: clients
// that connect and never authenticate fill maxclients and lock real
// clients out, until the auth grace frees their slots.
func TestAuthGrace_SlowlorisAgainstMaxclients(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RequirePass, cfg.MaxClients = "pw", 2
	e := newConnEnv(t, cfg, nil, nil)
	for range 2 {
		c := e.dial()
		c.send("*3\r\n$3\r\nSET\r\n") // half a command, never finished
		e.session(c)
	}
	require.Equal(t, "-ERR max number of clients reached\r\n", e.dial().waitClosed())
	e.clock.Advance(cfg.AuthGrace)
	e.s.sweep()
	waitUntil(t, "the silent clients are gone", func() bool { return len(e.s.clientsSnapshot()) == 0 })
	c := e.dial()
	require.Equal(t, "+OK\r\n", c.do("AUTH pw"))
	require.Equal(t, "+PONG\r\n", c.do("PING"))
}

// TestAuthGrace_ClientThatDoesNotRead: an unauthenticated client that
// sends commands and never reads the replies is closed too, though its
// connection is blocked sending them.
func TestAuthGrace_ClientThatDoesNotRead(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RequirePass = "pw"
	// Small socket buffers fill with few replies.
	e := newConnEnv(t, cfg, nil, func(ln net.Listener) net.Listener { return smallBuffers{ln} })
	c := e.dial()
	require.NoError(t, c.nc.(*net.TCPConn).SetReadBuffer(4<<10))
	sess := e.session(c)
	ping := []byte("PING\r\n")
	flood := make([]byte, 0, 64<<10)
	for len(flood)+len(ping) <= cap(flood) {
		flood = append(flood, ping...)
	}
	// Send until the server is stuck sending replies: it is busy and its
	// count of bytes sent stays put for 300ms while we keep sending.
	lastOut, since := int64(-1), time.Now()
	waitUntil(t, "the server blocks sending replies", func() bool {
		c.writeBlocks(flood)
		out := e.s.stats.netOut.Load()
		if !sess.busy.Load() || out != lastOut {
			lastOut, since = out, time.Now()
			return false
		}
		return time.Since(since) > 300*time.Millisecond
	})
	require.Len(t, e.s.clientsSnapshot(), 1, "the client is still served")
	e.clock.Advance(cfg.AuthGrace)
	e.s.sweep()
	waitUntil(t, "the client is gone", func() bool { return len(e.s.clientsSnapshot()) == 0 })
}

// smallBuffers gives the connections it accepts 4 KiB socket buffers.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4 << 10)
		_ = tc.SetReadBuffer(4 << 10)
	}
	return nc, err
}
