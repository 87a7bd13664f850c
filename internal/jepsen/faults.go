package jepsen

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Kind is a kind of fault.
type Kind string

// The fault kinds.
const (
	Kill      Kind = "kill"       // kill -9 a random node, restart it
	KillHomes Kind = "kill-homes" // kill -9 two of a cart's three home nodes in turn
	Pause     Kind = "pause"      // SIGSTOP a node beyond the failure detector's timeout, SIGCONT
	Halves    Kind = "halves"     // partition two nodes from the other three
	Isolate   Kind = "isolate"    // partition one node from the others
	Bridge    Kind = "bridge"     // two pairs that cannot talk, both reach the fifth node
	OneWay    Kind = "one-way"    // one node's packets to the others are dropped
	// LeaveJoin removes a node from the ring (RING LEAVE), holds until the
	// ring has flipped without it and it holds no data, then wipes it and
	// starts it again: it joins as a new node and receives its partitions.
	LeaveJoin Kind = "leave-join"
)

// Kinds lists every fault kind.
var Kinds = []Kind{Kill, KillHomes, Pause, Halves, Isolate, Bridge, OneWay, LeaveJoin}

// needsNet reports whether k is a network partition.
func (k Kind) needsNet() bool {
	switch k {
	case Halves, Isolate, Bridge, OneWay:
		return true
	}
	return false
}

// minorityOK reports whether k takes out at most a minority and so must
// leave the majority side available (sloppy quorum: docs/design.md,
// promise 1).
func (k Kind) minorityOK() bool {
	switch k {
	case Kill, Pause, Halves, Isolate:
		return true
	}
	return false
}

// ParseKinds parses a comma-separated list of kind names ("all" for all).
func ParseKinds(s string) ([]Kind, error) {
	if s == "" || s == "all" {
		return slices.Clone(Kinds), nil
	}
	var ks []Kind
	for name := range strings.SplitSeq(s, ",") {
		k := Kind(strings.TrimSpace(name))
		if !slices.Contains(Kinds, k) {
			return nil, fmt.Errorf("--faults: unknown fault %q (known: %s)", name, joinKinds(Kinds))
		}
		ks = append(ks, k)
	}
	return ks, nil
}

func joinKinds(ks []Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ",")
}

// Fault is one planned fault: its kind and the nodes it acts on, by index.
type Fault struct {
	Kind Kind
	// Nodes are the nodes the fault acts on: the killed or paused ones (in
	// order), or for partitions the first side.
	Nodes []int
	// Other is the second side of a partition; for a bridge, the bridge
	// node is the one in neither.
	Other []int
	// Cart is the cart slot whose home nodes kill-homes kills (resolved to
	// nodes when the fault starts).
	Cart int
}

// Minority returns the nodes on the minority side: those a client should
// expect to fail on. For kill-homes and bridge, where no side is a
// majority of the cluster for every key, it is every node the fault
// touches.
func (f Fault) Minority() []int {
	switch f.Kind {
	case Bridge:
		return append(slices.Clone(f.Nodes), f.Other...)
	}
	return slices.Clone(f.Nodes)
}

// Desc describes f with node names.
func (f Fault) Desc(names []string) string {
	ns := func(idx []int) string {
		s := make([]string, len(idx))
		for i, x := range idx {
			s[i] = names[x]
		}
		return strings.Join(s, ",")
	}
	switch f.Kind {
	case Kill, Pause, LeaveJoin:
		return fmt.Sprintf("%s %s", f.Kind, ns(f.Nodes))
	case KillHomes:
		return fmt.Sprintf("%s of cart slot %d: %s", f.Kind, f.Cart, ns(f.Nodes))
	case Halves, Isolate:
		return fmt.Sprintf("%s {%s} | {%s}", f.Kind, ns(f.Nodes), ns(f.Other))
	case Bridge:
		return fmt.Sprintf("%s {%s} | {%s}, bridged by the rest", f.Kind, ns(f.Nodes), ns(f.Other))
	case OneWay:
		return fmt.Sprintf("%s %s -/-> {%s}", f.Kind, ns(f.Nodes), ns(f.Other))
	}
	return string(f.Kind)
}

// schedule draws faults from kinds for a cluster of n nodes, as a pure
// function of seed.
type schedule struct {
	rng   *rand.Rand
	kinds []Kind
	n     int
	carts int
	i     int
}

func newSchedule(seed uint64, kinds []Kind, n, carts int) *schedule {
	return &schedule{rng: rand.New(rand.NewPCG(seed, 0x6a65707365)), kinds: kinds, n: n, carts: max(1, carts)}
}

// next returns the next fault. The kinds come round in a seeded order, so
// that a short run still sees each of them.
func (s *schedule) next() Fault {
	if s.i%len(s.kinds) == 0 {
		s.rng.Shuffle(len(s.kinds), func(i, j int) { s.kinds[i], s.kinds[j] = s.kinds[j], s.kinds[i] })
	}
	k := s.kinds[s.i%len(s.kinds)]
	s.i++
	perm := s.rng.Perm(s.n)
	f := Fault{Kind: k}
	switch k {
	case Kill, Pause, LeaveJoin:
		f.Nodes = perm[:1]
	case KillHomes:
		f.Cart = s.rng.IntN(s.carts)
	case Isolate, OneWay:
		f.Nodes, f.Other = perm[:1], perm[1:]
	case Halves:
		m := s.n / 2
		f.Nodes, f.Other = perm[:m], perm[m:]
	case Bridge:
		m := (s.n - 1) / 2
		f.Nodes, f.Other = perm[:m], perm[m:2*m]
	}
	slices.Sort(f.Nodes)
	slices.Sort(f.Other)
	return f
}
