package ring

import (
	"errors"
	"fmt"
)

// Plan returns what the change e (a join or leave; its stamp is ignored)
// would do to the ring: from the current target to the ring after it.
func (m *Membership) Plan(e Event) (Plan, error) {
	m.mu.Lock()
	st := m.mu.state
	m.mu.Unlock()
	pl, _, err := m.plan(st, e)
	return pl, err
}

func (m *Membership) plan(st State, e Event) (Plan, State, error) {
	switch {
	case e.Kind == EventJoin && st.Member(e.Node):
		return Plan{}, st, fmt.Errorf("ring: node %s: already a member", e.Node)
	case e.Kind == EventJoin && e.Weight < 1:
		return Plan{}, st, fmt.Errorf("ring: node %s: weight must be at least 1, got %d", e.Node, e.Weight)
	case e.Kind == EventLeave && !st.Member(e.Node):
		return Plan{}, st, fmt.Errorf("ring: node %s: not a member", e.Node)
	case e.Kind != EventJoin && e.Kind != EventLeave:
		return Plan{}, st, fmt.Errorf("ring: not a membership change")
	}
	from, err := st.Ring()
	if err != nil {
		return Plan{}, st, err
	}
	if e.Kind == EventLeave && len(from.Nodes()) == 1 {
		return Plan{}, st, fmt.Errorf("ring: node %s: the last member cannot leave", e.Node)
	}
	e.Stamp = st.Stamp() + 1
	next := st.With(e)
	to, err := next.Ring()
	if err != nil {
		return Plan{}, st, err
	}
	return PlanChange(from, to, m.cfg.Replicas), next, nil
}

// Leave removes node from the ring (an explicit, administrative change)
// and returns the plan it committed. The node keeps its partitions until
// their new homes have received its data.
func (m *Membership) Leave(node string) (Plan, error) {
	return m.change(Event{Node: node, Kind: EventLeave})
}

// ErrChangeUnderWay refuses a membership change while another one's data
// is still moving: changes go one at a time, as in Riak, so that every
// transfer has one target.
var ErrChangeUnderWay = errors.New("ring: a ring change is under way (partitions are moving); commit the next one once dynkv ring shows it complete")

// change commits e and returns its plan.
func (m *Membership) change(e Event) (Plan, error) {
	m.mu.Lock()
	st, r := m.mu.state, m.mu.ring
	m.mu.Unlock()
	if r != nil && r.Next() != nil {
		return Plan{}, ErrChangeUnderWay
	}
	pl, next, err := m.plan(st, e)
	if err != nil {
		return Plan{}, err
	}
	m.log.Info("ring change committed", "kind", e.Kind.String(), "node", e.Node, "partitions_moving", len(pl.Moves))
	m.apply(next)
	return pl, nil
}

// Ready records that this node holds the data of every partition it
// replicates in the ring of stamp with digest (see State.Active). A second
// call for the same ring changes nothing.
func (m *Membership) Ready(stamp, digest uint64) {
	m.mu.Lock()
	st := m.mu.state
	m.mu.Unlock()
	if next, ok := st.WithReady(m.cfg.NodeID, stamp, digest); ok {
		m.log.Info("transfer complete: ready to own", "stamp", stamp)
		m.apply(next)
	}
}

// Drained records that this node, which has left the ring, holds no
// records and no hints any more (see Ring.Undrained). A node that is a
// member, or has recorded it already, changes nothing.
func (m *Membership) Drained() {
	m.mu.Lock()
	st := m.mu.state
	m.mu.Unlock()
	if next, ok := st.WithDrained(m.cfg.NodeID); ok {
		m.log.Info("left the ring and holds no data: drained")
		m.apply(next)
	}
}

// Forget records EventDrained for node, a node that left the ring and will
// not come back (its disk is gone): the cluster stops waiting for its
// handoff before collecting tombstones. What it still held is lost to the
// cluster; if it does come back, versions it holds may bring deleted keys
// back.
func (m *Membership) Forget(node string) error {
	m.mu.Lock()
	st := m.mu.state
	m.mu.Unlock()
	switch {
	case st.Member(node):
		return fmt.Errorf("ring: node %s: is a member; it must leave first", node)
	case !st.everJoined(node):
		return fmt.Errorf("ring: node %s: never was a member", node)
	case st.IsDrained(node):
		return fmt.Errorf("ring: node %s: has handed off its data already", node)
	}
	next, _ := st.WithDrained(node)
	m.log.Warn("departed node forgotten without its handoff", "node", node)
	m.apply(next)
	return nil
}

// JoinCluster makes a node that is alone in its ring join the cluster of
// seeds: it forgets its one-node ring, takes the cluster's state from the
// seeds and adds itself to it. The data it holds is handed to the
// cluster's homes by anti-entropy. A node that is in a ring with other
// members must leave it first.
func (m *Membership) JoinCluster(seeds []string) (Plan, error) {
	if len(seeds) == 0 {
		return Plan{}, fmt.Errorf("ring: join: no seed given")
	}
	for _, s := range seeds {
		if _, _, err := splitHostPort(s); err != nil {
			return Plan{}, fmt.Errorf("ring: join: %w", err)
		}
	}
	m.mu.Lock()
	st := m.mu.state
	if r, err := st.Ring(); err == nil && (len(r.Nodes()) > 1 || !r.Has(m.cfg.NodeID)) {
		m.mu.Unlock()
		return Plan{}, fmt.Errorf("ring: join: already in a ring of %d members; leave it first", len(r.Nodes()))
	}
	m.mu.Unlock()
	// The seeds' state arrives by push/pull during Join, into a fresh
	// state: this node's own one-node history is not merged into theirs.
	var theirs State
	m.joining.Store(&theirs)
	_, err := m.ml.Join(seeds)
	m.joining.Store(nil)
	if err != nil {
		return Plan{}, fmt.Errorf("%w: %v", ErrNoSeed, err)
	}
	if len(theirs.Events) == 0 {
		return Plan{}, fmt.Errorf("ring: join: the seeds sent no ring state")
	}
	if theirs.Q != st.Q {
		return Plan{}, fmt.Errorf("ring: join: the cluster has %d partitions, this node %d", theirs.Q, st.Q)
	}
	if theirs.Member(m.cfg.NodeID) {
		return Plan{}, fmt.Errorf("ring: join: the cluster already has a member named %s", m.cfg.NodeID)
	}
	if r, err := theirs.Active(m.cfg.Replicas); err == nil && r.Next() != nil {
		return Plan{}, ErrChangeUnderWay
	}
	pl, next, err := m.plan(theirs, Event{Node: m.cfg.NodeID, Kind: EventJoin, Weight: m.cfg.Weight})
	if err != nil {
		return Plan{}, err
	}
	r, err := next.Active(m.cfg.Replicas)
	if err != nil {
		return Plan{}, err
	}
	m.mu.Lock()
	m.mu.state, m.mu.ring = next, r
	m.mu.Unlock()
	m.saveMu.Lock()
	m.saved = 0 // the new state may have fewer events than the old
	m.saveMu.Unlock()
	m.save(next)
	m.queue.QueueBroadcast(broadcast(next.Encode()))
	m.log.Info("joined cluster", "seeds", seeds, "members", len(pl.To.Nodes()), "partitions_moving", len(pl.Moves))
	return pl, nil
}
