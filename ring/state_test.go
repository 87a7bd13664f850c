package ring

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestState_ConcurrentJoinsConverge(t *testing.T) {
	base := State{Q: 64}.With(Event{Stamp: 1, Node: "a", Kind: EventJoin, Weight: 1})
	// b and c join through different seeds, both at stamp 2.
	viaA := base.With(Event{Stamp: 2, Node: "b", Kind: EventJoin, Weight: 1})
	viaB := base.With(Event{Stamp: 2, Node: "c", Kind: EventJoin, Weight: 2})
	m1, m2 := viaA.Merge(viaB), viaB.Merge(viaA)
	r1, err := m1.Ring()
	if err != nil {
		t.Fatal(err)
	}
	r2, err := m2.Ring()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r1.owners, r2.owners) || len(r1.Nodes()) != 3 {
		t.Fatalf("merged states disagree: %v vs %v", r1.Claims(), r2.Claims())
	}
}

func TestState_JoinThenLeaveMatchesRing(t *testing.T) {
	s := State{Q: 256}
	want, _ := New(256, nodes(4)...)
	for i, n := range nodes(4) {
		s = s.With(Event{Stamp: uint64(i + 1), Node: n.ID, Kind: EventJoin, Weight: 1})
	}
	got, err := s.Ring()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.owners, want.owners) {
		t.Fatal("state fold differs from sequential joins")
	}
	s = s.With(Event{Stamp: 9, Node: "node-02", Kind: EventLeave})
	got, _ = s.Ring()
	want, _ = want.Leave("node-02")
	if !slices.Equal(got.owners, want.owners) || s.Member("node-02") {
		t.Fatal("leave not applied")
	}
}

func TestState_EncodeRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		s := State{Q: 1 << rng.IntN(15)}
		for j := 0; j < rng.IntN(10); j++ {
			e := Event{Stamp: rng.Uint64N(20), Node: string(rune('a' + rng.IntN(26))), Kind: EventJoin, Weight: 1 + rng.IntN(5)}
			if rng.IntN(3) == 0 {
				e.Kind, e.Weight = EventLeave, 0
			}
			s = s.With(e)
		}
		got, err := DecodeState(s.Encode())
		if err != nil {
			t.Fatalf("decode %+v: %v", s, err)
		}
		if got.Q != s.Q || !slices.Equal(got.Events, s.Events) {
			t.Fatalf("round trip: got %+v, want %+v", got, s)
		}
	}
}

func FuzzDecodeState(f *testing.F) {
	s := State{Q: 64}.With(Event{Stamp: 1, Node: "a", Kind: EventJoin, Weight: 1}).
		With(Event{Stamp: 2, Node: "b", Kind: EventLeave})
	f.Add(s.Encode())
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeState(b)
		if err != nil {
			return
		}
		again, err := DecodeState(s.Encode())
		if err != nil || again.Q != s.Q || !slices.Equal(again.Events, s.Events) {
			t.Fatalf("re-encode of a decoded state differs")
		}
		_, _ = s.Ring() // must not panic
	})
}
