package version

import (
	"bytes"
	"flag"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var seedFlag = flag.Uint64("version.seed", 0, "seed of the randomized tests of package version; 0 draws one")

// newRand returns a seeded generator and logs the seed so that a failure
// can be replayed with -version.seed.
func newRand(t testing.TB) *rand.Rand {
	t.Helper()
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -version.seed=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// refVV is the naive reference of a version vector: absent actors are 0 and
// are never stored.
type refVV map[Actor]uint64

func toRef(v VV) refVV {
	m := refVV{}
	for _, e := range v {
		m[e.Actor] = e.Counter
	}
	return m
}

func fromRef(m refVV) VV {
	var v VV
	for _, a := range slices.Sorted(maps.Keys(m)) {
		if m[a] > 0 {
			v = append(v, Entry{Actor: a, Counter: m[a]})
		}
	}
	return v
}

// randVV draws a vector over actors [1, actors] with counters in [0,
// maxCounter] (0 meaning absent). Small ranges make equal and ordered pairs
// common.
func randVV(r *rand.Rand, actors int, maxCounter uint64) VV {
	m := refVV{}
	for a := 1; a <= actors; a++ {
		if c := r.Uint64N(maxCounter + 1); c > 0 {
			m[Actor(a)] = c
		}
	}
	return fromRef(m)
}

// wideVV draws a vector with arbitrary 64-bit actors and counters.
func wideVV(r *rand.Rand, n int) VV {
	m := refVV{}
	for range n {
		c := r.Uint64()
		if r.IntN(4) == 0 {
			c = r.Uint64N(300)
		}
		m[Actor(r.Uint64())] = max(c, 1)
	}
	return fromRef(m)
}

// canonVV maps nil and empty vectors to nil so that equal vectors compare
// equal with require.Equal.
func canonVV(v VV) VV {
	if len(v) == 0 {
		return nil
	}
	return slices.Clone(v)
}

// canon returns a deep copy of ss with empty slices as nil.
func canonSibs(ss Siblings) Siblings {
	if len(ss) == 0 {
		return nil
	}
	out := make(Siblings, len(ss))
	for i, s := range ss {
		s.Past = canonVV(s.Past)
		if len(s.Value) == 0 {
			s.Value = nil
		} else {
			s.Value = bytes.Clone(s.Value)
		}
		out[i] = s
	}
	return out
}

// dots returns the dots of ss in order.
func dotsOf(ss Siblings) []Dot {
	var out []Dot
	for _, s := range ss {
		out = append(out, s.Dot)
	}
	return out
}

// checkInvariants asserts the invariants doc.go states for a sibling set.
func checkInvariants(t testing.TB, ss Siblings) {
	t.Helper()
	for i, s := range ss {
		require.NotZero(t, s.Dot.Counter, "sibling %d has counter 0", i)
		require.True(t, s.Past.Valid(), "sibling %d: Past %v is not a valid vector", i, s.Past)
		require.False(t, s.Past.Covers(s.Dot), "sibling %d: Past %v covers its own dot %v", i, s.Past, s.Dot)
		require.False(t, s.Tombstone && len(s.Value) > 0, "sibling %d: tombstone with a value", i)
		if i > 0 {
			require.Negative(t, ss[i-1].Dot.Compare(s.Dot), "siblings %d and %d are not sorted by dot, or share one", i-1, i)
		}
		for j, o := range ss {
			require.False(t, o.Past.Covers(s.Dot), "sibling %d (%v) is covered by the Past %v of sibling %d", i, s.Dot, o.Past, j)
		}
	}
}

// randSiblings draws a set that satisfies the Siblings invariants (but is not
// necessarily reachable by Update and Sync).
func randSiblings(r *rand.Rand, n int) Siblings { return normalizeSibs(randPool(r, n)) }

// randPool draws siblings with distinct dots over a few actors, random pasts
// (never covering their own dot), values and tombstones. Unlike a Siblings
// set, some may be written over others.
func randPool(r *rand.Rand, n int) Siblings {
	var ss Siblings
	for range n {
		d := Dot{Actor: Actor(1 + r.IntN(4)), Counter: 1 + r.Uint64N(6)}
		m := toRef(randVV(r, 4, 6))
		if m[d.Actor] >= d.Counter {
			m[d.Actor] = d.Counter - 1
		}
		ss = append(ss, randSibling(r, d, fromRef(m)))
	}
	slices.SortStableFunc(ss, func(a, b Sibling) int { return a.Dot.Compare(b.Dot) })
	return slices.CompactFunc(ss, func(a, b Sibling) bool { return a.Dot == b.Dot })
}

func randSibling(r *rand.Rand, d Dot, past VV) Sibling {
	s := Sibling{Dot: d, Past: past, Timestamp: r.Int64N(20) - 5}
	if r.IntN(5) == 0 {
		s.Tombstone = true
	} else {
		s.Value = make([]byte, r.IntN(12))
		for i := range s.Value {
			s.Value[i] = byte('a' + r.IntN(26))
		}
		if len(s.Value) == 0 {
			s.Value = nil
		}
	}
	return s
}

// normalize sorts ss, keeps the first of equal dots and drops every sibling
// another one's Past covers, which establishes the Siblings invariants.
func normalizeSibs(ss Siblings) Siblings {
	ss = slices.Clone(ss)
	slices.SortStableFunc(ss, func(a, b Sibling) int { return a.Dot.Compare(b.Dot) })
	ss = slices.CompactFunc(ss, func(a, b Sibling) bool { return a.Dot == b.Dot })
	var out Siblings
	for _, s := range ss {
		covered := false
		for _, o := range ss {
			covered = covered || o.Past.Covers(s.Dot)
		}
		if !covered {
			out = append(out, s)
		}
	}
	return out
}

// values returns the values of the live siblings of ss in dot order.
func liveValues(ss Siblings) []string {
	var out []string
	for _, s := range ss.Live() {
		out = append(out, string(s.Value))
	}
	return out
}
