package coordinator

import (
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
