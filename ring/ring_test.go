package ring

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func nodes(n int) []Node {
	out := make([]Node, n)
	for i := range out {
		out[i] = Node{ID: fmt.Sprintf("node-%02d", i), Weight: 1}
	}
	return out
}

func mustNew(t *testing.T, q int, ns ...Node) *Ring {
	t.Helper()
	r, err := New(q, ns...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// load returns, per node, the partitions it is primary for and those it is
// one of the first n replicas of.
func load(r *Ring, n int) (primary, total map[string]int) {
	primary, total = map[string]int{}, map[string]int{}
	for p := 0; p < r.Partitions(); p++ {
		pl := r.PreferenceList(p)
		primary[pl[0]]++
		for _, id := range pl[:min(n, len(pl))] {
			total[id]++
		}
	}
	return primary, total
}

func checkBalanced(t *testing.T, what string, counts map[string]int, weights map[string]int, tol float64) {
	t.Helper()
	sum, wsum := 0, 0
	for id, c := range counts {
		sum += c
		wsum += weights[id]
	}
	for id, w := range weights {
		want := float64(sum) * float64(w) / float64(wsum)
		if dev := math.Abs(float64(counts[id])-want) / want; dev > tol {
			t.Errorf("%s: node %s has %d, want %.1f ±%.0f%% (off by %.1f%%)", what, id, counts[id], want, tol*100, dev*100)
		}
	}
}

func weightsOf(r *Ring) map[string]int {
	m := map[string]int{}
	for _, n := range r.Nodes() {
		m[n.ID] = n.Weight
	}
	return m
}

func TestRing_LoadWithinTenPercent(t *testing.T) {
	for _, size := range []int{3, 5, 16, 64} {
		t.Run(fmt.Sprintf("%d nodes", size), func(t *testing.T) {
			r := mustNew(t, DefaultPartitions, nodes(size)...)
			primary, total := load(r, 3)
			checkBalanced(t, "primary", primary, weightsOf(r), 0.10)
			checkBalanced(t, "total", total, weightsOf(r), 0.10)
		})
	}
}

func TestRing_HeterogeneousWeightsAreProportional(t *testing.T) {
	ns := nodes(16)
	for i := range ns {
		ns[i].Weight = 1 + i%4 // weights 1..4
	}
	r := mustNew(t, DefaultPartitions, ns...)
	primary, _ := load(r, 3)
	checkBalanced(t, "primary", primary, weightsOf(r), 0.10)
}

func TestRing_MembershipChangeMovesNearIdealShare(t *testing.T) {
	for _, size := range []int{16, 64} {
		r := mustNew(t, DefaultPartitions, nodes(size)...)
		q := float64(r.Partitions())
		t.Run(fmt.Sprintf("join to %d", size+1), func(t *testing.T) {
			next, err := r.Join(Node{ID: "new", Weight: 1})
			if err != nil {
				t.Fatal(err)
			}
			ideal := q / float64(size+1)
			if moved := len(r.Moves(next)); float64(moved) > 1.2*ideal {
				t.Errorf("join moved %d partitions, ideal %.1f", moved, ideal)
			}
			checkBalanced(t, "primary after join", counts(next), weightsOf(next), 0.10)
		})
		t.Run(fmt.Sprintf("leave from %d", size), func(t *testing.T) {
			next, err := r.Leave("node-03")
			if err != nil {
				t.Fatal(err)
			}
			ideal := q / float64(size)
			if moved := len(r.Moves(next)); float64(moved) > 1.2*ideal {
				t.Errorf("leave moved %d partitions, ideal %.1f", moved, ideal)
			}
			if next.Has("node-03") || len(next.Claims()["node-03"]) != 0 {
				t.Errorf("node-03 still in the ring")
			}
			checkBalanced(t, "primary after leave", counts(next), weightsOf(next), 0.10)
		})
	}
}

func counts(r *Ring) map[string]int {
	m := map[string]int{}
	for id, ps := range r.Claims() {
		m[id] = len(ps)
	}
	return m
}

// TestPreferenceList_Reference checks preference lists against a naive
// reference: the distinct owners met walking clockwise, then everyone else.
func TestPreferenceList_Reference(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for trial := 0; trial < 50; trial++ {
		r := mustNew(t, 1<<(1+rng.IntN(8)), nodes(1+rng.IntN(12))...)
		for p := 0; p < r.Partitions(); p++ {
			var want []string
			for i := 0; i < r.Partitions(); i++ {
				if o := r.Owner((p + i) % r.Partitions()); !slices.Contains(want, o) {
					want = append(want, o)
				}
			}
			for _, n := range r.Nodes() {
				if !slices.Contains(want, n.ID) {
					want = append(want, n.ID)
				}
			}
			if got := r.PreferenceList(p); !slices.Equal(got, want) {
				t.Fatalf("partition %d: got %v, want %v", p, got, want)
			}
		}
	}
}

func TestRing_Deterministic(t *testing.T) {
	a := mustNew(t, DefaultPartitions, nodes(10)...)
	b := mustNew(t, DefaultPartitions, nodes(10)...)
	if !slices.Equal(a.owners, b.owners) {
		t.Fatal("same joins gave different rings")
	}
}

func TestRing_Errors(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func() error
	}{
		{"q not power of two", func() error { _, err := New(1000, nodes(1)...); return err }},
		{"q too large", func() error { _, err := New(2*Slots, nodes(1)...); return err }},
		{"no nodes", func() error { _, err := New(64); return err }},
		{"zero weight", func() error { _, err := New(64, Node{ID: "a"}); return err }},
		{"empty id", func() error { _, err := New(64, Node{Weight: 1}); return err }},
		{"duplicate", func() error { _, err := New(64, nodes(1)[0], nodes(1)[0]); return err }},
		{"leave unknown", func() error { _, err := mustNew(t, 64, nodes(2)...).Leave("x"); return err }},
		{"leave last", func() error { _, err := mustNew(t, 64, nodes(1)...).Leave("node-00"); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fn() == nil {
				t.Fatal("no error")
			}
		})
	}
}

func BenchmarkNew64(b *testing.B) {
	for b.Loop() {
		if _, err := New(DefaultPartitions, nodes(64)...); err != nil {
			b.Fatal(err)
		}
	}
}
