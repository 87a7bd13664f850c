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
			switch rng.IntN(4) {
			case 0:
				e.Kind, e.Weight = EventLeave, 0
			case 1:
				e.Kind, e.Weight, e.Stamp, e.Target, e.Digest = EventReady, 0, 1+e.Stamp, e.Stamp, rng.Uint64()
			case 2:
				e.Kind, e.Weight = EventDrained, 0
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
		With(Event{Stamp: 2, Node: "b", Kind: EventLeave}).
		With(Event{Stamp: 3, Node: "c", Kind: EventJoin, Weight: 2}).
		With(Event{Stamp: 4, Node: "c", Kind: EventReady, Target: 3, Digest: 77}).
		With(Event{Stamp: 5, Node: "b", Kind: EventDrained})
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
		if r, err := s.Active(3); err == nil && r.Next() != nil {
			_ = r.Gainers(r.Next(), 3)
		}
	})
}

// ready returns s with node's readiness for the ring of stamp target.
func ready(s State, node string, target uint64) State {
	steps, err := s.steps()
	if err != nil {
		panic(err)
	}
	var digest uint64
	for _, st := range steps {
		if st.stamp == target {
			digest = st.ring.Digest()
		}
	}
	return s.With(Event{Stamp: s.Stamp() + 1, Node: node, Kind: EventReady, Target: target, Digest: digest})
}

func activeNodes(t *testing.T, s State, n int) ([]string, bool) {
	t.Helper()
	r, err := s.Active(n)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, nd := range r.Nodes() {
		ids = append(ids, nd.ID)
	}
	return ids, r.Next() != nil
}

func TestState_ActiveFlipsWhenEveryGainerIsReady(t *testing.T) {
	s := State{Q: 64}
	for i, id := range []string{"a", "b", "c"} {
		s = s.With(Event{Stamp: uint64(i + 1), Node: id, Kind: EventJoin, Weight: 1})
	}
	// b and c each gain partitions from a's ring.
	if ids, pending := activeNodes(t, s, 3); !slices.Equal(ids, []string{"a"}) || !pending {
		t.Fatalf("active %v pending %v before anyone is ready, want [a] pending", ids, pending)
	}
	s = ready(s, "b", 3)
	if ids, _ := activeNodes(t, s, 3); !slices.Equal(ids, []string{"a"}) {
		t.Fatalf("flipped to %v with c not ready", ids)
	}
	// Readiness for the earlier change (b's join) lets the ring advance to it.
	s2 := ready(State{Q: 64}.With(s.Events[0]).With(s.Events[1]), "b", 2)
	if ids, pending := activeNodes(t, s2.Merge(State{Q: 64, Events: s.Events[2:3]}), 3); !slices.Equal(ids, []string{"a", "b"}) || !pending {
		t.Fatalf("b ready for its own join: active %v pending %v, want [a b] pending c", ids, pending)
	}
	s = ready(s, "c", 3)
	if ids, pending := activeNodes(t, s, 3); !slices.Equal(ids, []string{"a", "b", "c"}) || pending {
		t.Fatalf("all ready: active %v pending %v", ids, pending)
	}
	// A fourth node with N=3: the gainers include nodes other than the
	// joiner (replica sets shift), and readiness of the joiner alone
	// does not flip the ring.
	s = s.With(Event{Stamp: s.Stamp() + 1, Node: "d", Kind: EventJoin, Weight: 1})
	join := s.Stamp()
	r, _ := s.Active(3)
	gainers := r.Gainers(r.Next(), 3)
	if !slices.Contains(gainers, "d") {
		t.Fatalf("gainers %v lack the joiner", gainers)
	}
	for _, g := range gainers {
		if ids, _ := activeNodes(t, s, 3); slices.Contains(ids, "d") {
			t.Fatalf("flipped before %s was ready", g)
		}
		s = ready(s, g, join)
	}
	if ids, pending := activeNodes(t, s, 3); !slices.Contains(ids, "d") || pending {
		t.Fatalf("every gainer ready: active %v pending %v", ids, pending)
	}
	// Same events, any order of arrival: the same active ring.
	rev := State{Q: 64}
	for i := len(s.Events) - 1; i >= 0; i-- {
		rev = rev.Merge(State{Q: 64, Events: s.Events[i : i+1]})
	}
	a1, _ := s.Active(3)
	a2, _ := rev.Active(3)
	if !slices.Equal(a1.owners, a2.owners) {
		t.Fatal("the active ring depends on the order events arrived in")
	}
}

// TestState_ActiveBackToAnEarlierRing: b joins a (N=1), becomes ready and
// owns half the partitions, then leaves. The target ring is a's alone
// again, the same as before b joined; ownership must not flip back to a
// until a has pulled b's half.
func TestState_ActiveBackToAnEarlierRing(t *testing.T) {
	s := State{Q: 64}.With(Event{Stamp: 1, Node: "a", Kind: EventJoin, Weight: 1}).
		With(Event{Stamp: 2, Node: "b", Kind: EventJoin, Weight: 1})
	s = ready(s, "b", 2)
	if ids, pending := activeNodes(t, s, 1); !slices.Equal(ids, []string{"a", "b"}) || pending {
		t.Fatalf("after b is ready: active %v pending %v", ids, pending)
	}
	s = s.With(Event{Stamp: s.Stamp() + 1, Node: "b", Kind: EventLeave})
	leave := s.Stamp()
	if ids, pending := activeNodes(t, s, 1); !slices.Equal(ids, []string{"a", "b"}) || !pending {
		t.Fatalf("b left before a has its partitions: active %v pending %v, want [a b] pending", ids, pending)
	}
	s = ready(s, "a", leave)
	if ids, pending := activeNodes(t, s, 1); !slices.Equal(ids, []string{"a"}) || pending {
		t.Fatalf("a ready: active %v pending %v, want [a]", ids, pending)
	}
}

// pullAndReady simulates node's transfer in its own view of the state:
// it receives Inbound(active, next) and records readiness for that next
// ring, into dst. It returns the partitions it received.
func pullAndReady(t *testing.T, view State, dst *State, n int, node string) []int {
	t.Helper()
	r, err := view.Active(n)
	if err != nil {
		t.Fatal(err)
	}
	if r.Next() == nil {
		return nil
	}
	*dst = dst.With(Event{Stamp: max(view.Stamp(), dst.Stamp()) + 1, Node: node, Kind: EventReady,
		Target: r.NextStamp(), Digest: r.Next().Digest()})
	return r.Inbound(r.Next(), node, n)
}

// TestState_ConcurrentChangesSameStamp: a leave of d committed through one
// node and a join of e through another get the same stamp. Readiness the
// gainers recorded in a view holding one of the two changes is for a ring
// that is not the merged one, so it does not flip it; once the gainers of
// the merged change have pulled in the merged view, it flips, and every
// gainer has pulled every partition it gains (found by review).
func TestState_ConcurrentChangesSameStamp(t *testing.T) {
	for _, second := range []Event{
		{Node: "e", Kind: EventJoin, Weight: 1}, // a leave and a join
		{Node: "f", Kind: EventJoin, Weight: 1}, // two joins (below: with e's)
	} {
		const n = 3
		s := State{Q: 64}
		for i, id := range []string{"a", "b", "c", "d"} {
			s = s.With(Event{Stamp: uint64(i + 1), Node: id, Kind: EventJoin, Weight: 1})
		}
		for _, id := range []string{"a", "b", "c", "d"} {
			s = ready(s, id, 4)
		}
		base, _ := s.Active(n)
		first := Event{Stamp: s.Stamp() + 1, Node: "d", Kind: EventLeave}
		if second.Node == "f" {
			first = Event{Stamp: s.Stamp() + 1, Node: "e", Kind: EventJoin, Weight: 1}
		}
		second.Stamp = s.Stamp() + 1
		viaA, viaB := s.With(first), s.With(second)
		merged := viaA.Merge(viaB)
		// holds: the partitions whose data each node has.
		holds := map[string]map[int]bool{}
		add := func(node string, ps []int) {
			if holds[node] == nil {
				holds[node] = map[int]bool{}
			}
			for _, p := range ps {
				holds[node][p] = true
			}
		}
		for p := range base.owners {
			for _, h := range base.Homes(p, n) {
				add(h, []int{p})
			}
		}
		for _, v := range []State{viaA, viaB} {
			r, _ := v.Active(n)
			for _, g := range r.Gainers(r.Next(), n) {
				add(g, pullAndReady(t, v, &merged, n, g))
			}
		}
		// The gainers of what is left of the merged change pull in the
		// merged view, until it flips.
		for i := 0; ; i++ {
			r, _ := merged.Active(n)
			if r.Next() == nil {
				break
			}
			if i == 3 {
				t.Fatalf("%v + %v: every gainer ready three times over, and no flip", first, second)
			}
			for _, g := range r.Gainers(r.Next(), n) {
				add(g, pullAndReady(t, merged, &merged, n, g))
			}
		}
		final, _ := merged.Active(n)
		target, _ := merged.Ring()
		if !slices.Equal(final.owners, target.owners) {
			t.Fatalf("%v + %v: flipped to a ring other than the target", first, second)
		}
		for p := range final.owners {
			for _, h := range final.Homes(p, n) {
				if !holds[h][p] {
					t.Fatalf("%v + %v: flipped with home %s lacking partition %d", first, second, h, p)
				}
			}
		}
	}
}

// TestState_DepartedAndUndrained: a node that leaves is departed (hints
// for it belong to its keys' homes) and undrained until it records
// EventDrained; a departed node that joins again is neither.
func TestState_DepartedAndUndrained(t *testing.T) {
	s := State{Q: 64}
	for i, id := range []string{"a", "b", "c"} {
		s = s.With(Event{Stamp: uint64(i + 1), Node: id, Kind: EventJoin, Weight: 1})
	}
	s = s.With(Event{Stamp: 4, Node: "c", Kind: EventLeave})
	r, _ := s.Active(3)
	if !slices.Equal(r.Departed(), []string{"c"}) || !slices.Equal(r.Undrained(), []string{"c"}) {
		t.Fatalf("after c left: departed %v undrained %v", r.Departed(), r.Undrained())
	}
	s = s.With(Event{Stamp: 5, Node: "c", Kind: EventDrained})
	if r, _ = s.Active(3); !slices.Equal(r.Departed(), []string{"c"}) || len(r.Undrained()) != 0 {
		t.Fatalf("after c drained: departed %v undrained %v", r.Departed(), r.Undrained())
	}
	s = s.With(Event{Stamp: 6, Node: "c", Kind: EventJoin, Weight: 1})
	if r, _ = s.Active(3); len(r.Departed()) != 0 || len(r.Undrained()) != 0 || s.IsDrained("c") {
		t.Fatalf("after c joined again: departed %v undrained %v", r.Departed(), r.Undrained())
	}
}

// TestFolder_MatchesActive: a Folder fed a state that grows one event at a
// time (in stamp order, or out of it) computes what State.Active does.
func TestFolder_MatchesActive(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for round := 0; round < 20; round++ {
		var f Folder
		s := State{Q: 64}
		for i := 0; i < 30; i++ {
			var e Event
			node := string(rune('a' + rng.IntN(6)))
			stamp := s.Stamp() + 1
			if rng.IntN(4) == 0 && stamp > 2 {
				stamp = 1 + rng.Uint64N(stamp-1) // arrives late, sorts among the others
			}
			switch r, err := s.Active(3); {
			case err == nil && r.Next() != nil && rng.IntN(2) == 0:
				g := r.Gainers(r.Next(), 3)
				e = Event{Stamp: s.Stamp() + 1, Node: g[rng.IntN(len(g))], Kind: EventReady, Target: r.NextStamp(), Digest: r.Next().Digest()}
			case rng.IntN(3) == 0:
				e = Event{Stamp: stamp, Node: node, Kind: EventLeave}
			default:
				e = Event{Stamp: stamp, Node: node, Kind: EventJoin, Weight: 1 + rng.IntN(2)}
			}
			s = s.With(e)
			want, werr := s.Active(3)
			got, gerr := f.Active(s, 3)
			if (werr == nil) != (gerr == nil) {
				t.Fatalf("errors differ: %v vs %v", werr, gerr)
			}
			if werr != nil {
				continue
			}
			if !slices.Equal(want.owners, got.owners) || !slices.Equal(want.Members(), got.Members()) ||
				want.NextStamp() != got.NextStamp() || !slices.Equal(want.Undrained(), got.Undrained()) {
				t.Fatalf("round %d event %d (%+v): folder differs from Active", round, i, e)
			}
		}
	}
}
