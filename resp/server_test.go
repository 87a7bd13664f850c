package resp_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/resp"
	"github.com/dynkv/dynkv/resp/resptest"
	"github.com/dynkv/dynkv/version"
)

func newClient(t *testing.T, opt *redis.Options) *redis.Client {
	t.Helper()
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = resptest.Timeout, resptest.Timeout, resptest.Timeout
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestGoRedis runs go-redis v9 against the server. Its handshake sends
// HELLO 3 (refused with NOPROTO, on which it falls back to RESP2) and CLIENT
// SETINFO.
func TestGoRedis(t *testing.T) {
	srv := resptest.Start(t, resp.DefaultConfig())
	ctx := t.Context()
	for _, proto := range []int{3, 2} {
		t.Run("protocol "+strconv.Itoa(proto), func(t *testing.T) {
			c := newClient(t, &redis.Options{Addr: srv.Addr, Protocol: proto, ClientName: "tester"})
			p := fmt.Sprintf("p%d:", proto)
			require.Equal(t, "PONG", c.Ping(ctx).Val())
			require.NoError(t, c.Set(ctx, p+"k", "v", 0).Err())
			require.Equal(t, "v", c.Get(ctx, p+"k").Val())
			require.ErrorIs(t, c.Get(ctx, p+"nope").Err(), redis.Nil)
			require.NoError(t, c.MSet(ctx, p+"a", "1", p+"b", "2").Err())
			require.Equal(t, []any{"1", nil, "2"}, c.MGet(ctx, p+"a", p+"nope", p+"b").Val())
			require.Equal(t, int64(3), c.Exists(ctx, p+"a", p+"a", p+"b", p+"nope").Val())
			require.Equal(t, int64(4), c.Append(ctx, p+"a", "234").Val())
			require.Equal(t, int64(4), c.StrLen(ctx, p+"a").Val())
			require.Equal(t, "1234", c.GetSet(ctx, p+"a", "x").Val())
			require.True(t, c.SetNX(ctx, p+"n", "1", 0).Val())
			require.False(t, c.SetNX(ctx, p+"n", "2", 0).Val())
			require.Equal(t, "v", c.SetArgs(ctx, p+"k", "w", redis.SetArgs{Get: true}).Val())
			require.Equal(t, int64(2), c.Del(ctx, p+"a", p+"b", p+"nope").Val())
			require.Equal(t, int64(1), c.Unlink(ctx, p+"n").Val())
			require.NoError(t, c.Set(ctx, p+"t", "v", time.Minute).Err())
			require.InDelta(t, time.Minute, c.TTL(ctx, p+"t").Val(), float64(2*time.Second))
			require.True(t, c.Persist(ctx, p+"t").Val())
			require.Equal(t, time.Duration(-1), c.TTL(ctx, p+"t").Val())
			require.True(t, c.PExpire(ctx, p+"t", 90*time.Second).Val())
			require.InDelta(t, 90*time.Second, c.PTTL(ctx, p+"t").Val(), float64(2*time.Second))
			require.Equal(t, "v", c.GetEx(ctx, p+"t", 0).Val())
			require.True(t, c.ExpireAt(ctx, p+"t", time.Now().Add(-time.Second)).Val(), "a time in the past deletes")
			require.ErrorIs(t, c.Get(ctx, p+"t").Err(), redis.Nil)
			require.Equal(t, "tester", c.ClientGetName(ctx).Val())
			require.Contains(t, c.ClientList(ctx).Val(), "lib-name=go-redis")
			require.Contains(t, c.Info(ctx, "server").Val(), "redis_version:7.0.15")
			require.Equal(t, "OK", c.Do(ctx, "DPUT", p+"cart", "", "apple").Val())
			v, err := c.Do(ctx, "DGET", p+"cart").Slice()
			require.NoError(t, err)
			require.Equal(t, []any{"apple"}, v[1])
			require.EqualError(t, c.Do(ctx, "DPUT", p+"cart", "garbage", "x").Err(), "ERR invalid context")
		})
	}
}

func TestGoRedis_Password(t *testing.T) {
	cfg := resp.DefaultConfig()
	cfg.RequirePass = "sekret"
	srv := resptest.Start(t, cfg)
	ctx := t.Context()
	for _, opt := range []*redis.Options{
		{Addr: srv.Addr, Password: "sekret"},
		{Addr: srv.Addr, Password: "sekret", Username: "default"},
		{Addr: srv.Addr, Password: "sekret", Protocol: 2},
	} {
		c := newClient(t, opt)
		require.NoError(t, c.Set(ctx, "k", "v", 0).Err())
		require.Equal(t, "v", c.Get(ctx, "k").Val())
	}
	c := newClient(t, &redis.Options{Addr: srv.Addr, Password: "wrong", MaxRetries: -1})
	require.ErrorContains(t, c.Ping(ctx).Err(), "WRONGPASS")
	c = newClient(t, &redis.Options{Addr: srv.Addr, MaxRetries: -1})
	require.ErrorContains(t, c.Ping(ctx).Err(), "NOAUTH")
}

func TestGoRedis_Pipeline(t *testing.T) {
	srv := resptest.Start(t, resp.DefaultConfig())
	ctx := t.Context()
	c := newClient(t, &redis.Options{Addr: srv.Addr})
	const n = 500
	cmds, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range n {
			p.Set(ctx, "k"+strconv.Itoa(i), i, 0)
			p.Get(ctx, "k"+strconv.Itoa(i))
		}
		p.Get(ctx, "missing")
		return nil
	})
	require.ErrorIs(t, err, redis.Nil, "the last GET misses")
	require.Len(t, cmds, 2*n+1)
	for i := range n {
		require.Equal(t, "OK", cmds[2*i].(*redis.StatusCmd).Val())
		require.Equal(t, strconv.Itoa(i), cmds[2*i+1].(*redis.StringCmd).Val())
	}
	require.Equal(t, int64(n), c.DBSize(ctx).Val())
}

// TestServer_Pipelining sends many commands in one write and expects every
// reply, in order.
func TestServer_Pipelining(t *testing.T) {
	srv := resptest.Start(t, resp.DefaultConfig())
	c := resptest.Dial(t, srv.Addr)
	var b strings.Builder
	const n = 2000
	for i := range n {
		b.WriteString(resptest.Command("SET", "k", strconv.Itoa(i)))
		b.WriteString("GET k\r\n")
	}
	c.Send(b.String())
	for i := range n {
		require.Equal(t, "+OK\r\n", c.Reply())
		v := strconv.Itoa(i)
		require.Equal(t, "$"+strconv.Itoa(len(v))+"\r\n"+v+"\r\n", c.Reply())
	}
}

func TestServer_Quit(t *testing.T) {
	srv := resptest.Start(t, resp.DefaultConfig())
	c := resptest.Dial(t, srv.Addr)
	c.Send("PING\r\nQUIT\r\nPING\r\n")
	require.Equal(t, "+PONG\r\n", c.Reply())
	require.Equal(t, "+OK\r\n", c.Reply())
	c.WaitClosed()
}

func TestServer_ProtocolErrors(t *testing.T) {
	cfg := resp.DefaultConfig()
	cfg.MaxValueSize = 1 << 20
	cfg.MaxRequestSize = 3 << 19 // 1.5 MiB
	srv := resptest.Start(t, cfg)
	big := strings.Repeat("v", 1<<20)
	for _, tt := range []struct {
		name  string
		send  string
		reply string // after "+PONG\r\n" for the PING sent first
	}{
		{"bad count", "*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"bad bulk length", "*1\r\n$x\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"not a bulk", "*1\r\n:1\r\n", "-ERR Protocol error: expected '$', got ':'\r\n"},
		{"unbalanced quotes", "SET k \"v\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
		{"inline too long", strings.Repeat("x", 64<<10+1), "-ERR Protocol error: too big inline request\r\n"},
		// The body of the oversized bulk is never sent: the server refuses
		// it from the header alone, before reading (or allocating) it.
		{"oversized bulk", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n",
			"-ERR Protocol error: invalid bulk length 1048577: exceeds max-value-size of 1048576 bytes\r\n"},
		{"oversized request", "*5\r\n$4\r\nMSET\r\n$1\r\na\r\n$1048576\r\n" + big + "\r\n$1\r\nb\r\n$1048576\r\n",
			"-ERR Protocol error: request exceeds max-request-size of 1572864 bytes\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := resptest.Dial(t, srv.Addr)
			c.Send("PING\r\n" + tt.send)
			require.Equal(t, "+PONG\r\n", c.Reply(), "commands before the error are answered")
			require.Equal(t, tt.reply, c.Reply())
			c.WaitClosed()
			require.Equal(t, "+PONG\r\n", resptest.Dial(t, srv.Addr).Do("PING"), "the server still serves")
		})
	}
	c := resptest.Dial(t, srv.Addr)
	require.Equal(t, "+OK\r\n", c.Do("SET", "k", big), "a value of exactly max-value-size is fine")
	require.Equal(t, ":1048576\r\n", c.Do("STRLEN", "k"))
}

func TestServer_PreAuthLimits(t *testing.T) {
	cfg := resp.DefaultConfig()
	cfg.RequirePass = "pw"
	srv := resptest.Start(t, cfg)
	for _, tt := range []struct {
		name  string
		send  string
		reply string
	}{
		{"multibulk", "*11\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n"},
		{"bulk", "*2\r\n$3\r\nGET\r\n$16385\r\n", "-ERR Protocol error: unauthenticated bulk length\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := resptest.Dial(t, srv.Addr)
			c.Send(tt.send)
			require.Equal(t, tt.reply, c.Reply())
			c.WaitClosed()
		})
	}
	t.Run("within limits", func(t *testing.T) {
		c := resptest.Dial(t, srv.Addr)
		args := []string{"MGET"}
		for range 9 {
			args = append(args, strings.Repeat("k", 16384))
		}
		require.Equal(t, "-NOAUTH Authentication required.\r\n", c.Do(args...))
	})
	t.Run("lifted by AUTH in the same pipeline", func(t *testing.T) {
		c := resptest.Dial(t, srv.Addr)
		big := strings.Repeat("v", 20000)
		c.Send(resptest.Command("AUTH", "pw") + resptest.Command("SET", "k", big) + resptest.Command("STRLEN", "k"))
		require.Equal(t, "+OK\r\n", c.Reply())
		require.Equal(t, "+OK\r\n", c.Reply())
		require.Equal(t, ":20000\r\n", c.Reply())
	})
}

func TestServer_MaxClients(t *testing.T) {
	cfg := resp.DefaultConfig()
	cfg.MaxClients = 2
	srv := resptest.Start(t, cfg)
	a, b := resptest.Dial(t, srv.Addr), resptest.Dial(t, srv.Addr)
	require.Equal(t, "+PONG\r\n", a.Do("PING"))
	require.Equal(t, "+PONG\r\n", b.Do("PING"))

	c := resptest.Dial(t, srv.Addr)
	require.Equal(t, "-ERR max number of clients reached\r\n", c.Reply())
	c.WaitClosed()
	require.Contains(t, a.Do("INFO", "stats"), "rejected_connections:1\r\n")

	require.Equal(t, "+OK\r\n", b.Do("QUIT"))
	b.WaitClosed()
	require.Eventually(t, func() bool { return ping(srv.Addr) }, resptest.Timeout, 5*time.Millisecond,
		"the server frees b's slot once it sees b close")
}

// blockingBackend blocks Put until release is closed (or the write's
// context ends), reporting each Put that starts on entered.
type blockingBackend struct {
	resp.Backend
	entered chan struct{}
	release chan struct{}
	ctxErrs atomic.Int64
}

func (b *blockingBackend) Put(ctx context.Context, key []byte, w coordinator.Write) (version.Siblings, error) {
	b.entered <- struct{}{}
	select {
	case <-b.release:
		return b.Backend.Put(ctx, key, w)
	case <-ctx.Done():
		b.ctxErrs.Add(1)
		return nil, ctx.Err()
	}
}

func startBlocking(t *testing.T) (*resp.Server, string, *blockingBackend) {
	t.Helper()
	co, st := resptest.Backend(t)
	bb := &blockingBackend{Backend: co, entered: make(chan struct{}, 1), release: make(chan struct{})}
	srv, addr := resptest.Serve(t, resp.DefaultConfig(), bb, st)
	return srv, addr, bb
}

func TestServer_CloseLetsCommandsInFlightFinish(t *testing.T) {
	srv, addr, bb := startBlocking(t)
	busy, idle := resptest.Dial(t, addr), resptest.Dial(t, addr)
	require.Equal(t, "+PONG\r\n", idle.Do("PING"))
	busy.Send(resptest.Command("SET", "k", "v"))
	<-bb.entered

	closed := make(chan error, 1)
	go func() { closed <- srv.Close(context.Background()) }()
	idle.WaitClosed() // an idle client is closed at once
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v while a command was in flight", err)
	default:
	}
	close(bb.release)
	require.Equal(t, "+OK\r\n", busy.Reply(), "the command in flight finishes and its reply is sent")
	busy.WaitClosed()
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(resptest.Timeout):
		t.Fatal("Close did not return")
	}
	require.ErrorIs(t, srv.Close(context.Background()), resp.ErrClosed, "Close is idempotent")
	_, err := net.DialTimeout("tcp", addr, resptest.Timeout)
	require.Error(t, err, "the listener is closed")
	require.ErrorIs(t, srv.Serve(mustListen(t)), resp.ErrClosed)
}

func TestServer_CloseCancelsWhenItsContextEnds(t *testing.T) {
	srv, addr, bb := startBlocking(t)
	busy := resptest.Dial(t, addr)
	busy.Send(resptest.Command("SET", "k", "v"))
	<-bb.entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, srv.Close(ctx), context.DeadlineExceeded)
	require.Equal(t, int64(1), bb.ctxErrs.Load(), "the command's context was cancelled")
	// The cancelled command may still get its reply out before the socket
	// closes.
	if r, err := busy.TryReply(); err == nil {
		require.Equal(t, "-ERR server is shutting down\r\n", r)
		busy.WaitClosed()
	}
}

// TestServer_SurvivesGarbage sends seeded random bytes (and some crafted
// ones) on many connections while a well-behaved client keeps working.
func TestServer_SurvivesGarbage(t *testing.T) {
	cfg := resp.DefaultConfig()
	cfg.MaxValueSize = 1 << 16
	cfg.MaxRequestSize = 1 << 17
	srv := resptest.Start(t, cfg)
	good := resptest.Dial(t, srv.Addr)
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := newRand(seed)
	crafted := []string{
		"*999999999999\r\n", "*1\r\n$999999999\r\n", "*2\r\n*2\r\n", "$5\r\nhello\r\n", "\x00\x00\x00\r\n",
		"*1\r\n$-5\r\n", "\"\\x", strings.Repeat("*", 100000), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nab", "-ERR x\r\n",
		"*1\r\n$4\r\nINFO\r\n*1\r\n$4\r\nQUIT", "DGET k R 999999999999999999999\r\n", "DPUT k \x00\xff v\r\n",
	}
	for i := range 200 {
		var garbage []byte
		if i < len(crafted) {
			garbage = []byte(crafted[i])
		} else {
			garbage = make([]byte, rng.Intn(4096))
			rng.Read(garbage)
			if i%2 == 0 { // make it look like RESP more often
				garbage = append([]byte("*3\r\n$3\r\nSET\r\n"), garbage...)
			}
		}
		c := resptest.Dial(t, srv.Addr)
		c.Send(string(garbage))
		_ = c.NetConn().(*net.TCPConn).CloseWrite()
		for { // drain until the server closes the connection
			if _, err := c.TryReply(); err != nil {
				var ne net.Error
				require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server did not close a garbage connection")
				break
			}
		}
		if i%20 == 0 {
			v := strconv.Itoa(i)
			require.Equal(t, "+OK\r\n", good.Do("SET", "good", v))
			require.Equal(t, "$"+strconv.Itoa(len(v))+"\r\n"+v+"\r\n", good.Do("GET", "good"))
		}
	}
	require.Equal(t, "+PONG\r\n", resptest.Dial(t, srv.Addr).Do("PING"))
}

func TestServer_ListenAndServe(t *testing.T) {
	cfg := resp.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	co, st := resptest.Backend(t)
	srv, err := resp.New(cfg, co, st, resptest.Logger(t))
	require.NoError(t, err)
	require.Nil(t, srv.Addr(), "no address before listening")
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	require.Eventually(t, func() bool { return srv.Addr() != nil }, resptest.Timeout, time.Millisecond)
	require.Equal(t, "+PONG\r\n", resptest.Dial(t, srv.Addr().String()).Do("PING"))
	require.NoError(t, srv.Close(t.Context()))
	require.ErrorIs(t, <-served, resp.ErrClosed)
}

// TestServer_WarnsWhenExposed checks the warning for a non-loopback address
// without a password, with a listener that only claims such an address.
func TestServer_WarnsWhenExposed(t *testing.T) {
	for _, tt := range []struct {
		name        string
		ip          string
		pass        string
		unprotected bool
		warn        string // what the warning says; empty: none
	}{
		{"loopback", "127.0.0.1", "", false, ""},
		{"any address", "0.0.0.0", "", false, "protected mode refuses every client not on loopback"},
		{"private address", "10.1.2.3", "", false, "protected mode refuses every client not on loopback"},
		{"protected mode off", "0.0.0.0", "", true, "anyone who can reach it can read and write every key"},
		{"with a password", "0.0.0.0", "pw", true, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logRecorder{}
			cfg := resp.DefaultConfig()
			cfg.RequirePass, cfg.NoProtectedMode = tt.pass, tt.unprotected
			co, st := resptest.Backend(t)
			srv, err := resp.New(cfg, co, st, logs.logger())
			require.NoError(t, err)
			ln := &claimedListener{Listener: mustListen(t), addr: &net.TCPAddr{IP: net.ParseIP(tt.ip), Port: 6379}}
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ln) }()
			require.Eventually(t, func() bool { return srv.Addr() != nil }, resptest.Timeout, time.Millisecond)
			require.NoError(t, srv.Close(t.Context()))
			require.ErrorIs(t, <-served, resp.ErrClosed)
			require.Equal(t, tt.warn != "", logs.has("WARN", "non-loopback address without requirepass"))
			if tt.warn != "" {
				require.True(t, logs.has("WARN", tt.warn))
			}
		})
	}
}

// TestServer_RetriesFailedAccepts checks that an accept error that is not
// the listener closing (out of file descriptors, say) is logged and retried.
func TestServer_RetriesFailedAccepts(t *testing.T) {
	logs := &logRecorder{}
	co, st := resptest.Backend(t)
	srv, err := resp.New(resp.DefaultConfig(), co, st, logs.logger())
	require.NoError(t, err)
	ln := &flakyListener{Listener: mustListen(t)}
	ln.failures.Store(3)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	require.Equal(t, "+PONG\r\n", resptest.Dial(t, ln.Addr().String()).Do("PING"))
	require.True(t, logs.has("WARN", "accept failed"))
	require.NoError(t, srv.Close(t.Context()))
	require.ErrorIs(t, <-served, resp.ErrClosed)
}

// flakyListener fails its first Accepts.
type flakyListener struct {
	net.Listener
	failures atomic.Int64
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.failures.Add(-1) >= 0 {
		return nil, errors.New("accept: too many open files")
	}
	return l.Listener.Accept()
}

func mustListen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

type claimedListener struct {
	net.Listener
	addr net.Addr
}

func (l *claimedListener) Addr() net.Addr { return l.addr }

// ping reports whether a new connection to addr answers PING. It does not
// fail the test: callers retry.
func ping(addr string) bool {
	nc, err := net.DialTimeout("tcp", addr, resptest.Timeout)
	if err != nil {
		return false
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(resptest.Timeout))
	if _, err := nc.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	r, err := resptest.ReadReply(bufio.NewReader(nc))
	return err == nil && string(r) == "+PONG\r\n"
}

func newRand(seed int64) *rand.Rand { return rand.New(rand.NewSource(seed)) }

// logRecorder keeps the text of every log record.
type logRecorder struct {
	mu   sync.Mutex
	recs []string
}

func (l *logRecorder) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

func (l *logRecorder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, string(p))
	return len(p), nil
}

func (l *logRecorder) has(level, msg string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.recs {
		if strings.Contains(r, "level="+level) && strings.Contains(r, msg) {
			return true
		}
	}
	return false
}
