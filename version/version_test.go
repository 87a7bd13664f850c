package version

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// Reference semantics of version vectors, written as plainly as possible
// over maps.

func refGet(m refVV, a Actor) uint64 { return m[a] }

func refJoin(a, b refVV) refVV {
	out := refVV{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = max(out[k], v)
	}
	return out
}

func refDescends(a, b refVV) bool {
	for k, v := range b {
		if a[k] < v {
			return false
		}
	}
	return true
}

func refCompare(a, b refVV) Ordering {
	switch ge, le := refDescends(a, b), refDescends(b, a); {
	case ge && le:
		return Equal
	case ge:
		return After
	case le:
		return Before
	default:
		return Concurrent
	}
}

func reverseOrdering(o Ordering) Ordering {
	switch o {
	case Before:
		return After
	case After:
		return Before
	default:
		return o
	}
}

func TestVV_Table(t *testing.T) {
	a, b, c := Actor(1), Actor(2), Actor(3)
	tests := []struct {
		name     string
		v, o     VV
		join     VV
		descends bool // v.Descends(o)
		compare  Ordering
	}{
		{name: "both empty", v: nil, o: VV{}, join: nil, descends: true, compare: Equal},
		{name: "empty before non-empty", v: nil, o: VV{{a, 1}}, join: VV{{a, 1}}, descends: false, compare: Before},
		{name: "non-empty after empty", v: VV{{a, 1}}, o: nil, join: VV{{a, 1}}, descends: true, compare: After},
		{name: "equal", v: VV{{a, 2}, {c, 1}}, o: VV{{a, 2}, {c, 1}}, join: VV{{a, 2}, {c, 1}}, descends: true, compare: Equal},
		{name: "same actors, higher counter", v: VV{{a, 3}}, o: VV{{a, 2}}, join: VV{{a, 3}}, descends: true, compare: After},
		{name: "extra actor", v: VV{{a, 1}, {b, 1}}, o: VV{{a, 1}}, join: VV{{a, 1}, {b, 1}}, descends: true, compare: After},
		{name: "disjoint actors", v: VV{{a, 1}}, o: VV{{b, 1}}, join: VV{{a, 1}, {b, 1}}, descends: false, compare: Concurrent},
		{name: "crossed counters", v: VV{{a, 2}, {b, 1}}, o: VV{{a, 1}, {b, 2}}, join: VV{{a, 2}, {b, 2}}, descends: false, compare: Concurrent},
		{name: "interleaved actors", v: VV{{a, 1}, {c, 5}}, o: VV{{b, 4}, {c, 6}}, join: VV{{a, 1}, {b, 4}, {c, 6}}, descends: false, compare: Concurrent},
		{name: "extreme values", v: VV{{0, math.MaxUint64}, {math.MaxUint64, 1}}, o: VV{{0, 1}}, join: VV{{0, math.MaxUint64}, {math.MaxUint64, 1}}, descends: true, compare: After},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, canonVV(tt.join), canonVV(tt.v.Join(tt.o)))
			require.Equal(t, tt.descends, tt.v.Descends(tt.o))
			require.Equal(t, tt.compare, tt.v.Compare(tt.o))
			require.Equal(t, reverseOrdering(tt.compare), tt.o.Compare(tt.v))
		})
	}
}

func TestVV_GetCoversWith(t *testing.T) {
	v := VV{{1, 3}, {5, 1}, {9, 7}}
	tests := []struct {
		name   string
		dot    Dot
		get    uint64
		covers bool
		with   VV
	}{
		{name: "known actor below", dot: Dot{1, 2}, get: 3, covers: true, with: v},
		{name: "known actor equal", dot: Dot{1, 3}, get: 3, covers: true, with: v},
		{name: "known actor above", dot: Dot{1, 4}, get: 3, covers: false, with: VV{{1, 4}, {5, 1}, {9, 7}}},
		{name: "unknown actor first", dot: Dot{0, 1}, get: 0, covers: false, with: VV{{0, 1}, {1, 3}, {5, 1}, {9, 7}}},
		{name: "unknown actor middle", dot: Dot{6, 2}, get: 0, covers: false, with: VV{{1, 3}, {5, 1}, {6, 2}, {9, 7}}},
		{name: "unknown actor last", dot: Dot{10, 1}, get: 0, covers: false, with: VV{{1, 3}, {5, 1}, {9, 7}, {10, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.get, v.Get(tt.dot.Actor))
			require.Equal(t, tt.covers, v.Covers(tt.dot))
			require.Equal(t, tt.with, v.With(tt.dot))
			require.Equal(t, VV{{1, 3}, {5, 1}, {9, 7}}, v, "receiver modified")
		})
	}
	t.Run("empty vector", func(t *testing.T) {
		var empty VV
		require.Zero(t, empty.Get(1))
		require.False(t, empty.Covers(Dot{1, 1}))
		require.Equal(t, VV{{1, 1}}, empty.With(Dot{1, 1}))
	})
}

// TestVV_MatchesReference checks every operation against the map reference
// on random vectors, and the algebraic laws of Join and Compare.
func TestVV_MatchesReference(t *testing.T) {
	r := newRand(t)
	shapes := []struct {
		name       string
		actors     int
		maxCounter uint64
	}{
		{name: "dense small", actors: 3, maxCounter: 2},
		{name: "sparse", actors: 8, maxCounter: 3},
		{name: "long counters", actors: 4, maxCounter: 1 << 40},
	}
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			gen := func() VV { return randVV(r, sh.actors, sh.maxCounter) }
			counts := map[Ordering]int{}
			for range 3000 {
				a, b, c := gen(), gen(), gen()
				ma, mb, mc := toRef(a), toRef(b), toRef(c)
				aCopy, bCopy := canonVV(a), canonVV(b)

				for x := range Actor(sh.actors + 2) {
					require.Equal(t, refGet(ma, x), a.Get(x), "Get(%d) of %v", x, a)
					d := Dot{Actor: x, Counter: 1 + r.Uint64N(sh.maxCounter+1)}
					require.Equal(t, ma[x] >= d.Counter, a.Covers(d), "%v.Covers(%v)", a, d)
					w := a.With(d)
					want := refJoin(ma, refVV{d.Actor: d.Counter})
					require.Equal(t, want, toRef(w), "%v.With(%v)", a, d)
					require.True(t, w.Valid(), "%v.With(%v) = %v is not valid", a, d, w)
					require.True(t, w.Covers(d))
				}

				j := a.Join(b)
				require.True(t, j.Valid(), "%v.Join(%v) = %v is not valid", a, b, j)
				require.Equal(t, refJoin(ma, mb), toRef(j), "%v.Join(%v)", a, b)
				require.Equal(t, canonVV(j), canonVV(b.Join(a)), "Join not commutative on %v, %v", a, b)
				require.Equal(t, canonVV(j.Join(c)), canonVV(a.Join(b.Join(c))), "Join not associative on %v, %v, %v", a, b, c)
				require.Equal(t, canonVV(a), canonVV(a.Join(a)), "Join not idempotent on %v", a)
				require.True(t, j.Descends(a) && j.Descends(b), "Join %v is not an upper bound of %v, %v", j, a, b)
				if c.Descends(a) && c.Descends(b) {
					require.True(t, c.Descends(j), "Join %v of %v, %v is not the least upper bound (%v)", j, a, b, c)
				}

				require.Equal(t, refDescends(ma, mb), a.Descends(b), "%v.Descends(%v)", a, b)
				require.Equal(t, refDescends(ma, mc), a.Descends(c), "%v.Descends(%v)", a, c)
				o := a.Compare(b)
				counts[o]++
				require.Equal(t, refCompare(ma, mb), o, "%v.Compare(%v)", a, b)
				require.Equal(t, reverseOrdering(o), b.Compare(a), "Compare not antisymmetric on %v, %v", a, b)
				require.Equal(t, Equal, a.Compare(a))
				require.Equal(t, o == Equal, slicesEqual(a, b), "Equal iff identical: %v, %v", a, b)
				if a.Compare(b) == Before && b.Compare(c) == Before {
					require.Equal(t, Before, a.Compare(c), "Before not transitive on %v, %v, %v", a, b, c)
				}

				require.Equal(t, aCopy, canonVV(a), "receiver modified")
				require.Equal(t, bCopy, canonVV(b), "argument modified")
			}
			t.Logf("orderings seen: %v", counts)
			if sh.name == "dense small" {
				for _, o := range []Ordering{Equal, Before, After, Concurrent} {
					require.Positive(t, counts[o], "ordering %d never drawn: the generator is too narrow", o)
				}
			}
		})
	}
}

func slicesEqual(a, b VV) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestVV_JoinDoesNotAlias checks that Join and With return fresh slices:
// writing to the result must not change an operand.
func TestVV_JoinDoesNotAlias(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100 {
		a, b := randVV(r, 4, 3), randVV(r, 4, 3)
		ac, bc := canonVV(a), canonVV(b)
		j := a.Join(b)
		for i := range j {
			j[i].Counter += 100
		}
		w := a.With(Dot{Actor: 1, Counter: 1})
		for i := range w {
			w[i].Counter += 100
		}
		require.Equal(t, ac, canonVV(a))
		require.Equal(t, bc, canonVV(b))
	}
}
