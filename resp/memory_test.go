package resp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/version"
)

// memEnv is a testEnv served over loopback with small socket buffers, so
// that a client that does not read soon blocks the server's sends. Tests
// read the server's accounting of each client's buffers.
type memEnv struct {
	*testEnv
	addr string
}

func newMemEnv(t *testing.T, cfg Config) *memEnv {
	t.Helper()
	e := newTestEnv(t, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- e.s.Serve(smallSendBuffers{ln}) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.s.Close(ctx)
		require.ErrorIs(t, <-served, ErrClosed)
	})
	return &memEnv{testEnv: e, addr: ln.Addr().String()}
}

// smallSendBuffers makes the server's socket buffers small.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(8 << 10)
	}
	return nc, err
}

// slowClient is a client whose socket buffer is small and that reads only
// when told to.
type slowClient struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
	id int64
}

func (e *memEnv) dialSlow(t *testing.T) *slowClient {
	t.Helper()
	// The receive buffer is set before connecting: shrinking it on an open
	// connection makes the kernel drop data and stall retransmitting.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		cerr := rc.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 8<<10) })
		return errors.Join(cerr, err)
	}}
	nc, err := d.Dial("tcp", e.addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = nc.Close() })
	c := &slowClient{t: t, nc: nc, r: bufio.NewReader(nc)}
	c.send("CLIENT", "ID")
	line, err := c.r.ReadString('\n')
	require.NoError(t, err)
	c.id, err = strconv.ParseInt(strings.TrimSpace(line[1:]), 10, 64)
	require.NoError(t, err)
	return c
}

func (c *slowClient) send(args ...string) {
	c.t.Helper()
	var b strings.Builder
	b.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b.WriteString(bulk(a))
	}
	_, err := io.WriteString(c.nc, b.String())
	require.NoError(c.t, err)
}

// session returns the server's session of client id, nil once it has ended.
func (e *memEnv) session(id int64) *session {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	for c := range e.s.mu.clients {
		if c.id == id {
			return c
		}
	}
	return nil
}

// waitFor polls cond until it holds, failing the test after 10 seconds.
func waitFor(t *testing.T, cond func() bool, msg string, args ...any) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, time.Millisecond, append([]any{msg}, args...)...)
}

// waitSending waits until client id's server is blocked sending n bytes.
func (e *memEnv) waitSending(t *testing.T, id int64, n int64) *session {
	t.Helper()
	var c *session
	waitFor(t, func() bool { c = e.session(id); return c != nil && c.mem.sending.Load() == n },
		"client %d never blocked sending %d bytes", id, n)
	return c
}

func (e *memEnv) waitClosed(t *testing.T, id int64) {
	t.Helper()
	waitFor(t, func() bool { return e.session(id) == nil }, "client %d was not closed", id)
}

// TestMGet_StreamsTheReply is the probe of issue 12: MGET of one big value
// named 400 times made the node hold the whole reply (400 values). Now
// the client's output never holds more than one value.
func TestMGet_StreamsTheReply(t *testing.T) {
	const size = 1 << 20
	e := newMemEnv(t, DefaultConfig())
	require.Equal(t, okReply, e.client().do("SET", "big", strings.Repeat("v", size)))
	c := e.dialSlow(t)
	args := []string{"MGET"}
	for range 400 {
		args = append(args, "big")
	}
	c.send(args...)

	s := e.waitSending(t, c.id, size)
	require.Equal(t, int64(size), s.mem.peakOut.Load(), "a blocked client holds one value")
	require.LessOrEqual(t, e.s.mem.total.Load(), int64(size)+int64(flushThreshold), "and the server accounts no more")

	head := "$" + strconv.Itoa(size) + "\r\n"
	want := int64(len("*400\r\n") + 400*(len(head)+size+2))
	line, err := c.r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "*400\r\n", line)
	for i := range 400 {
		line, err := c.r.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, head, line, "value %d", i)
		_, err = c.r.Discard(size + 2)
		require.NoError(t, err)
	}
	require.Equal(t, int64(size), s.mem.peakOut.Load(), "the output never held more than one value")
	waitFor(t, func() bool { return e.s.mem.total.Load() == 0 }, "the client's output is released")
	require.Equal(t, want, e.s.stats.netOut.Load()-int64(len(":1\r\n")))
}

// failingKey fails reads of one key.
type failingKey struct {
	Backend
	key string
	err error
}

func (f failingKey) Get(ctx context.Context, key []byte, o coordinator.ReadOptions) (version.Siblings, error) {
	if string(key) == f.key {
		return nil, f.err
	}
	return f.Backend.Get(ctx, key, o)
}

func TestMGet_FailureAfterPartOfTheReplyLeft(t *testing.T) {
	e := newDefaultEnv(t)
	quorum := &coordinator.QuorumError{Op: "read", Need: 2, Got: 1}
	e.s.backend = failingKey{Backend: e.co, key: "bad", err: quorum}
	tc := e.client()
	big := strings.Repeat("v", flushThreshold)
	require.Equal(t, okReply, tc.do("SET", "big", big))
	t.Run("nothing sent: the command fails", func(t *testing.T) {
		require.Equal(t, errReply("NOREPLICAS not enough replicas answered the read: needed 2, got 1"), tc.do("MGET", "a", "bad"))
	})
	t.Run("part sent: the element is the error", func(t *testing.T) {
		require.Equal(t, arr(bulk(big), errReply("NOREPLICAS not enough replicas answered the read: needed 2, got 1"), nilReply),
			tc.do("MGET", "big", "bad", "a"))
	})
	t.Run("a panic after part was sent ends the client", func(t *testing.T) {
		e.s.backend = panicky{Backend: e.co, key: "bad"}
		tc.s.exec(tc.c, [][]byte{[]byte("MGET"), []byte("big"), []byte("bad")})
		_, err := tc.c.w.flush()
		require.ErrorIs(t, err, errReplyCut)
		require.Equal(t, "*2\r\n"+bulk(big)[:len(big)+len("$65536\r\n")], tc.out.String(), "the value was sent before the panic")
	})
}

// TestOutputLimit_HardClosesTheClient pipelines GETs of a big value that
// run at once (window 32) for a client that does not read: their replies
// wait for the socket, their sum passes the hard limit, and the client is
// closed and counted.
func TestOutputLimit_HardClosesTheClient(t *testing.T) {
	cfg := DefaultConfig()
	cfg.PipelineWindow = 32
	cfg.MaxValueSize = 64 << 10
	cfg.OutputBufferHard = 256 << 10
	e := newMemEnv(t, cfg)
	require.Equal(t, okReply, e.client().do("SET", "big", strings.Repeat("v", 64<<10)))
	c := e.dialSlow(t)
	var pipeline strings.Builder
	for range 32 {
		pipeline.WriteString(arr(bulk("GET"), bulk("big")))
	}
	_, err := io.WriteString(c.nc, pipeline.String())
	require.NoError(t, err)
	e.waitClosed(t, c.id)
	require.Equal(t, int64(1), e.s.mem.outputDisconnections.Load())
	waitFor(t, func() bool { return e.s.mem.total.Load() == 0 }, "the client's buffers are released")

	c2 := e.dialSlow(t)
	c2.send("GET", "big")
	reply := bulk(strings.Repeat("v", 64<<10))
	var s *session
	waitFor(t, func() bool { s = e.session(c2.id); return s != nil && s.mem.peakOut.Load() == int64(len(reply)) }, "the reply is sent")
	require.False(t, s.mem.closing.Load(), "one reply under the limit keeps its client")
}

// TestOutputLimit_SoftClosesAfterTheSoftTime: a reply above the soft limit
// that the client does not take within the soft time closes it.
func TestOutputLimit_SoftClosesAfterTheSoftTime(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxValueSize = 1 << 20
	cfg.OutputBufferSoft = 256 << 10
	cfg.OutputBufferSoftTime = time.Second
	e := newMemEnv(t, cfg)
	tc := e.client()
	require.Equal(t, okReply, tc.do("SET", "small", strings.Repeat("s", 200<<10)))
	require.Equal(t, okReply, tc.do("SET", "big", strings.Repeat("b", 512<<10)))

	under := e.dialSlow(t)
	under.send("MGET", "small")
	e.waitSending(t, under.id, 200<<10)
	over := e.dialSlow(t)
	over.send("MGET", "big")
	e.waitSending(t, over.id, 512<<10)
	e.waitClosed(t, over.id)
	require.Equal(t, int64(1), e.s.mem.outputDisconnections.Load())
	require.NotNil(t, e.session(under.id), "a client under the soft limit stays however long it waits")
}

// TestMaxMemoryClients_EvictsTheBiggest: three clients that do not read
// hold replies; when their sum passes maxmemory-clients the one holding
// the most is closed, and the others stay.
func TestMaxMemoryClients_EvictsTheBiggest(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxValueSize = 256 << 10
	cfg.MaxMemoryClients = 320 << 10
	e := newMemEnv(t, cfg)
	tc := e.client()
	for _, kv := range []struct {
		key  string
		size int
	}{{"a", 200 << 10}, {"b", 100 << 10}, {"c", 60 << 10}} {
		require.Equal(t, okReply, tc.do("SET", kv.key, strings.Repeat("v", kv.size)))
	}
	a, b, c := e.dialSlow(t), e.dialSlow(t), e.dialSlow(t)
	a.send("MGET", "a")
	e.waitSending(t, a.id, 200<<10)
	b.send("MGET", "b")
	e.waitSending(t, b.id, 100<<10)
	require.Zero(t, e.s.mem.evicted.Load(), "300 KiB fit in 320")
	c.send("MGET", "c")
	e.waitClosed(t, a.id)
	require.Equal(t, int64(1), e.s.mem.evicted.Load())
	require.NotNil(t, e.session(b.id))
	require.NotNil(t, e.session(c.id))
	require.LessOrEqual(t, e.s.mem.total.Load(), cfg.MaxMemoryClients)
}

func TestConfigSet_ClientMemory(t *testing.T) {
	e := newDefaultEnv(t)
	tc := e.client()
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"redis syntax", []string{"client-output-buffer-limit", "normal 256mb 64mb 60 replica 0 0 0 pubsub 32mb 8mb 60"}, okReply},
		{"units", []string{"maxmemory-clients", "2gb"}, okReply},
		{"none", []string{"maxmemory-clients", "0"}, okReply},
		{"below a value", []string{"client-output-buffer-limit", "normal 1mb 0 0"},
			errReply("ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - hard limit must be 0 (none) or at least max-value-size + 64kb (67174400)")},
		{"bad class", []string{"client-output-buffer-limit", "master 0 0 0"},
			errReply("ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Invalid client class specified in buffer limit configuration.")},
		{"bad count", []string{"client-output-buffer-limit", "normal 0 0"},
			errReply("ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Wrong number of arguments in buffer limit configuration.")},
		{"percent", []string{"maxmemory-clients", "5%"},
			errReply("ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - a percentage of maxmemory needs maxmemory, which dynkv does not have: give bytes")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tc.do(append([]string{"CONFIG", "SET"}, tt.args...)...))
		})
	}
	require.Equal(t, arr(bulk("client-output-buffer-limit"), bulk("normal 268435456 67108864 60")), tc.do("CONFIG", "GET", "client-output-buffer-limit"))
	require.Equal(t, arr(bulk("maxmemory-clients"), bulk("0")), tc.do("CONFIG", "GET", "maxmemory-clients"))
	require.Equal(t, time.Minute, time.Duration(e.s.mem.outSoftTime.Load()))
}

func TestConfig_ValidateMemory(t *testing.T) {
	for _, tt := range []struct {
		name string
		set  func(*Config)
		want string
	}{
		{"hard below a value", func(c *Config) { c.OutputBufferHard = c.MaxValueSize }, "client-output-buffer-limit: hard limit must be 0 (none) or at least"},
		{"soft time in seconds", func(c *Config) { c.OutputBufferSoftTime = 1500 * time.Millisecond }, "soft seconds must be whole seconds"},
		{"maxmemory-clients below a value", func(c *Config) { c.MaxMemoryClients = 1 }, "maxmemory-clients: must be 0 (none) or at least"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.set(&cfg)
			require.ErrorContains(t, cfg.Validate(), tt.want)
		})
	}
	cfg := DefaultConfig()
	cfg.OutputBufferHard, cfg.MaxMemoryClients = 0, 0
	require.NoError(t, cfg.Validate(), "0 is no limit, as in Redis")
}

// TestMaxMemoryClients_PartialRequests is the slowloris probe of issue 12:
// clients that send the start of big requests and stop. Each holds exactly
// the arguments it announced (allocated at their length line), and when
// their sum passes maxmemory-clients the biggest is closed.
func TestMaxMemoryClients_PartialRequests(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxValueSize = 1 << 20
	cfg.MaxMemoryClients = 2_500_000
	e := newMemEnv(t, cfg)
	partial := func(size int) *slowClient {
		c := e.dialSlow(t)
		_, err := io.WriteString(c.nc, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$"+strconv.Itoa(size)+"\r\n"+strings.Repeat("v", 1000))
		require.NoError(t, err)
		want := int64(3 + 1 + size)
		waitFor(t, func() bool { s := e.session(c.id); return s != nil && s.mem.query.Load() == want },
			"client %d holds its partial request, %d bytes", c.id, want)
		return c
	}
	a := partial(1_000_000)
	b := partial(900_000)
	require.Equal(t, int64(1_900_008), e.s.mem.total.Load())
	require.Contains(t, e.client().do("CLIENT", "LIST", "ID", strconv.FormatInt(a.id, 10)), " qbuf=1000004 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=1000004 ")
	c := partial(700_000)
	e.waitClosed(t, a.id)
	require.Equal(t, int64(1), e.s.mem.evicted.Load())
	require.NotNil(t, e.session(b.id))
	require.NotNil(t, e.session(c.id))
	require.Equal(t, int64(1_600_008), e.s.mem.total.Load())

	_, err := io.WriteString(c.nc, strings.Repeat("v", 700_000-1000)+"\r\n")
	require.NoError(t, err)
	line, err := c.r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, okReply, line, "a client under the limit finishes its request")
}

// TestConfigSet_MaxMemoryClientsEvictsAtOnce: lowering maxmemory-clients
// below what the clients hold evicts at once, not at the next allocation.
func TestConfigSet_MaxMemoryClientsEvictsAtOnce(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxValueSize = 1 << 20
	e := newMemEnv(t, cfg)
	var ids []int64
	for range 2 {
		c := e.dialSlow(t)
		_, err := io.WriteString(c.nc, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048576\r\nv")
		require.NoError(t, err)
		waitFor(t, func() bool { s := e.session(c.id); return s != nil && s.mem.query.Load() == 3+1+1<<20 }, "the partial request is held")
		ids = append(ids, c.id)
	}
	require.Equal(t, okReply, e.client().do("CONFIG", "SET", "maxmemory-clients", "1200000"))
	waitFor(t, func() bool { return (e.session(ids[0]) == nil) != (e.session(ids[1]) == nil) }, "one of the two was closed")
	require.Equal(t, int64(1), e.s.mem.evicted.Load())
	require.Equal(t, int64(3+1+1<<20), e.s.mem.total.Load())
}
