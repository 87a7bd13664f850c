package history

import (
	"slices"
	"time"
)

// Avail counts operations and how many succeeded, overall and on the
// majority side (sent to nodes outside the fault's minority).
type Avail struct {
	Ops, OK                 int
	MajorityOps, MajorityOK int
}

// Add counts op, on the majority side if majority.
func (a *Avail) Add(op Op, majority bool) {
	a.Ops++
	ok := op.Outcome == OK
	if ok {
		a.OK++
	}
	if majority {
		a.MajorityOps++
		if ok {
			a.MajorityOK++
		}
	}
}

// Fraction returns OK/Ops (1 without operations).
func (a Avail) Fraction() float64 { return frac(a.OK, a.Ops) }

// MajorityFraction returns MajorityOK/MajorityOps (1 without operations).
func (a Avail) MajorityFraction() float64 { return frac(a.MajorityOK, a.MajorityOps) }

func frac(n, d int) float64 {
	if d == 0 {
		return 1
	}
	return float64(n) / float64(d)
}

// Span is a fault as availability sees it: its kind, when it was active
// and the nodes on its minority side (those a client should expect to fail
// on).
type Span[K comparable] struct {
	Kind       K
	Start, End time.Time
	Minority   []string
}

// Availability is what Tally measured.
type Availability[K comparable] struct {
	// ByKind counts the operations in flight while a fault of the kind was
	// active, on the majority side when sent to a node outside the fault's
	// minority. An operation counts once for every fault it overlapped.
	ByKind map[K]*Avail // never nil
	// During counts as ByKind does, over every kind.
	During Avail
	// Calm counts the operations that overlapped no fault, all on the
	// majority side.
	Calm Avail
}

// Tally measures the availability of ops under the faults spans.
func Tally[K comparable](ops []Op, spans []Span[K]) Availability[K] {
	av := Availability[K]{ByKind: map[K]*Avail{}}
	for _, op := range ops {
		calm := true
		for _, s := range spans {
			if !op.Overlaps(s.Start, s.End) {
				continue
			}
			calm = false
			a := av.ByKind[s.Kind]
			if a == nil {
				a = &Avail{}
				av.ByKind[s.Kind] = a
			}
			majority := !slices.Contains(s.Minority, op.Node)
			a.Add(op, majority)
			av.During.Add(op, majority)
		}
		if calm {
			av.Calm.Add(op, true)
		}
	}
	return av
}
