package coordinator

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const ms = time.Millisecond

// TestRTT_Estimate checks the estimator against RFC 6298's arithmetic and
// the behaviours the hop deadline relies on.
func TestRTT_Estimate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		samples  []time.Duration
		min, max time.Duration // the estimate srtt + 4·rttvar
	}{
		{name: "first sample", samples: []time.Duration{10 * ms}, min: 30 * ms, max: 30 * ms}, // srtt R, rttvar R/2
		{name: "second sample", samples: []time.Duration{10 * ms, 18 * ms},
			// srtt = (7·10 + 18)/8 = 11, rttvar = (3·5 + 8)/4 = 5.75
			min: 34 * ms, max: 34 * ms},
		{name: "steady high latency converges on it", samples: repeat(30*ms, 200), min: 30 * ms, max: 31 * ms},
		{name: "jitter widens it past the slowest", samples: alternate(10*ms, 50*ms, 200), min: 50 * ms, max: 120 * ms},
		{name: "one spike is forgotten", samples: append(append(repeat(ms, 50), 2*time.Second), repeat(ms, 80)...), min: ms, max: 3 * ms},
		{name: "sub-microsecond calls", samples: repeat(100*time.Nanosecond, 10), min: time.Microsecond, max: 5 * time.Microsecond},
		{name: "beyond 32 bits of µs is clamped", samples: []time.Duration{100 * time.Hour}, min: time.Hour, max: 4 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r rtt
			for _, s := range tc.samples {
				r.observe(s)
			}
			p, ok := r.estimate()
			require.True(t, ok)
			require.GreaterOrEqual(t, p, tc.min)
			require.LessOrEqual(t, p, tc.max)
		})
	}
	t.Run("no sample", func(t *testing.T) {
		var r rtt
		_, ok := r.estimate()
		require.False(t, ok)
	})
	t.Run("concurrent samples", func(t *testing.T) {
		var r rtt
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 1000 {
					r.observe(7 * ms)
				}
			})
		}
		wg.Wait()
		p, _ := r.estimate()
		require.Equal(t, 7*ms, p, "8000 equal samples leave no deviation")
	})
}

func repeat(d time.Duration, n int) []time.Duration {
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = d
	}
	return s
}

func alternate(a, b time.Duration, n int) []time.Duration {
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = a
		if i%2 == 1 {
			s[i] = b
		}
	}
	return s
}

func TestHopDeadline(t *testing.T) {
	const floor, factor, ceiling = 20 * ms, 2.0, 1250 * ms
	for _, tc := range []struct {
		name     string
		p        time.Duration
		measured bool
		want     time.Duration
	}{
		{name: "never measured: the attempt timeout", want: ceiling},
		{name: "fast peer: the floor", p: 300 * time.Microsecond, measured: true, want: floor},
		{name: "slow steady peer: factor times the estimate", p: 30 * ms, measured: true, want: 60 * ms},
		{name: "very slow peer: the ceiling", p: time.Second, measured: true, want: ceiling},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, hopDeadline(tc.p, tc.measured, floor, factor, ceiling))
		})
	}
}

// TestHopDeadline_AdaptsToSteadyHighLatency plays a peer that answered in
// about a millisecond and then steadily takes 30 ms (a loaded machine)
// against the deadline, as attempt measures it (a late reply counts, at
// most twice the deadline it missed): it misses its deadline once, then
// never again. A peer that stops answering misses it at the floor.
func TestHopDeadline_AdaptsToSteadyHighLatency(t *testing.T) {
	const floor, factor, ceiling = DefaultHopFloor, DefaultHopFactor, 1250 * ms
	var r rtt
	deadline := func() time.Duration {
		p, ok := r.estimate()
		return hopDeadline(p, ok, floor, factor, ceiling)
	}
	call := func(latency time.Duration) (missed bool) {
		d := deadline()
		r.observe(min(latency, 2*d))
		return latency > d
	}
	for range 100 {
		require.False(t, call(ms+ms/4))
	}
	require.Equal(t, floor, deadline(), "a fast, steady peer gets the floor")

	misses := 0
	for i := range 200 {
		// 30 ms, ±1 ms of jitter.
		if call(30*ms + time.Duration(i%3-1)*ms) {
			misses++
			require.Less(t, i, 3, "only the first calls at the new latency may miss")
		}
	}
	require.Equal(t, 1, misses)
	require.Greater(t, deadline(), 40*ms, "the deadline moved up with the latency")
	require.Less(t, deadline(), 100*ms)
}

func TestConfig_HopValidation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		floor time.Duration
		f     float64
		ok    bool
	}{
		{name: "defaults", floor: DefaultHopFloor, f: DefaultHopFactor, ok: true},
		{name: "zero means default", ok: true},
		{name: "negative floor", floor: -ms, f: 2},
		{name: "factor below one", floor: ms, f: 0.5},
		{name: "factor too large", floor: ms, f: 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.HopFloor, cfg.HopFactor = tc.floor, tc.f
			err := cfg.Validate()
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, "hop-deadline")
			}
		})
	}
}

// TestAttempt: what a call that answers in time, late, late with an
// error, or after the operation ended does to the result, the suspicion
// of its node and its estimator. The calls block until the test releases
// them, so the order of events is the test's.
func TestAttempt(t *testing.T) {
	newC := func(t *testing.T) *Coordinator {
		c, err := NewCluster(DefaultConfig(), nil, single{self: "self"}, nil, nil, nil, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	blocked := func(release <-chan error) func(context.Context) error {
		return func(ctx context.Context) error {
			select {
			case err := <-release:
				return err
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	ctx := context.Background()
	const node = "peer"

	t.Run("in time", func(t *testing.T) {
		c := newC(t)
		require.NoError(t, c.attempt(ctx, node, replicaHop, time.Hour, func(context.Context) error { return nil }))
		require.False(t, c.suspects.suspected(node, c.now()))
		_, measured := c.rtts.of(node).replica.estimate()
		require.True(t, measured)
	})
	t.Run("late success lifts the suspicion and is measured", func(t *testing.T) {
		c := newC(t)
		release := make(chan error)
		require.ErrorIs(t, c.attempt(ctx, node, replicaHop, time.Millisecond, blocked(release)), errHopDeadline)
		require.True(t, c.suspects.suspected(node, c.now()), "missed: suspected")
		require.Equal(t, int64(1), c.rtts.of(node).misses.Load())
		_, measured := c.rtts.of(node).replica.estimate()
		require.False(t, measured)
		release <- nil
		require.Eventually(t, func() bool { return !c.suspects.suspected(node, c.now()) }, 5*time.Second, time.Millisecond)
		require.Equal(t, int64(1), c.lateReplies.Load())
		p, measured := c.rtts.of(node).replica.estimate()
		require.True(t, measured)
		require.LessOrEqual(t, p, 3*2*time.Millisecond, "the late sample is at most twice the deadline it missed")
	})
	t.Run("late failure keeps the suspicion", func(t *testing.T) {
		c := newC(t)
		release := make(chan error)
		require.ErrorIs(t, c.attempt(ctx, node, forwardHop, time.Millisecond, blocked(release)), errHopDeadline)
		release <- errors.New("refused")
		require.NoError(t, c.Close()) // waits for the call
		require.True(t, c.suspects.suspected(node, c.now()))
		require.Zero(t, c.lateReplies.Load())
	})
	t.Run("operation over first: no suspicion", func(t *testing.T) {
		c := newC(t)
		release := make(chan error)
		octx, cancel := context.WithCancel(ctx)
		cancel()
		require.ErrorIs(t, c.attempt(octx, node, replicaHop, time.Hour, blocked(release)), context.Canceled)
		require.False(t, c.suspects.suspected(node, c.now()))
		release <- nil // the call outlived the operation's cancellation
		require.NoError(t, c.Close())
		require.Zero(t, c.lateReplies.Load())
		_, measured := c.rtts.of(node).replica.estimate()
		require.True(t, measured, "its round trip still counts")
	})
	t.Run("the coordinator closing ends the call", func(t *testing.T) {
		c := newC(t)
		require.ErrorIs(t, c.attempt(ctx, node, replicaHop, time.Millisecond, blocked(make(chan error))), errHopDeadline)
		require.NoError(t, c.Close()) // returns: the call's ctx is the coordinator's
	})
}
