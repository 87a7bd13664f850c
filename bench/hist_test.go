package bench

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBucket_HighestBoundsItsValues(t *testing.T) {
	for _, v := range []int64{0, 1, subCount - 1, subCount, subCount + 1, 2*subCount - 1, 2 * subCount, 1e6, 123456789, maxValue} {
		i := bucket(v)
		require.GreaterOrEqual(t, highest(i), v, "v=%d", v)
		if i > 0 {
			require.Less(t, highest(i-1), v, "v=%d", v)
		}
		require.LessOrEqual(t, float64(highest(i)-v), float64(v)/float64(subCount/2), "v=%d", v)
	}
	require.Equal(t, numBuckets-1, bucket(maxValue))
}

// TestHistogram_QuantilesMatchSorted compares the quantiles with those of
// the sorted values, a naive reference.
func TestHistogram_QuantilesMatchSorted(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	h := NewHistogram()
	parts := []*Histogram{NewHistogram(), NewHistogram()}
	var vals []int64
	for i := range 20000 {
		v := int64(rng.ExpFloat64() * 200e3) // exponential, mean 200µs
		if i%1000 == 0 {
			v *= 1000 // a tail
		}
		vals = append(vals, v)
		parts[i%2].Record(time.Duration(v))
	}
	h.Merge(parts[0])
	h.Merge(parts[1])
	slices.Sort(vals)
	require.Equal(t, uint64(len(vals)), h.Count())
	require.Equal(t, time.Duration(vals[len(vals)-1]), h.Max())
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
		rank := max(int(float64(len(vals))*q+0.999999999)-1, 0)
		want := vals[rank]
		got := int64(h.Quantile(q))
		require.GreaterOrEqual(t, got, want, "q=%v", q)
		require.LessOrEqual(t, float64(got-want), float64(want)*0.002+1, "q=%v", q)
	}
}

func TestHistogram_Empty(t *testing.T) {
	h := NewHistogram()
	require.Zero(t, h.Quantile(0.99))
	require.Zero(t, h.Mean())
	h.Record(-time.Second)
	require.Zero(t, h.Quantile(1))
	h.Record(time.Hour) // beyond the range: counted as the largest
	require.Equal(t, time.Duration(maxValue), h.Max())
}

func TestHistogram_Distribution(t *testing.T) {
	h := NewHistogram()
	for i := range 1000 {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	d := h.Distribution(3, 4)
	require.Len(t, d, 3*4+2)
	require.Equal(t, 0.0, d[0].Fraction)
	for i := 1; i < len(d); i++ {
		require.GreaterOrEqual(t, d[i].Value, d[i-1].Value)
	}
	require.Equal(t, 999*time.Microsecond, d[len(d)-1].Value)
}
