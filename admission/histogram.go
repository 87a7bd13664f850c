package admission

import (
	"math/bits"
	"time"
)

// Latencies are counted in units of 1.024 µs (a Duration shifted right by
// 10) in log-linear buckets: one per unit below 8 units, then subBuckets
// per power of two, each at most 25% wide. The last bucket, from about
// 29 s, also holds every longer latency.
const (
	subBuckets = 4
	buckets    = 96
	unitShift  = 10
)

// bucketOf returns the bucket of latency d.
func bucketOf(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	u := uint64(d) >> unitShift
	if u < 2*subBuckets {
		return int(u)
	}
	shift := bits.Len64(u) - 3 // u>>shift is in [4, 8)
	return min(shift*subBuckets+int(u>>shift), buckets-1)
}

// bounds returns the latencies bucket i holds: from lo up to, not
// including, hi (for the last bucket, hi bounds only what bucketOf
// does not cap).
func bounds(i int) (lo, hi time.Duration) {
	if i < 2*subBuckets {
		return time.Duration(i) << unitShift, time.Duration(i+1) << unitShift
	}
	shift := i/subBuckets - 1
	m := uint64(i%subBuckets + subBuckets)
	return time.Duration(m<<shift) << unitShift, time.Duration((m+1)<<shift) << unitShift
}

// quantile returns the q-quantile of the weights w, whose sum is total
// (> 0), interpolated linearly within its bucket.
func quantile(w *[buckets]float64, total, q float64) time.Duration {
	rank := q * total
	cum := 0.0
	for i, x := range w {
		if x == 0 || cum+x < rank {
			cum += x
			continue
		}
		lo, hi := bounds(i)
		return lo + time.Duration((rank-cum)/x*float64(hi-lo))
	}
	_, hi := bounds(buckets - 1) // rounding left rank past the sum
	return hi
}
