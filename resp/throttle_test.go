package resp

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// throttleEnv is a session-level server whose AUTH waits are recorded and
// pass at once, moving the clock by the time waited.
type throttleEnv struct {
	*testEnv
	waits []time.Duration
}

func newThrottleEnv(t *testing.T, cfg Config) *throttleEnv {
	te := &throttleEnv{testEnv: newTestEnv(t, cfg)}
	te.s.sleep = func(_ context.Context, d time.Duration) error {
		te.waits = append(te.waits, d)
		te.clock.Advance(d)
		return nil
	}
	return te
}

// clientFrom returns a client connected from addr.
func (e *throttleEnv) clientFrom(addr string) *testClient {
	out := &bytes.Buffer{}
	c := e.s.newSession(newWriter(out), addr, "127.0.0.1:6379")
	e.s.addClient(c)
	e.t.Cleanup(func() { e.s.removeClient(c); c.cancel() })
	return &testClient{t: e.t, s: e.s, c: c, out: out}
}

const wrongPass = "-WRONGPASS invalid username-password pair or user is disabled.\r\n"

func TestAuthThrottle_PerConnection(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RequirePass = "pw"
	e := newThrottleEnv(t, cfg)
	tc := e.clientFrom("192.0.2.1:1000")
	for range 7 {
		require.Equal(t, wrongPass, tc.do("AUTH", "nope"))
	}
	require.Equal(t, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
		800 * time.Millisecond, 1600 * time.Millisecond, 2 * time.Second}, e.waits, "doubling after each failure, capped")

	t.Run("HELLO AUTH is throttled alike", func(t *testing.T) {
		e.waits = nil
		require.Equal(t, wrongPass, tc.do("HELLO", "2", "AUTH", "default", "nope"))
		require.Equal(t, []time.Duration{2 * time.Second}, e.waits)
	})
	t.Run("the right password waits too, then succeeds and resets", func(t *testing.T) {
		e.waits = nil
		require.Equal(t, okReply, tc.do("AUTH", "pw"))
		require.Equal(t, []time.Duration{2 * time.Second}, e.waits)
		e.waits = nil
		require.Equal(t, okReply, tc.do("AUTH", "default", "pw"))
		require.Empty(t, e.waits)
	})
	t.Run("time already passed counts", func(t *testing.T) {
		e.waits = nil
		require.Equal(t, wrongPass, tc.do("AUTH", "nope"))
		e.clock.Advance(60 * time.Millisecond)
		require.Equal(t, wrongPass, tc.do("AUTH", "nope"))
		require.Equal(t, []time.Duration{40 * time.Millisecond}, e.waits)
	})
}

func TestAuthThrottle_PerSource(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RequirePass = "pw"
	e := newThrottleEnv(t, cfg)
	// Every attempt on a new connection: only the source's budget applies.
	try := func(addr, pass string) string {
		return e.clientFrom(addr).do("AUTH", pass)
	}
	for i := range authSourceBurst {
		require.Equal(t, wrongPass, try("192.0.2.1:"+strconv.Itoa(2000+i), "nope"))
	}
	require.Empty(t, e.waits, "a burst passes")
	require.Equal(t, wrongPass, try("192.0.2.1:3000", "nope"))
	require.Equal(t, wrongPass, try("192.0.2.1:3001", "nope"))
	require.Equal(t, []time.Duration{authSourceEvery, authSourceEvery}, e.waits, "then one per authSourceEvery")

	e.waits = nil
	require.Equal(t, wrongPass, try("192.0.2.2:2000", "nope"))
	require.Equal(t, wrongPass, try("[2001:db8::1]:2000", "nope"))
	require.Empty(t, e.waits, "other sources have their own budget")

	require.Equal(t, okReply, try("192.0.2.1:3002", "pw"))
	require.Equal(t, []time.Duration{authSourceEvery}, e.waits, "the right password waits for the source's budget")

	t.Run("the sweeper forgets refilled sources", func(t *testing.T) {
		e.s.sweep()
		require.Len(t, e.s.throttle.mu.sources, 1, "the other sources' single failures are refilled by now")
		e.clock.Advance(authSourceBurst * authSourceEvery)
		e.s.sweep()
		require.Empty(t, e.s.throttle.mu.sources)
	})
}

func TestAuthThrottle_NotWithoutFailures(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RequirePass = "pw"
	e := newThrottleEnv(t, cfg)
	for i := range 100 {
		require.Equal(t, okReply, e.clientFrom("192.0.2.1:"+strconv.Itoa(1000+i)).do("AUTH", "pw"))
	}
	require.Empty(t, e.waits)
}

func TestAuthThrottle_FailuresLoggedAtABoundedRate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RequirePass = "pw"
	e := newThrottleEnv(t, cfg)
	rec := newLogRecorder()
	e.s.rlog = newRateLog(slog.New(rec), e.clock.Now, logBurst, logWindow)
	for i := range 200 {
		e.clientFrom(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i), 1}), 5).String()).do("AUTH", "nope")
	}
	require.Equal(t, logBurst, rec.Count("authentication failed"))
	e.clock.Advance(logWindow)
	e.s.sweep()
	require.Equal(t, 1, rec.Count("authentication failed suppressed=190"))
}

func TestAuthSource(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.1:5":                 "192.0.2.1/32",
		"[::ffff:192.0.2.1]:5":        "192.0.2.1/32",
		"[2001:db8:1:2:3:4:5:6]:5":    "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:6379": "2001:db8:1:2::/64",
		"pipe":                        "invalid Prefix",
	} {
		require.Equal(t, want, authSource(addr).String(), addr)
	}
}

func TestAuthThrottle_SourcesBounded(t *testing.T) {
	th := newAuthThrottle()
	now := time.Unix(1000, 0)
	for i := range maxAuthSources {
		th.mu.sources[netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)] = now.Add(time.Hour)
	}
	sess := &session{addr: "192.0.2.1:5"}
	th.failed(sess, now)
	require.Len(t, th.mu.sources, maxAuthSources+1, "new sources share one budget")
	_, shared := th.mu.sources[netip.Prefix{}]
	require.True(t, shared)
}
