package admission

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBucketOf_WithinBounds(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	check := func(d time.Duration) {
		i := bucketOf(d)
		require.True(t, i >= 0 && i < buckets, "%s: bucket %d", d, i)
		lo, hi := bounds(i)
		if i == buckets-1 {
			require.GreaterOrEqual(t, d, lo, d)
			return
		}
		require.True(t, lo <= d && d < hi, "%s in bucket %d [%s, %s)", d, i, lo, hi)
		if lo >= 8<<unitShift {
			require.LessOrEqual(t, float64(hi-lo), 0.25*float64(lo), "bucket %d wider than 25%%", i)
		}
	}
	for _, d := range []time.Duration{0, 1, time.Microsecond, 8 << unitShift, 10 * time.Millisecond, time.Second, time.Hour, -5} {
		if d >= 0 {
			check(d)
		}
	}
	for range 100_000 {
		check(time.Duration(r.Int64N(int64(40 * time.Second))))
	}
	prev := 0
	for d := time.Duration(0); d < time.Minute; d += d/16 + 1 {
		i := bucketOf(d)
		require.GreaterOrEqual(t, i, prev, "buckets must not decrease with latency")
		prev = i
	}
	for i := 1; i < buckets; i++ {
		_, hiPrev := bounds(i - 1)
		lo, _ := bounds(i)
		require.Equal(t, hiPrev, lo, "buckets %d and %d must be contiguous", i-1, i)
	}
}

func TestQuantile_Interpolates(t *testing.T) {
	var w [buckets]float64
	total := 0.0
	add := func(d time.Duration, n float64) { w[bucketOf(d)] += n; total += n }
	add(time.Millisecond, 990)
	add(40*time.Millisecond, 10)
	require.InDelta(t, float64(time.Millisecond), float64(quantile(&w, total, 0.5)), 0.25*float64(time.Millisecond))
	p99 := quantile(&w, total, 0.99)
	require.InDelta(t, float64(time.Millisecond), float64(p99), 0.25*float64(time.Millisecond), "p99 %s", p99)
	p995 := quantile(&w, total, 0.995)
	require.InDelta(t, float64(40*time.Millisecond), float64(p995), 0.25*float64(40*time.Millisecond), "p99.5 %s", p995)
}
