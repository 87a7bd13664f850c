package resptest

import (
	"context"

	"github.com/dynkv/dynkv/admin"
	"github.com/dynkv/dynkv/resp"
	"github.com/dynkv/dynkv/ring"
)

// Cluster is the membership a test gives an Admin: *ring.Membership and
// tests' fakes implement it.
type Cluster interface {
	Self() string
	Members() []admin.Member
	State() ring.State
	Ring() *ring.Ring
	Plan(e ring.Event) (ring.Plan, error)
	Leave(node string) (ring.Plan, error)
	JoinCluster(seeds []string) (ring.Plan, error)
	Forget(node string) error
}

// AntiEntropy is the syncer a test gives an Admin: *antientropy.Syncer and
// tests' fakes implement it.
type AntiEntropy interface {
	Stats() admin.AntiEntropyStats
	Roots(ctx context.Context) ([]admin.PartitionRoot, error)
}

var _ Cluster = (*ring.Membership)(nil)

// Admin is a resp.Admin over a test's membership and syncer, translated to
// package admin's values with ring's functions as node's Admin does.
type Admin struct {
	Members Cluster     // nil: an empty view
	Syncer  AntiEntropy // nil: anti-entropy off
}

var _ resp.Admin = Admin{}

// Cluster implements resp.Admin.
func (a Admin) Cluster() admin.Cluster {
	if a.Members == nil {
		return admin.Cluster{}
	}
	c := a.Members
	return ring.AdminCluster(c.Self(), c.State(), c.Members(), c.Ring())
}

// Preference implements resp.Admin.
func (a Admin) Preference(slot int) (int, []string, error) {
	if a.Members == nil {
		return ring.Preference(nil, slot)
	}
	return ring.Preference(a.Members.Ring(), slot)
}

// Plan implements resp.Admin.
func (a Admin) Plan(c admin.Change) (admin.Plan, error) {
	pl, err := a.Members.Plan(ring.ChangeEvent(c))
	return pl.Summary(), err
}

// Leave implements resp.Admin.
func (a Admin) Leave(node string) (admin.Plan, error) {
	pl, err := a.Members.Leave(node)
	return pl.Summary(), err
}

// Join implements resp.Admin.
func (a Admin) Join(seeds []string) (admin.Plan, error) {
	pl, err := a.Members.JoinCluster(seeds)
	return pl.Summary(), err
}

// Forget implements resp.Admin.
func (a Admin) Forget(node string) error { return a.Members.Forget(node) }

// AntiEntropy implements resp.Admin.
func (a Admin) AntiEntropy() (admin.AntiEntropyStats, bool) {
	if a.Syncer == nil {
		return admin.AntiEntropyStats{}, false
	}
	return a.Syncer.Stats(), true
}

// Roots implements resp.Admin.
func (a Admin) Roots(ctx context.Context) ([]admin.PartitionRoot, error) {
	return a.Syncer.Roots(ctx)
}
