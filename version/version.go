package version

import (
	"cmp"
	"slices"
)

// Actor identifies the coordinator of a write: one incarnation of one
// node's data directory. It is drawn at random when a data directory is
// created (see Store.Actor).
type Actor uint64

// Dot names one write: the actor that coordinated it and the actor's
// counter for the key, which grows by one with every write the actor
// coordinates on that key.
type Dot struct {
	Actor   Actor
	Counter uint64 // > 0
}

// Compare orders dots by actor, then counter.
func (d Dot) Compare(o Dot) int {
	if c := cmp.Compare(d.Actor, o.Actor); c != 0 {
		return c
	}
	return cmp.Compare(d.Counter, o.Counter)
}

// Entry is one component of a version vector.
type Entry struct {
	Actor   Actor
	Counter uint64 // > 0
}

// VV is a version vector: for each actor, the highest counter known.
// Entries are sorted by Actor, unique, and have Counter > 0. The zero value
// is the empty vector. Methods never modify the receiver.
type VV []Entry

// Get returns the counter of actor a, or 0.
func (v VV) Get(a Actor) uint64 {
	i, ok := slices.BinarySearchFunc(v, a, func(e Entry, a Actor) int { return cmp.Compare(e.Actor, a) })
	if !ok {
		return 0
	}
	return v[i].Counter
}

// Covers reports whether v includes the write named by d.
func (v VV) Covers(d Dot) bool { return v.Get(d.Actor) >= d.Counter }

// With returns a copy of v with the entry of d.Actor raised to d.Counter.
func (v VV) With(d Dot) VV {
	one := [1]Entry{{Actor: d.Actor, Counter: d.Counter}}
	return v.Join(one[:])
}

// Join returns the pointwise maximum of v and o, in a new slice.
func (v VV) Join(o VV) VV {
	out := make(VV, 0, len(v)+len(o))
	i, j := 0, 0
	for i < len(v) || j < len(o) {
		switch {
		case j >= len(o) || (i < len(v) && v[i].Actor < o[j].Actor):
			out = append(out, v[i])
			i++
		case i >= len(v) || o[j].Actor < v[i].Actor:
			out = append(out, o[j])
			j++
		default:
			out = append(out, Entry{Actor: v[i].Actor, Counter: max(v[i].Counter, o[j].Counter)})
			i++
			j++
		}
	}
	return out
}

// Descends reports whether v includes everything o includes (v ≥ o).
func (v VV) Descends(o VV) bool {
	for _, e := range o {
		if v.Get(e.Actor) < e.Counter {
			return false
		}
	}
	return true
}

// Ordering is the result of comparing two version vectors.
type Ordering int

const (
	// Equal: both include exactly the same writes.
	Equal Ordering = iota
	// Before: the receiver is strictly included in the argument.
	Before
	// After: the receiver strictly includes the argument.
	After
	// Concurrent: neither includes the other.
	Concurrent
)

// Compare returns how v relates to o.
func (v VV) Compare(o VV) Ordering {
	ge, le := v.Descends(o), o.Descends(v)
	switch {
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

// Valid reports whether v is sorted, unique and has positive counters.
func (v VV) Valid() bool {
	for i, e := range v {
		if e.Counter == 0 || (i > 0 && v[i-1].Actor >= e.Actor) {
			return false
		}
	}
	return true
}
