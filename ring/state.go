package ring

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
)

// State is the gossiped ring state: the log of explicit membership changes.
// It is a grow-only set of events; two states merge by union, so every node
// that has seen the same events holds the same State, whatever the order it
// saw them in. The Ring is a pure function of it: the events applied in
// stamp order (ties by node ID) to a ring of Q partitions.
//
// A node that joins stamps its event above every stamp it has seen (a
// Lamport clock), so a change is normally applied last and moves only the
// partitions it must. Concurrent changes get a deterministic order.
type State struct {
	Q      int     // partitions
	Events []Event // sorted by (Stamp, Node, Kind), unique
}

// EventKind is a membership change.
type EventKind uint8

const (
	// EventJoin adds a node with a weight.
	EventJoin EventKind = 1
	// EventLeave removes a node.
	EventLeave EventKind = 2
	// EventReady records that a node holds the data of every partition it
	// replicates in the ring of the change stamped Target: the transfer it
	// had to receive is complete. See Active.
	EventReady EventKind = 3
	// EventDrained records that a node that left holds no records and no
	// hints any more: nothing it holds can bring an old version back, so
	// tombstones may be collected again (see Ring.Undrained). The node
	// records it itself once its handoff is done; RING FORGET records it
	// for a node that will not come back.
	EventDrained EventKind = 4
)

// Event is one membership change.
type Event struct {
	Stamp  uint64
	Node   string
	Kind   EventKind
	Weight int    // EventJoin
	Target uint64 // EventReady: the stamp of the change it is ready for
	Digest uint64 // EventReady: the Digest of the ring it is ready for
}

func (e Event) compare(o Event) int {
	if c := cmp.Compare(e.Stamp, o.Stamp); c != 0 {
		return c
	}
	if c := cmp.Compare(e.Node, o.Node); c != 0 {
		return c
	}
	return cmp.Compare(e.Kind, o.Kind)
}

// Stamp returns the highest stamp in s.
func (s State) Stamp() uint64 {
	if len(s.Events) == 0 {
		return 0
	}
	return s.Events[len(s.Events)-1].Stamp
}

// With returns s with e added.
func (s State) With(e Event) State { return s.Merge(State{Q: s.Q, Events: []Event{e}}) }

// Merge returns the union of s and o. States of different Q do not merge:
// the result is s (the caller reports the mismatch; see Compatible).
func (s State) Merge(o State) State {
	if s.Q != o.Q && len(s.Events) > 0 && len(o.Events) > 0 {
		return s
	}
	q := s.Q
	if len(s.Events) == 0 {
		q = o.Q
	}
	all := append(slices.Clone(s.Events), o.Events...)
	slices.SortFunc(all, Event.compare)
	all = slices.CompactFunc(all, func(a, b Event) bool { return a.compare(b) == 0 })
	return State{Q: q, Events: all}
}

// Member reports whether node is in the ring after the events.
func (s State) Member(node string) bool {
	in := false
	for _, e := range s.Events {
		if e.Node == node && (e.Kind == EventJoin || e.Kind == EventLeave) {
			in = e.Kind == EventJoin
		}
	}
	return in
}

// everJoined reports whether node joined at some point.
func (s State) everJoined(node string) bool {
	for _, e := range s.Events {
		if e.Node == node && e.Kind == EventJoin {
			return true
		}
	}
	return false
}

// Ring applies the changes in order and returns the ring they lead to:
// the target of any transfer under way (see Active for the ring that owns
// the data now). Events that do not apply (a second join of a member, a
// leave of a non-member or of the last member) are skipped, the same way on
// every node.
func (s State) Ring() (*Ring, error) {
	steps, err := s.steps()
	if err != nil {
		return nil, err
	}
	return steps[len(steps)-1].ring, nil
}

// step is the ring after one applied change.
type step struct {
	stamp uint64
	ring  *Ring
	ev    Event // the change
}

// steps returns the ring after each change that applies, in order.
func (s State) steps() ([]step, error) {
	return foldChanges(s.Q, nil, changes(s.Events))
}

// changes returns the joins and leaves among events.
func changes(events []Event) []Event {
	var out []Event
	for _, e := range events {
		if e.Kind == EventJoin || e.Kind == EventLeave {
			out = append(out, e)
		}
	}
	return out
}

// foldChanges applies evs to the ring of the last of prev (none: an empty
// ring of q partitions) and returns prev followed by the ring after each
// change that applies.
func foldChanges(q int, prev []step, evs []Event) ([]step, error) {
	out := prev
	var r *Ring
	if len(prev) > 0 {
		r = prev[len(prev)-1].ring
	}
	for _, e := range evs {
		var next *Ring
		var err error
		switch {
		case r == nil && e.Kind == EventJoin:
			next, err = New(q, Node{ID: e.Node, Weight: e.Weight})
		case r == nil:
			continue
		case e.Kind == EventJoin && !r.Has(e.Node):
			next, err = r.Join(Node{ID: e.Node, Weight: e.Weight})
		case e.Kind == EventLeave && r.Has(e.Node) && len(r.nodes) > 1:
			next, err = r.Leave(e.Node)
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		r = next
		r.digest = r.Digest() // computed once, before the ring is shared
		out = append(out, step{stamp: e.Stamp, ring: r, ev: e})
	}
	if r == nil {
		return nil, ErrEmpty
	}
	return out, nil
}

// Folder computes State.Active, reusing the rings of the changes it saw in
// its last call: most new events are readiness records, or changes that
// sort after every earlier one, and refolding the whole history for each
// (a join or leave costs O(Q) per partition moved) would make every
// gossip merge of a long-lived cluster slow. Not safe for concurrent use.
type Folder struct {
	evs   []Event // the changes folded
	steps []step
}

// Active is State.Active, with the rings of the changes seen before
// reused.
func (f *Folder) Active(s State, n int) (*Ring, error) {
	evs := changes(s.Events)
	var steps []step
	var err error
	switch {
	case len(f.evs) > 0 && len(evs) >= len(f.evs) && slices.Equal(evs[:len(f.evs)], f.evs):
		steps, err = foldChanges(s.Q, slices.Clip(f.steps), evs[len(f.evs):])
	default:
		steps, err = foldChanges(s.Q, nil, evs)
	}
	if err != nil {
		return nil, err
	}
	f.evs, f.steps = evs, steps
	return s.activeOf(steps, n)
}

// ErrEmpty reports a state with no member.
var ErrEmpty = errors.New("ring: no members")

const stateFormat byte = 1

// maxEvents bounds a decoded state.
const maxEvents = 1 << 16

// Encode returns the wire and disk form of s.
func (s State) Encode() []byte {
	b := []byte{stateFormat}
	b = binary.AppendUvarint(b, uint64(s.Q))
	b = binary.AppendUvarint(b, uint64(len(s.Events)))
	for _, e := range s.Events {
		b = binary.AppendUvarint(b, e.Stamp)
		b = binary.AppendUvarint(b, uint64(len(e.Node)))
		b = append(b, e.Node...)
		b = append(b, byte(e.Kind))
		if e.Kind == EventReady {
			b = binary.AppendUvarint(b, e.Target)
			b = binary.BigEndian.AppendUint64(b, e.Digest)
		} else {
			b = binary.AppendUvarint(b, uint64(e.Weight))
		}
	}
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// DecodeState parses an encoded State. Anything malformed is an error.
func DecodeState(b []byte) (State, error) {
	bad := fmt.Errorf("ring: malformed state")
	if len(b) < 5 || b[0] != stateFormat || crc32.ChecksumIEEE(b[:len(b)-4]) != binary.BigEndian.Uint32(b[len(b)-4:]) {
		return State{}, bad
	}
	b = b[1 : len(b)-4]
	next := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			b = nil
			return 1 << 63
		}
		b = b[n:]
		return v
	}
	q, n := next(), next()
	if q < 1 || q > Slots || q&(q-1) != 0 || n > maxEvents || n > uint64(len(b))/4 {
		return State{}, bad
	}
	s := State{Q: int(q), Events: make([]Event, 0, n)}
	for i := uint64(0); i < n; i++ {
		var e Event
		e.Stamp = next()
		l := next()
		if l == 0 || l > 255 || l > uint64(len(b)) {
			return State{}, bad
		}
		e.Node = string(b[:l])
		b = b[l:]
		if len(b) == 0 {
			return State{}, bad
		}
		e.Kind = EventKind(b[0])
		b = b[1:]
		w := next()
		switch {
		case e.Kind == EventReady && w < e.Stamp && len(b) >= 8:
			e.Target = w
			e.Digest = binary.BigEndian.Uint64(b)
			b = b[8:]
		case e.Kind == EventDrained && w == 0:
		case (e.Kind == EventJoin && w > 0 || e.Kind == EventLeave) && w <= 1<<20:
			e.Weight = int(w)
		default:
			return State{}, bad
		}
		if i > 0 && s.Events[i-1].compare(e) >= 0 {
			return State{}, bad
		}
		s.Events = append(s.Events, e)
	}
	if len(b) != 0 {
		return State{}, bad
	}
	return s, nil
}
