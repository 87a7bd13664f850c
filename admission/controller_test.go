package admission_test

import (
	"context"
	"testing"
	"time"

	"github.com/dynkv/dynkv/internal/testclock"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/admission"
)

// clock is a fake clock that tests move by hand.
// newClock returns a stopped clock.
func newClock() *testclock.Clock { return testclock.New(time.Unix(1_700_000_000, 0)) }

func newController(t *testing.T, clk *testclock.Clock) *admission.Controller {
	t.Helper()
	c, err := admission.New(admission.DefaultConfig(), clk.Now)
	require.NoError(t, err)
	return c
}

// window observes n foreground operations, 2% of them taking slow and the
// rest fast (so that the p99 is slow), then ends the window and returns
// the share.
func window(c *admission.Controller, clk *testclock.Clock, n int, fast, slow time.Duration) float64 {
	return windowEvery(c, clk, n, 50, fast, slow)
}

// windowEvery is window with one operation in every taking slow.
func windowEvery(c *admission.Controller, clk *testclock.Clock, n, every int, fast, slow time.Duration) float64 {
	for i := range n {
		d := fast
		if i%every == every-1 {
			d = slow
		}
		c.Since(clk.Now().Add(-d))
	}
	clk.Advance(admission.DefaultConfig().Window)
	return c.Share()
}

func TestController_FullShareUnderTarget(t *testing.T) {
	for _, tc := range []struct {
		name       string
		every      int
		fast, slow time.Duration
	}{
		{"fast", 50, 200 * time.Microsecond, time.Millisecond},
		{"tail-just-under", 50, time.Millisecond, 8 * time.Millisecond},
		{"slow-beyond-p99", 200, time.Millisecond, 100 * time.Millisecond}, // 0.5% slow: the p99 is fast
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			c := newController(t, clk)
			for range 40 {
				require.Equal(t, 1.0, windowEvery(c, clk, 1000, tc.every, tc.fast, tc.slow))
			}
			st := c.Stats()
			require.Equal(t, int64(40_000), st.Observed)
			require.Positive(t, st.ForegroundP99)
			require.LessOrEqual(t, st.ForegroundP99, admission.DefaultConfig().Target)
			require.Zero(t, st.Cuts)
		})
	}
}

func TestController_CutsAboveTargetNeverBelowFloor(t *testing.T) {
	clk := newClock()
	c := newController(t, clk)
	floor := admission.DefaultConfig().Floor
	want := 1.0
	for i := range 20 {
		// 2% of operations at 50ms: the p99 is far above the 10ms target.
		for range 2 {
			c.Observe(50 * time.Millisecond)
		}
		share := window(c, clk, 98, time.Millisecond, time.Millisecond)
		want = max(floor, want/2)
		require.InDelta(t, want, share, 1e-9, "window %d", i)
		require.GreaterOrEqual(t, share, floor)
	}
	st := c.Stats()
	require.Equal(t, floor, st.Share)
	require.Greater(t, st.ForegroundP99, admission.DefaultConfig().Target)
	require.Equal(t, int64(20), st.Cuts)
}

func TestController_RecoversWhenLatencyFalls(t *testing.T) {
	clk := newClock()
	c := newController(t, clk)
	cfg := admission.DefaultConfig()
	for range 10 {
		window(c, clk, 1000, time.Millisecond, 100*time.Millisecond)
	}
	require.Equal(t, cfg.Floor, c.Share())

	// Fast again: the decaying histogram forgets the slow windows within
	// a few windows, then every window adds a step, up to the full share.
	prev, windows := c.Share(), 0
	for prev < 1 {
		share := window(c, clk, 1000, time.Millisecond, 2*time.Millisecond)
		require.GreaterOrEqual(t, share, prev, "the share only grows while latency is low")
		require.LessOrEqual(t, share-prev, cfg.Step+1e-9, "it grows a step a window at most")
		prev = share
		windows++
		require.Less(t, windows, 40, "never recovered")
	}
	require.GreaterOrEqual(t, windows, int((1-cfg.Floor)/cfg.Step), "recovery is gradual")
}

func TestController_IdleRecovers(t *testing.T) {
	clk := newClock()
	c := newController(t, clk)
	for range 10 {
		window(c, clk, 1000, time.Millisecond, 100*time.Millisecond)
	}
	cfg := admission.DefaultConfig()
	require.Equal(t, cfg.Floor, c.Share())

	t.Run("few-observations", func(t *testing.T) {
		// Long enough for the slow windows to decay below the weight a
		// percentile needs, then a slow operation now and then.
		clk.Advance(10 * cfg.Window)
		share := c.Share()
		for range 5 {
			share = window(c, clk, 1, 100*time.Millisecond, 0)
		}
		require.Greater(t, share, cfg.Floor)
		require.Zero(t, c.Stats().ForegroundP99, "too few observations for a p99")
	})
	t.Run("gap-slow", func(t *testing.T) {
		// Windows that ended unasked are judged one by one: the slow
		// operations of the first, decaying, still make the p99 of the
		// next three.
		for range 1000 {
			c.Observe(time.Second)
		}
		before := c.Share()
		clk.Advance(4 * cfg.Window)
		require.InDelta(t, max(cfg.Floor, before/16), c.Share(), 1e-9)
	})
	t.Run("gap", func(t *testing.T) {
		// Background work that asks after a long pause finds every window
		// that ended meanwhile counted as a step up.
		clk.Advance(time.Minute)
		require.Equal(t, 1.0, c.Share())
	})
}

// TestController_SinceFoldsEachWindow: the first operation to end after
// a window folds it, so that a slow window is judged as slow even when
// nobody asks for the share until much later, after fast windows.
func TestController_SinceFoldsEachWindow(t *testing.T) {
	clk := newClock()
	c := newController(t, clk)
	cfg := admission.DefaultConfig()
	op := func(d time.Duration) { c.Since(clk.Now().Add(-d)) }
	for range 3 { // three slow windows, then one fast operation to fold the last
		for range 100 {
			op(time.Second)
		}
		clk.Advance(cfg.Window)
	}
	op(time.Millisecond)
	require.Equal(t, int64(3), c.Stats().Cuts)
	require.Equal(t, 0.125, c.Stats().Share)

	for range 40 { // fast windows, nobody asking
		for range 100 {
			op(time.Millisecond)
		}
		clk.Advance(cfg.Window)
	}
	op(time.Millisecond)
	st := c.Stats()
	require.Equal(t, 1.0, st.Share)
	// The slow operations stay above the 99th percentile of the decaying
	// histogram until their weight falls under 1% of it: about log2(175
	// / 2) windows more, then the fast windows are judged fast.
	require.Less(t, st.Cuts, int64(3+8), "the fast windows were judged fast")
	require.Less(t, st.ForegroundP99, 2*time.Millisecond)
	require.Equal(t, int64(3*100+1+40*100+1), st.Observed)
}

func TestController_Off(t *testing.T) {
	clk := newClock()
	cfg := admission.DefaultConfig()
	cfg.Target = 0
	c, err := admission.New(cfg, clk.Now)
	require.NoError(t, err)
	for range 10 {
		require.Equal(t, 1.0, window(c, clk, 1000, time.Second, time.Second))
	}
	require.Equal(t, 1.0, c.Stats().Share)
}

func TestConfig_Validate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*admission.Config)
		err  string
	}{
		{"default", func(*admission.Config) {}, ""},
		{"off-ignores-the-rest", func(c *admission.Config) { *c = admission.Config{} }, ""},
		{"negative-target", func(c *admission.Config) { c.Target = -1 }, "antientropy.latency-target"},
		{"zero-floor", func(c *admission.Config) { c.Floor = 0 }, "floor"},
		{"floor-over-one", func(c *admission.Config) { c.Floor = 1.5 }, "floor"},
		{"zero-step", func(c *admission.Config) { c.Step = 0 }, "step"},
		{"zero-window", func(c *admission.Config) { c.Window = 0 }, "window"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := admission.DefaultConfig()
			tc.edit(&cfg)
			err := cfg.Validate()
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
}

func TestController_ObserveDoesNotAllocate(t *testing.T) {
	clk := newClock()
	c := newController(t, clk)
	start := clk.Now()
	require.Zero(t, testing.AllocsPerRun(1000, func() {
		clk.Advance(time.Millisecond) // a window ends every 250 operations
		c.Since(start)
		c.Observe(3 * time.Millisecond)
	}))
}

func TestLimiter_WaitsLongerWhileForegroundIsSlow(t *testing.T) {
	clk := newClock()
	c := newController(t, clk)
	const rate = 1000 // units per second: 1ms each at the full share
	l := admission.NewLimiter(rate, c, clk.Now)

	gap := func() time.Duration {
		l.Reserve(1)
		return l.Reserve(1) - l.Reserve(0)
	}
	require.Equal(t, time.Millisecond, gap(), "full share: the configured rate")

	clk.Advance(time.Second) // past the reservations
	for range 10 {
		window(c, clk, 1000, time.Millisecond, 100*time.Millisecond)
	}
	floor := admission.DefaultConfig().Floor
	require.Equal(t, rate*floor, l.Rate())
	require.Equal(t, time.Duration(float64(time.Millisecond)/floor), gap(), "at the floor: rate × floor")

	t.Run("reservations-keep-their-place", func(t *testing.T) {
		clk.Advance(time.Minute) // idle: back to the full share
		require.Equal(t, float64(rate), l.Rate())
		require.Zero(t, l.Reserve(1))
		require.Equal(t, time.Millisecond, l.Backlog())
	})
	t.Run("no-limit", func(t *testing.T) {
		require.Zero(t, admission.NewLimiter(0, c, clk.Now).Reserve(1_000_000))
		require.NoError(t, admission.NewLimiter(0, c, clk.Now).Wait(context.Background(), 5))
	})
}

func BenchmarkController_Since(b *testing.B) {
	c, err := admission.New(admission.DefaultConfig(), nil)
	require.NoError(b, err)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		start := time.Now()
		for pb.Next() {
			c.Since(start) // one clock reading, as a coordinator's operation pays
		}
	})
}
