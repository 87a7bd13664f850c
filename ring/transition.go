package ring

import (
	"encoding/binary"
	"hash/fnv"
	"slices"

	"github.com/dynkv/dynkv/admin"
)

// Ownership changes in two steps. A join or leave is committed to the
// state at once, and the ring it leads to (the target) is where data
// moves; but the partitions keep their current homes (the active ring)
// until every node that gains a partition has received its data and said
// so with an EventReady. Only then does the active ring advance. Until
// it does, coordinators read from and count write acknowledgements of the
// active homes, and also write to the target's new homes, so that the data
// a node received stays complete until it owns it.
//
// The active ring is a pure function of the state and N, like the target:
// replaying the events in order from the first member's ring, it advances
// to the latest change i (applied so far) whose gainers — the nodes that are among the first N of some
// partition's preference list in ring i but not in the active ring — have
// all recorded readiness for exactly ring i: its stamp and its Digest (two
// changes committed concurrently through different nodes may share a
// stamp, and a ring is then not known by its stamp alone). Readiness means
// the node holds the data of every partition it replicates in that ring;
// it says nothing of an earlier ring, where the node may replicate
// partitions it does not in the later one.

// Active returns the ring that owns the data now, for n replicas per
// partition, with the target of a transfer under way attached (see
// Ring.Next), or with none when every change is complete.
func (s State) Active(n int) (*Ring, error) {
	steps, err := s.steps()
	if err != nil {
		return nil, err
	}
	return s.activeOf(steps, n)
}

// activeOf is Active over the steps of s's changes.
func (s State) activeOf(steps []step, n int) (*Ring, error) {
	// The events are replayed in order, and the active ring advances only
	// relative to the one active at that point: after a join and a leave
	// that lead back to an earlier ring, the nodes that gave partitions to
	// the one that left must get them back before it stops owning them.
	ready := map[readyKey]bool{}
	a, known := 0, 0 // the active step; the steps applied so far
	ok := func(i int) bool {
		return allReady(steps[a].ring.Gainers(steps[i].ring, n), ready, steps[i].stamp, steps[i].ring.Digest())
	}
	advance := func() {
		for moved := true; moved; {
			moved = false
			for i := known - 1; i > a; i-- {
				if ok(i) {
					a, moved = i, true
					break
				}
			}
		}
	}
	left := map[string]bool{} // departed, not yet drained
	var departed []string
	for _, e := range s.Events {
		switch {
		case known < len(steps) && steps[known].ev == e:
			known++
			if known > 1 && ok(known-1) {
				a = known - 1 // gains nobody anything
			}
			if e.Kind == EventLeave {
				left[e.Node] = true
			} else {
				delete(left, e.Node)
			}
		case e.Kind == EventReady:
			ready[readyKey{e.Node, e.Target, e.Digest}] = true
			for j := a + 1; j < known; j++ {
				if steps[j].stamp == e.Target {
					advance()
					break
				}
			}
		case e.Kind == EventDrained:
			delete(left, e.Node)
		}
	}
	for id, undrained := range left {
		if undrained {
			departed = append(departed, id)
		}
	}
	slices.Sort(departed)
	gone := s.departed(steps[len(steps)-1].ring)
	out := *steps[a].ring
	out.undrained, out.departed = departed, gone
	if a < len(steps)-1 {
		last := steps[len(steps)-1]
		out.next, out.nextStamp = last.ring, last.stamp
		for _, g := range steps[a].ring.Gainers(last.ring, n) {
			if !ready[readyKey{g, last.stamp, last.ring.Digest()}] {
				out.waiting = append(out.waiting, g)
			}
		}
	}
	return &out, nil
}

// Waiting returns the gainers of the transfer under way, sorted, that have
// not yet recorded readiness for Next: the nodes the flip waits for. Only
// a ring from State.Active knows them.
func (r *Ring) Waiting() []string { return r.waiting }

// Target returns Next, or r itself when no transfer is under way: the ring
// that will own the data.
func (r *Ring) Target() *Ring {
	if r.next != nil {
		return r.next
	}
	return r
}

// departed returns the nodes, sorted, that joined at some point and are
// not members of target.
func (s State) departed(target *Ring) []string {
	var out []string
	for _, e := range s.Events {
		if e.Kind == EventJoin && !target.Has(e.Node) && !slices.Contains(out, e.Node) {
			out = append(out, e.Node)
		}
	}
	slices.Sort(out)
	return out
}

// Departed returns the nodes, sorted, that were members once and are not
// in the target ring: hints held for them belong to their keys' homes.
// Only a ring from State.Active knows them.
func (r *Ring) Departed() []string { return r.departed }

// Undrained returns the nodes, sorted, that left the ring and have not yet
// recorded EventDrained: they may still hold records or hints, which could
// bring back a version a collected tombstone superseded. No tombstone is
// collected while there is one. Only a ring from State.Active knows them.
func (r *Ring) Undrained() []string { return r.undrained }

// Digest identifies r's assignment: its members, their weights and the
// owner of every partition.
func (r *Ring) Digest() uint64 {
	if r.digest != 0 {
		return r.digest // set by State.steps before the ring is shared
	}
	h := fnv.New64a()
	var b [8]byte
	for _, n := range r.nodes {
		h.Write([]byte(n.ID))
		binary.BigEndian.PutUint64(b[:], uint64(n.Weight))
		h.Write(b[:])
	}
	for _, o := range r.owners {
		binary.BigEndian.PutUint64(b[:], uint64(o))
		h.Write(b[:])
	}
	return h.Sum64() | 1 // never 0: 0 means not computed
}

// readyKey is one node's readiness for one ring.
type readyKey struct {
	node   string
	stamp  uint64
	digest uint64
}

// IsReady reports whether node has recorded readiness for the ring of
// stamp with digest.
func (s State) IsReady(node string, stamp, digest uint64) bool {
	for _, e := range s.Events {
		if e.Kind == EventReady && e.Node == node && e.Target == stamp && e.Digest == digest {
			return true
		}
	}
	return false
}

// WithReady returns s with node's readiness for the ring of stamp with
// digest, and whether that is new (a stamp s does not have, 0 included,
// is not).
func (s State) WithReady(node string, stamp, digest uint64) (State, bool) {
	if stamp == 0 || stamp > s.Stamp() || s.IsReady(node, stamp, digest) {
		return s, false
	}
	return s.With(Event{Stamp: s.Stamp() + 1, Node: node, Kind: EventReady, Target: stamp, Digest: digest}), true
}

// WithDrained returns s with node's EventDrained, and whether that is new:
// only a node that joined once, is not a member now and has not drained
// since it left gets one.
func (s State) WithDrained(node string) (State, bool) {
	if s.Member(node) || !s.everJoined(node) || s.IsDrained(node) {
		return s, false
	}
	return s.With(Event{Stamp: s.Stamp() + 1, Node: node, Kind: EventDrained}), true
}

// IsDrained reports whether node has recorded EventDrained after its last
// join or leave.
func (s State) IsDrained(node string) bool {
	drained := false
	for _, e := range s.Events {
		if e.Node == node {
			switch e.Kind {
			case EventJoin, EventLeave:
				drained = false
			case EventDrained:
				drained = true
			}
		}
	}
	return drained
}

func allReady(nodes []string, ready map[readyKey]bool, stamp, digest uint64) bool {
	for _, id := range nodes {
		if !ready[readyKey{id, stamp, digest}] {
			return false
		}
	}
	return true
}

// Next returns the ring a transfer under way leads to, or nil when r owns
// the data with no change pending. Only a ring from State.Active has one.
func (r *Ring) Next() *Ring { return r.next }

// NextStamp returns the stamp of the last change Next includes: what a
// node that has received its data for Next records readiness for.
func (r *Ring) NextStamp() uint64 { return r.nextStamp }

// Inbound returns the partitions node is a replica of in next but not in
// r, for n replicas: the data it must receive before next can own it.
func (r *Ring) Inbound(next *Ring, node string, n int) []int {
	var out []int
	for p := range next.owners {
		if slices.Contains(next.Homes(p, n), node) && !slices.Contains(r.Homes(p, n), node) {
			out = append(out, p)
		}
	}
	return out
}

// Gainers returns the nodes, sorted, that are replicas of some partition in
// next but not in r, for n replicas: those that must receive data before
// next can own it.
func (r *Ring) Gainers(next *Ring, n int) []string {
	var out []string
	if len(r.owners) != len(next.owners) {
		return nil
	}
	for p := range next.owners {
		cur := r.Homes(p, n)
		for _, id := range next.Homes(p, n) {
			if !slices.Contains(cur, id) && !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Members returns the IDs of the members of r and of its Next, sorted:
// every node that holds or is to hold data.
func (r *Ring) Members() []string {
	var out []string
	for _, n := range r.nodes {
		out = append(out, n.ID)
	}
	if r.next != nil {
		for _, n := range r.next.nodes {
			if !slices.Contains(out, n.ID) {
				out = append(out, n.ID)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Plan is what a change would do: the ring before and after, and the
// partitions whose replicas differ.
type Plan struct {
	From, To *Ring
	Moves    []Transfer
}

// Transfer is one partition's change of replicas.
type Transfer struct {
	Partition int
	From, To  []string // replicas before and after, in preference order
}

// Summary returns pl as the admin surface reports it: per node of either
// ring, the partitions it claims before and after and the replica
// partitions it gains and loses; the moves as they are.
func (pl Plan) Summary() admin.Plan {
	var ids []string
	var before, after map[string][]int
	if pl.From != nil {
		before = pl.From.Claims()
		for _, n := range pl.From.Nodes() {
			ids = append(ids, n.ID)
		}
	}
	if pl.To != nil {
		after = pl.To.Claims()
		for _, n := range pl.To.Nodes() {
			if !slices.Contains(ids, n.ID) {
				ids = append(ids, n.ID)
			}
		}
	}
	slices.Sort(ids)
	gained, lost := map[string]int{}, map[string]int{}
	out := admin.Plan{Nodes: make([]admin.PlanNode, 0, len(ids)), Moves: make([]admin.Move, 0, len(pl.Moves))}
	for _, mv := range pl.Moves {
		for _, id := range mv.To {
			if !slices.Contains(mv.From, id) {
				gained[id]++
			}
		}
		for _, id := range mv.From {
			if !slices.Contains(mv.To, id) {
				lost[id]++
			}
		}
		out.Moves = append(out.Moves, admin.Move{Partition: mv.Partition, From: mv.From, To: mv.To})
	}
	for _, id := range ids {
		out.Nodes = append(out.Nodes, admin.PlanNode{ID: id, Before: len(before[id]), After: len(after[id]), Gained: gained[id], Lost: lost[id]})
	}
	return out
}

// PlanChange returns what moving from r to next changes, for n replicas.
func PlanChange(r, next *Ring, n int) Plan {
	pl := Plan{From: r, To: next}
	for p := range next.owners {
		from, to := r.Homes(p, n), next.Homes(p, n)
		if !sameSet(from, to) {
			pl.Moves = append(pl.Moves, Transfer{Partition: p, From: from, To: to})
		}
	}
	return pl
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// sameOwners reports whether r and o assign every partition alike and
// have the same transfer under way.
func (r *Ring) sameOwners(o *Ring) bool {
	return slices.Equal(r.Members(), o.Members()) && slices.Equal(r.owners, o.owners) &&
		(r.next == nil) == (o.next == nil) && r.nextStamp == o.nextStamp
}

// String names the change.
func (k EventKind) String() string {
	switch k {
	case EventJoin:
		return "join"
	case EventLeave:
		return "leave"
	case EventReady:
		return "ready"
	case EventDrained:
		return "drained"
	}
	return "unknown"
}
