package ring

import "github.com/dynkv/dynkv/admin"

// The ring as the admin surface reports it (package admin): what a node's
// RING and INFO cluster show, and the membership changes they make.

// AdminSource is what AdminView translates: *Membership implements it, and
// tests' fakes.
type AdminSource interface {
	Self() string
	Members() []admin.Member
	State() State
	Ring() *Ring
	Plan(e Event) (Plan, error)
	Leave(node string) (Plan, error)
	JoinCluster(seeds []string) (Plan, error)
	Forget(node string) error
}

var _ AdminSource = (*Membership)(nil)

// AdminView is the cluster half of a node's admin surface (resp.Admin's
// membership methods) over Src, in package admin's values. With no Src it
// is an empty view whose changes are refused with ErrEmpty.
type AdminView struct {
	Src AdminSource
}

// Cluster returns the admin view of the ring: self, the state's version and
// Q, the members, and whether the active ring has a transfer under way.
func (a AdminView) Cluster() admin.Cluster {
	if a.Src == nil {
		return admin.Cluster{}
	}
	st, r := a.Src.State(), a.Src.Ring()
	return admin.Cluster{Self: a.Src.Self(), Version: st.Stamp(), Q: st.Q, Members: a.Src.Members(),
		Pending: r != nil && r.Next() != nil}
}

// Preference returns the partition of slot in the active ring and its
// preference list; ErrEmpty when there is no ring yet.
func (a AdminView) Preference(slot int) (partition int, prefs []string, err error) {
	var r *Ring
	if a.Src != nil {
		r = a.Src.Ring()
	}
	if r == nil {
		return 0, nil, ErrEmpty
	}
	partition = r.PartitionOfSlot(slot)
	return partition, r.PreferenceList(partition), nil
}

// Plan returns the plan of the join or leave c, without committing it.
func (a AdminView) Plan(c admin.Change) (admin.Plan, error) {
	e := Event{Node: c.Node, Kind: EventLeave}
	if c.Join {
		e.Kind, e.Weight = EventJoin, c.Weight
	}
	return a.change(func(s AdminSource) (Plan, error) { return s.Plan(e) })
}

// Leave commits the departure of node and returns its plan.
func (a AdminView) Leave(node string) (admin.Plan, error) {
	return a.change(func(s AdminSource) (Plan, error) { return s.Leave(node) })
}

// Join makes this node join the cluster gossiping at seeds and returns the
// plan.
func (a AdminView) Join(seeds []string) (admin.Plan, error) {
	return a.change(func(s AdminSource) (Plan, error) { return s.JoinCluster(seeds) })
}

// Forget records that node, which left, will not come back.
func (a AdminView) Forget(node string) error {
	if a.Src == nil {
		return ErrEmpty
	}
	return a.Src.Forget(node)
}

// change runs a membership change on Src and summarises its plan.
func (a AdminView) change(do func(AdminSource) (Plan, error)) (admin.Plan, error) {
	if a.Src == nil {
		return admin.Plan{}, ErrEmpty
	}
	pl, err := do(a.Src)
	return pl.Summary(), err
}
