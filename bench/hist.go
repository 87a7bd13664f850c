package bench

import (
	"math"
	"math/bits"
	"time"
)

// Histogram counts latencies in log-linear buckets, as HdrHistogram does:
// values below 2^subBits are exact, and above that every power of two is cut
// into 2^(subBits-1) equal buckets, so a reported value is within 1/2^(subBits-1)
// (0.2%) of every value counted in its bucket. Values are nanoseconds, from 0
// up to about 2^41 (36 minutes); larger ones are counted as the largest.
//
// A Histogram is not safe for concurrent use: give each goroutine its own
// and Merge them.
type Histogram struct {
	counts []uint64 // by bucket index; len numBuckets
	lo, hi int      // the buckets in use are within counts[lo:hi+1]; valid when total > 0
	total  uint64
	min    int64 // smallest value recorded; valid when total > 0
	max    int64 // largest value recorded, exact
	sum    float64
}

const (
	subBits    = 10
	subCount   = 1 << subBits // exact values below it; buckets per power of two above it: subCount/2
	maxShift   = 31           // values up to subCount<<maxShift (≈ 2^41 ns)
	numBuckets = subCount + maxShift*subCount/2
	maxValue   = int64(subCount)<<maxShift - 1
)

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram { return &Histogram{counts: make([]uint64, numBuckets)} }

// bucket returns the index of the bucket of v ≥ 0.
func bucket(v int64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - subBits // ≥ 1
	top := int(v >> shift)                   // in [subCount/2, subCount)
	return subCount + (shift-1)*subCount/2 + top - subCount/2
}

// highest returns the largest value of bucket i.
func highest(i int) int64 {
	if i < subCount {
		return int64(i)
	}
	shift := (i-subCount)/(subCount/2) + 1
	top := int64((i-subCount)%(subCount/2) + subCount/2)
	return (top+1)<<shift - 1
}

// Record counts one value; negative values count as 0.
func (h *Histogram) Record(d time.Duration) {
	v := min(max(int64(d), 0), maxValue)
	i := bucket(v)
	h.counts[i]++
	if h.total == 0 {
		h.lo, h.hi = i, i
	}
	h.lo, h.hi = min(h.lo, i), max(h.hi, i)
	if h.total == 0 || v < h.min {
		h.min = v
	}
	h.max = max(h.max, v)
	h.total++
	h.sum += float64(v)
}

// Merge adds the counts of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.total == 0 {
		return
	}
	for i := o.lo; i <= o.hi; i++ {
		h.counts[i] += o.counts[i]
	}
	if h.total == 0 {
		h.lo, h.hi = o.lo, o.hi
	}
	h.lo, h.hi = min(h.lo, o.lo), max(h.hi, o.hi)
	if h.total == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.total += o.total
	h.sum += o.sum
}

// Count returns the number of values recorded.
func (h *Histogram) Count() uint64 { return h.total }

// Max returns the largest value recorded, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean returns the mean of the values recorded.
func (h *Histogram) Mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.total))
}

// Quantile returns the value below or at which a fraction q of the values
// fall (q in [0, 1]), as the highest value of its bucket, capped by the
// largest value recorded; 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	rank = min(max(rank, 1), h.total)
	var seen uint64
	for i := h.lo; i <= h.hi; i++ {
		seen += h.counts[i]
		if seen >= rank {
			return time.Duration(min(highest(i), h.max))
		}
	}
	return time.Duration(h.max)
}

// Point is one step of a latency distribution: a fraction of the values
// are at or below Value.
type Point struct {
	Fraction float64
	Value    time.Duration
}

// Distribution returns the values at the quantiles 1 − 10^(−k/steps) for
// k = 0 … digits·steps (up to p99.99… with digits nines), then the maximum:
// the x positions of a latency-by-percentile plot.
func (h *Histogram) Distribution(digits, steps int) []Point {
	var out []Point
	for k := 0; k <= digits*steps; k++ {
		q := 1 - math.Pow(10, -float64(k)/float64(steps))
		out = append(out, Point{Fraction: q, Value: h.Quantile(q)})
	}
	return append(out, Point{Fraction: 1, Value: h.Max()})
}
