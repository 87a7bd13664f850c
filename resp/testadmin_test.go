package resp

import (
	"context"

	"github.com/dynkv/dynkv/admin"
	"github.com/dynkv/dynkv/ring"
)

// testCluster is what testAdmin translates: *ring.Membership and
// *fakeCluster implement it.
type testCluster interface {
	Self() string
	Members() []admin.Member
	State() ring.State
	Ring() *ring.Ring
	Plan(e ring.Event) (ring.Plan, error)
	Leave(node string) (ring.Plan, error)
	JoinCluster(seeds []string) (ring.Plan, error)
	Forget(node string) error
}

var (
	_ testCluster = (*ring.Membership)(nil)
	_ testCluster = (*fakeCluster)(nil)
)

// testAdmin is the Admin of the tests: a fake cluster of ring's types and a
// fake syncer, translated to admin's values with ring's functions, as
// node's Admin translates the real ones.
type testAdmin struct {
	cl testCluster // nil: no cluster fields asserted
	ae *fakeAE     // nil: anti-entropy off
}

// setCluster gives s the fake cluster cl (keeping a fake syncer already set).
func setCluster(s *Server, cl testCluster) {
	a, _ := s.admin.(*testAdmin)
	if a == nil {
		a = &testAdmin{}
	}
	a.cl = cl
	s.SetAdmin(a)
}

// setAntiEntropy gives s the fake syncer ae (keeping a fake cluster already
// set).
func setAntiEntropy(s *Server, ae fakeAE) {
	a, _ := s.admin.(*testAdmin)
	if a == nil {
		a = &testAdmin{}
	}
	a.ae = &ae
	s.SetAdmin(a)
}

func (a *testAdmin) Cluster() admin.Cluster {
	if a.cl == nil {
		return admin.Cluster{}
	}
	return ring.AdminCluster(a.cl.Self(), a.cl.State(), a.cl.Members(), a.cl.Ring())
}

func (a *testAdmin) Preference(slot int) (int, []string, error) {
	if a.cl == nil {
		return ring.Preference(nil, slot)
	}
	return ring.Preference(a.cl.Ring(), slot)
}

func (a *testAdmin) Plan(c admin.Change) (admin.Plan, error) {
	pl, err := a.cl.Plan(ring.ChangeEvent(c))
	return pl.Summary(), err
}

func (a *testAdmin) Leave(node string) (admin.Plan, error) {
	pl, err := a.cl.Leave(node)
	return pl.Summary(), err
}

func (a *testAdmin) Join(seeds []string) (admin.Plan, error) {
	pl, err := a.cl.JoinCluster(seeds)
	return pl.Summary(), err
}

func (a *testAdmin) Forget(node string) error { return a.cl.Forget(node) }

func (a *testAdmin) AntiEntropy() (admin.AntiEntropyStats, bool) {
	if a.ae == nil {
		return admin.AntiEntropyStats{}, false
	}
	return a.ae.Stats(), true
}

func (a *testAdmin) Roots(ctx context.Context) ([]admin.PartitionRoot, error) {
	return a.ae.Roots(ctx)
}
