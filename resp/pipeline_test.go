package resp_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/resp"
	"github.com/dynkv/dynkv/resp/resptest"
	"github.com/dynkv/dynkv/version"
)

// model is a naive reference of the plain string commands: what one
// client sees when its commands run strictly one after another.
type model map[string]string

// step returns a random command on keys and the reply model gives it,
// updating model. Barriers (commands over several keys, DBSIZE, PING,
// SELECT) are mixed in with the single-key commands.
func (m model) step(rnd interface{ Intn(int) int }, keys []string, i int) ([]string, string) {
	k, k2 := keys[rnd.Intn(len(keys))], keys[rnd.Intn(len(keys))]
	v := "v" + strconv.Itoa(i)
	cur, had := m[k]
	bulkOrNil := func(s string, ok bool) string {
		if !ok {
			return nilReply
		}
		return bulk(s)
	}
	switch rnd.Intn(16) {
	case 0, 1, 2:
		m[k] = v
		return []string{"SET", k, v}, "+OK\r\n"
	case 3, 4:
		m[k] = cur + v
		return []string{"APPEND", k, v}, ":" + strconv.Itoa(len(m[k])) + "\r\n"
	case 5, 6, 7:
		return []string{"GET", k}, bulkOrNil(cur, had)
	case 8:
		return []string{"STRLEN", k}, ":" + strconv.Itoa(len(cur)) + "\r\n"
	case 9:
		delete(m, k)
		return []string{"DEL", k}, ":" + strconv.Itoa(b2i(had)) + "\r\n"
	case 10:
		return []string{"EXISTS", k}, ":" + strconv.Itoa(b2i(had)) + "\r\n"
	case 11:
		m[k] = v
		return []string{"GETSET", k, v}, bulkOrNil(cur, had)
	case 12:
		if had {
			return []string{"SET", k, v, "NX", "GET"}, bulk(cur)
		}
		m[k] = v
		return []string{"SET", k, v, "NX", "GET"}, nilReply
	case 13:
		v2, had2 := m[k2]
		return []string{"MGET", k, k2}, "*2\r\n" + bulkOrNil(cur, had) + bulkOrNil(v2, had2)
	case 14:
		m[k], m[k2] = v, v+"b"
		return []string{"MSET", k, v, k2, v + "b"}, "+OK\r\n"
	default:
		switch rnd.Intn(3) {
		case 0:
			return []string{"DBSIZE"}, ":" + strconv.Itoa(len(m)) + "\r\n"
		case 1:
			return []string{"PING"}, "+PONG\r\n"
		default:
			return []string{"SELECT", "0"}, "+OK\r\n"
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

const nilReply = "$-1\r\n"

func bulk(s string) string { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }

// windowed returns the default configuration with a pipeline window of n.
func windowed(n int) resp.Config {
	cfg := resp.DefaultConfig()
	cfg.PipelineWindow = n
	return cfg
}

// TestPipeline_MatchesSequentialModel sends pipelines of random commands
// on a few keys, each in one write, and checks every reply, in order,
// against a model that runs them one after another, then the final values.
func TestPipeline_MatchesSequentialModel(t *testing.T) {
	for _, w := range []int{1, 2, 32} {
		t.Run("window="+strconv.Itoa(w), func(t *testing.T) { testMatchesSequentialModel(t, windowed(w)) })
	}
}

func testMatchesSequentialModel(t *testing.T, cfg resp.Config) {
	srv := resptest.Start(t, cfg)
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rnd := newRand(seed)
	keys := []string{"a", "b", "c", "{a}d"}
	m := model{}
	c := resptest.Dial(t, srv.Addr)
	for round := range 60 {
		n := 1 + rnd.Intn(200)
		var send strings.Builder
		want := make([]string, n)
		for i := range want {
			var args []string
			args, want[i] = m.step(rnd, keys, round*1000+i)
			send.WriteString(resptest.Command(args...))
		}
		c.Send(send.String())
		for i := range want {
			require.Equal(t, want[i], c.Reply(), "round %d, command %d", round, i)
		}
	}
	for _, k := range keys {
		v, ok := m[k]
		if !ok {
			require.Equal(t, nilReply, c.Do("GET", k))
			continue
		}
		require.Equal(t, bulk(v), c.Do("GET", k))
	}
}

// TestPipeline_Barriers checks commands that are not single-key data
// commands in the middle of pipelines: they see everything before them and
// nothing after.
func TestPipeline_Barriers(t *testing.T) {
	cfg := windowed(32)
	cfg.RequirePass = "pw"
	srv := resptest.Start(t, cfg)
	for _, tt := range []struct {
		name  string
		cmds  [][]string
		reply []string
	}{
		{"auth", [][]string{{"SET", "a", "0"}, {"AUTH", "nope"}, {"GET", "a"}, {"AUTH", "pw"}, {"SET", "a", "1"}, {"GET", "a"}},
			[]string{"-NOAUTH Authentication required.\r\n", "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
				"-NOAUTH Authentication required.\r\n", "+OK\r\n", "+OK\r\n", bulk("1")}},
		{"mset", [][]string{{"AUTH", "pw"}, {"SET", "a", "1"}, {"MSET", "a", "x", "b", "y"}, {"GET", "a"}, {"APPEND", "b", "z"}, {"MGET", "a", "b"}},
			[]string{"+OK\r\n", "+OK\r\n", "+OK\r\n", bulk("x"), ":2\r\n", "*2\r\n" + bulk("x") + bulk("yz")}},
		{"del several", [][]string{{"AUTH", "pw"}, {"SET", "a", "1"}, {"SET", "b", "2"}, {"DEL", "a", "b", "c"}, {"EXISTS", "a"}, {"SET", "c", "3"}, {"DBSIZE"}},
			[]string{"+OK\r\n", "+OK\r\n", "+OK\r\n", ":2\r\n", ":0\r\n", "+OK\r\n", ":1\r\n"}},
		{"select", [][]string{{"AUTH", "pw"}, {"SET", "a", "1"}, {"SELECT", "1"}, {"GET", "a"}, {"SELECT", "0"}, {"GETSET", "a", "2"}},
			[]string{"+OK\r\n", "+OK\r\n", "-ERR DB index is out of range\r\n", bulk("1"), "+OK\r\n", bulk("1")}},
		{"errors in place", [][]string{{"AUTH", "pw"}, {"SET", "a"}, {"GET", "a", "b"}, {"SET", "a", "1", "EX", "0"}, {"NOPE"}, {"STRLEN", "a"}},
			[]string{"+OK\r\n", "-ERR wrong number of arguments for 'set' command\r\n", "-ERR wrong number of arguments for 'get' command\r\n",
				"-ERR invalid expire time in 'set' command\r\n", "-ERR unknown command 'NOPE', with args beginning with: \r\n", ":1\r\n"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := resptest.Dial(t, srv.Addr)
			var send strings.Builder
			for _, args := range tt.cmds {
				send.WriteString(resptest.Command(args...))
			}
			c.Send(send.String())
			for i, want := range tt.reply {
				require.Equal(t, want, c.Reply(), "command %d %q", i, tt.cmds[i])
			}
		})
	}
	t.Run("quit", func(t *testing.T) {
		c := resptest.Dial(t, srv.Addr)
		c.Send(resptest.Command("AUTH", "pw") + resptest.Command("SET", "q", "1") + resptest.Command("SET", "r", "1") +
			resptest.Command("QUIT") + resptest.Command("SET", "q", "2") + resptest.Command("SET", "s", "1"))
		for _, want := range []string{"+OK\r\n", "+OK\r\n", "+OK\r\n", "+OK\r\n"} {
			require.Equal(t, want, c.Reply())
		}
		c.WaitClosed()
		d := resptest.Dial(t, srv.Addr)
		require.Equal(t, "+OK\r\n", d.Do("AUTH", "pw"))
		require.Equal(t, "*3\r\n"+bulk("1")+bulk("1")+nilReply, d.Do("MGET", "q", "r", "s"), "nothing after QUIT ran")
	})
}

// hookBackend calls hook before every Get and Put and tracks how many are
// running per key and in all.
type hookBackend struct {
	resp.Backend
	hook func(ctx context.Context, key string) error

	mu struct {
		sync.Mutex
		running map[string]int
		total   int
		most    int      // highest total seen
		overlap []string // keys that had two calls running at once
	}
}

func newHookBackend(b resp.Backend, hook func(ctx context.Context, key string) error) *hookBackend {
	hb := &hookBackend{Backend: b, hook: hook}
	hb.mu.running = map[string]int{}
	return hb
}

func (hb *hookBackend) enter(key string) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if hb.mu.running[key] > 0 {
		hb.mu.overlap = append(hb.mu.overlap, key)
	}
	hb.mu.running[key]++
	hb.mu.total++
	hb.mu.most = max(hb.mu.most, hb.mu.total)
}

func (hb *hookBackend) leave(key string) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	hb.mu.running[key]--
	hb.mu.total--
}

func (hb *hookBackend) Get(ctx context.Context, key []byte, opt coordinator.ReadOptions) (version.Siblings, error) {
	hb.enter(string(key))
	defer hb.leave(string(key))
	if err := hb.hook(ctx, string(key)); err != nil {
		return nil, err
	}
	return hb.Backend.Get(ctx, key, opt)
}

func (hb *hookBackend) Put(ctx context.Context, key []byte, w coordinator.Write) (version.Siblings, error) {
	hb.enter(string(key))
	defer hb.leave(string(key))
	if err := hb.hook(ctx, string(key)); err != nil {
		return nil, err
	}
	return hb.Backend.Put(ctx, key, w)
}

// stats returns the most calls seen running at once, the calls running now
// and the keys that had overlapping calls.
func (hb *hookBackend) stats() (most, now int, overlap []string) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	return hb.mu.most, hb.mu.total, append([]string(nil), hb.mu.overlap...)
}

// gate blocks the calls on one key until it is opened, and counts the
// calls that have started on each key.
type gate struct {
	key  string
	open chan struct{}
	mu   struct {
		sync.Mutex
		started map[string]int
	}
}

func newGate(key string) *gate {
	g := &gate{key: key, open: make(chan struct{})}
	g.mu.started = map[string]int{}
	return g
}

func (g *gate) hook(ctx context.Context, key string) error {
	g.mu.Lock()
	g.mu.started[key]++
	g.mu.Unlock()
	if key != g.key {
		return nil
	}
	select {
	case <-g.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitFor waits until n calls on key have started.
func (g *gate) waitFor(t *testing.T, key string, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.mu.started[key] >= n
	}, resptest.Timeout, time.Millisecond, "%d calls on %q did not start", n, key)
}

func startHooked(t *testing.T, cfg resp.Config, hook func(ctx context.Context, key string) error) (*resp.Server, string, *hookBackend) {
	t.Helper()
	co, st := resptest.Backend(t)
	hb := newHookBackend(co, hook)
	srv, addr := resptest.Serve(t, cfg, hb, st)
	return srv, addr, hb
}

// TestPipeline_DifferentKeysOverlap blocks the commands on one key and
// shows that later commands of the same pipeline on other keys run
// meanwhile, while a later command on the blocked key waits for the
// earlier one; replies still come in order.
func TestPipeline_DifferentKeysOverlap(t *testing.T) {
	g := newGate("slow")
	_, addr, hb := startHooked(t, windowed(32), g.hook)
	c := resptest.Dial(t, addr)
	c.Send(resptest.Command("SET", "slow", "1") + resptest.Command("APPEND", "slow", "2") +
		resptest.Command("SET", "fast", "a") + resptest.Command("GET", "fast") + resptest.Command("APPEND", "fast", "b"))
	g.waitFor(t, "slow", 1)
	g.waitFor(t, "fast", 3) // SET, GET and APPEND fast run while SET slow is blocked
	require.Eventually(t, func() bool { _, running, _ := hb.stats(); return running == 1 }, resptest.Timeout, time.Millisecond,
		"only SET slow is left running: APPEND slow waits for it")
	close(g.open)
	for _, want := range []string{"+OK\r\n", ":2\r\n", "+OK\r\n", bulk("a"), ":2\r\n"} {
		require.Equal(t, want, c.Reply())
	}
	require.Equal(t, bulk("12"), c.Do("GET", "slow"))
	require.Equal(t, bulk("ab"), c.Do("GET", "fast"))
	_, _, overlap := hb.stats()
	require.Empty(t, overlap, "no two commands on one key ran at once")
}

// TestPipeline_BoundsCommandsInFlight blocks every command and checks that
// one connection runs at most 32 at once, and that it does reach 32.
func TestPipeline_BoundsCommandsInFlight(t *testing.T) {
	open := make(chan struct{})
	started := make(chan struct{}, 1000)
	_, addr, hb := startHooked(t, windowed(32), func(ctx context.Context, _ string) error {
		started <- struct{}{}
		select {
		case <-open:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	c := resptest.Dial(t, addr)
	const n = 100
	var send strings.Builder
	for i := range n {
		send.WriteString(resptest.Command("SET", "k"+strconv.Itoa(i), "v"))
	}
	c.Send(send.String())
	for range 32 {
		select {
		case <-started:
		case <-time.After(resptest.Timeout):
			t.Fatal("32 commands did not start")
		}
	}
	close(open)
	for range n {
		require.Equal(t, "+OK\r\n", c.Reply())
	}
	most, _, _ := hb.stats()
	require.Equal(t, 32, most)
}

// TestPipeline_NoGoroutineOutlivesItsConnection leaves commands blocked in
// flight on connections whose clients have gone, then closes the server
// with a cancelled context: every command has returned when Close does,
// and no goroutine is left.
func TestPipeline_NoGoroutineOutlivesItsConnection(t *testing.T) {
	g := newGate("slow")
	srv, addr, hb := startHooked(t, windowed(32), g.hook)
	before := runtime.NumGoroutine() // the store's, the server's Serve
	for i := range 3 {
		c := resptest.Dial(t, addr)
		var send strings.Builder
		for j := range 50 {
			key := "slow"
			if j%3 != 0 {
				key = fmt.Sprintf("k%d", j)
			}
			send.WriteString(resptest.Command("SET", key, "v"))
		}
		c.Send(send.String())
		g.waitFor(t, "slow", i+1)
		require.NoError(t, c.NetConn().Close())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, srv.Close(ctx), context.Canceled)
	_, running, _ := hb.stats() // the connections' SET slow overlap: they are not ordered
	require.Zero(t, running, "every command has returned when Close does")
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= before }, resptest.Timeout, 5*time.Millisecond,
		"goroutines left: %d, before: %d", runtime.NumGoroutine(), before)
}

// TestPipeline_ClientGoneWhileCommandsRun releases blocked commands after
// their client has gone: the connection ends and frees its slot.
func TestPipeline_ClientGoneWhileCommandsRun(t *testing.T) {
	g := newGate("slow")
	_, addr, hb := startHooked(t, windowed(32), g.hook)
	c := resptest.Dial(t, addr)
	c.Send(resptest.Command("SET", "slow", "1") + resptest.Command("SET", "x", "1") + resptest.Command("SET", "slow", "2"))
	g.waitFor(t, "slow", 1)
	require.NoError(t, c.NetConn().Close())
	close(g.open)
	d := resptest.Dial(t, addr)
	require.Eventually(t, func() bool {
		return strings.Contains(d.Do("INFO", "clients"), "connected_clients:1\r\n")
	}, resptest.Timeout, 5*time.Millisecond)
	_, running, overlap := hb.stats()
	require.Zero(t, running)
	require.Empty(t, overlap)
	require.Equal(t, bulk("2"), d.Do("GET", "slow"), "the pipeline ran to its end")
}

// TestPipeline_TransactionInOnePipeline: MULTI, commands and EXEC sent in
// one write with a pipeline window are queued, not run on workers, and EXEC
// runs them in order.
func TestPipeline_TransactionInOnePipeline(t *testing.T) {
	srv := resptest.Start(t, windowed(32))
	c := resptest.Dial(t, srv.Addr)
	c.Send(resptest.Command("MULTI") + resptest.Command("SET", "a", "1") + resptest.Command("APPEND", "a", "2") +
		resptest.Command("SET", "b", "x") + resptest.Command("GET", "a") + resptest.Command("EXEC") + resptest.Command("GET", "b"))
	for _, want := range []string{"+OK\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "+QUEUED\r\n",
		"*4\r\n+OK\r\n:2\r\n+OK\r\n" + bulk("12"), bulk("x")} {
		require.Equal(t, want, c.Reply())
	}
}
