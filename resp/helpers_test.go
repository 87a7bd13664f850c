package resp

import (
	"bytes"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/replica"
)

// testLogger sends logs to t.Log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// fakeClock is a clock tests move by hand.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time          { return c.now }
func (c *fakeClock) Advance(d time.Duration) { c.now = c.now.Add(d) }

// testEnv is a Server over a real coordinator and a real store on an
// in-memory pebble, driven without sockets.
type testEnv struct {
	t     testing.TB
	s     *Server
	co    *coordinator.Coordinator
	store *replica.Store
	clock *fakeClock
}

func newTestEnv(t testing.TB, cfg Config) *testEnv {
	t.Helper()
	return newTestEnvOn(t, cfg, replica.StoragePebble)
}

// newTestEnvOn is newTestEnv with the store on the given engine.
func newTestEnvOn(t testing.TB, cfg Config, storage replica.Storage) *testEnv {
	t.Helper()
	cfg.InMemory = storage == replica.StorageMemory
	st, err := replica.Open(replica.Config{Dir: "db", FS: vfs.NewMem(), Storage: storage, Durability: replica.DurabilityNone})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	clk := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)}
	co, err := coordinator.New(coordinator.DefaultConfig(), st, clk.Now, testLogger(t))
	require.NoError(t, err)
	cfg.Clock = clk.Now
	s, err := New(cfg, co, st, testLogger(t))
	require.NoError(t, err)
	return &testEnv{t: t, s: s, co: co, store: st, clock: clk}
}

func newDefaultEnv(t testing.TB) *testEnv { return newTestEnv(t, DefaultConfig()) }

// testClient is one client session whose replies tests read as raw RESP.
type testClient struct {
	t   testing.TB
	s   *Server
	c   *session
	out *bytes.Buffer
}

func (e *testEnv) client() *testClient {
	out := &bytes.Buffer{}
	c := e.s.newSession(newWriter(out), "127.0.0.1:50000", "127.0.0.1:6379")
	e.s.addClient(c)
	e.t.Cleanup(func() { e.s.removeClient(c); c.cancel() })
	return &testClient{t: e.t, s: e.s, c: c, out: out}
}

// do runs one command and returns its raw reply.
func (tc *testClient) do(args ...string) string {
	tc.t.Helper()
	bargs := make([][]byte, len(args))
	for i, a := range args {
		bargs[i] = []byte(a)
	}
	return tc.doBytes(bargs)
}

func (tc *testClient) doBytes(args [][]byte) string {
	tc.t.Helper()
	tc.s.exec(tc.c, args)
	_, err := tc.c.w.flush()
	require.NoError(tc.t, err)
	out := tc.out.String()
	tc.out.Reset()
	return out
}

// Reply builders for expected RESP.
func bulk(s string) string     { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }
func errReply(s string) string { return "-" + s + "\r\n" }
func intReply(n int) string    { return ":" + strconv.Itoa(n) + "\r\n" }
func arr(items ...string) string {
	return "*" + strconv.Itoa(len(items)) + "\r\n" + strings.Join(items, "")
}

const (
	okReply  = "+OK\r\n"
	nilReply = "$-1\r\n"
)

// respValue is a parsed RESP2 reply: string (simple or bulk), int64,
// respError, nil or []respValue.
type respValue any

type respError string

// parseReply parses one RESP2 reply from the start of raw and returns it
// and the bytes after it. It fails the test on malformed input.
func parseReply(t testing.TB, raw string) (respValue, string) {
	t.Helper()
	line, rest, ok := strings.Cut(raw, "\r\n")
	require.True(t, ok && line != "", "no reply line in %q", raw)
	switch line[0] {
	case '+':
		return line[1:], rest
	case '-':
		return respError(line[1:]), rest
	case ':':
		n, err := strconv.ParseInt(line[1:], 10, 64)
		require.NoError(t, err)
		return n, rest
	case '$':
		n, err := strconv.Atoi(line[1:])
		require.NoError(t, err)
		if n < 0 {
			return nil, rest
		}
		require.GreaterOrEqual(t, len(rest), n+2)
		return rest[:n], rest[n+2:]
	case '*':
		n, err := strconv.Atoi(line[1:])
		require.NoError(t, err)
		if n < 0 {
			return nil, rest
		}
		items := make([]respValue, n)
		for i := range items {
			items[i], rest = parseReply(t, rest)
		}
		return items, rest
	}
	require.Failf(t, "bad reply", "%q", raw)
	return nil, ""
}

// dget runs DGET and returns the context and the values.
func (tc *testClient) dget(key string, opts ...string) (string, []string) {
	tc.t.Helper()
	v, rest := parseReply(tc.t, tc.do(append([]string{"DGET", key}, opts...)...))
	require.Empty(tc.t, rest)
	pair, ok := v.([]respValue)
	require.True(tc.t, ok && len(pair) == 2, "DGET reply %v", v)
	vals := []string{}
	for _, x := range pair[1].([]respValue) {
		vals = append(vals, x.(string))
	}
	return pair[0].(string), vals
}
