package ring

import (
	"fmt"
	"testing"
)

// history returns the state of an 8-node cluster (Q=1024, N=3) that has
// seen k node replacements (a leave and a join), every change complete.
func history(b *testing.B, k int) State {
	b.Helper()
	const n = 3
	s := State{Q: DefaultPartitions}
	readyAll := func(s State) State {
		r, err := s.Active(n)
		if err != nil {
			b.Fatal(err)
		}
		if r.Next() == nil {
			return s
		}
		for _, g := range r.Gainers(r.Next(), n) {
			s = s.With(Event{Stamp: s.Stamp() + 1, Node: g, Kind: EventReady, Target: r.NextStamp(), Digest: r.Next().Digest()})
		}
		return s
	}
	for i := 0; i < 8; i++ {
		s = s.With(Event{Stamp: s.Stamp() + 1, Node: fmt.Sprintf("n%d", i), Kind: EventJoin, Weight: 1})
	}
	s = readyAll(s)
	for i := 0; i < k; i++ {
		s = readyAll(s.With(Event{Stamp: s.Stamp() + 1, Node: fmt.Sprintf("n%d", i), Kind: EventLeave}))
		s = readyAll(s.With(Event{Stamp: s.Stamp() + 1, Node: fmt.Sprintf("n%d", i+8), Kind: EventJoin, Weight: 1}))
	}
	return s
}

// BenchmarkActive measures the fold of a long history from scratch
// (State.Active) and, as gossip merges do, by a Folder that has seen all
// but the last event (a readiness record). Run:
//
//	go test ./ring -run XXX -bench Active
func BenchmarkActive(b *testing.B) {
	for _, k := range []int{10, 50} {
		s := history(b, k)
		b.Run(fmt.Sprintf("scratch-%d-events", len(s.Events)), func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Active(3); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("folder-%d-events", len(s.Events)), func(b *testing.B) {
			prev := State{Q: s.Q, Events: s.Events[:len(s.Events)-1]}
			for b.Loop() {
				var f Folder
				b.StopTimer()
				if _, err := f.Active(prev, 3); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := f.Active(s, 3); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
