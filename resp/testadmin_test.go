package resp

import (
	"context"

	"github.com/dynkv/dynkv/admin"
	"github.com/dynkv/dynkv/ring"
)

// testAdmin is the Admin of the tests: a fake (or real) membership through
// ring.AdminView, as node's Admin, and a fake syncer. (resptest.Admin is
// the same for tests outside the package, which cannot import resptest.)
type testAdmin struct {
	ring.AdminView
	ae *fakeAE // nil: anti-entropy off
}

var _ ring.AdminSource = (*fakeCluster)(nil)

// setCluster gives s the membership cl (keeping a fake syncer already set).
func setCluster(s *Server, cl ring.AdminSource) {
	a, _ := s.admin.(*testAdmin)
	if a == nil {
		a = &testAdmin{}
	}
	a.Src = cl
	s.SetAdmin(a)
}

// setAntiEntropy gives s the fake syncer ae (keeping a membership already
// set).
func setAntiEntropy(s *Server, ae fakeAE) {
	a, _ := s.admin.(*testAdmin)
	if a == nil {
		a = &testAdmin{}
	}
	a.ae = &ae
	s.SetAdmin(a)
}

func (a *testAdmin) AntiEntropy() (admin.AntiEntropyStats, bool) {
	if a.ae == nil {
		return admin.AntiEntropyStats{}, false
	}
	return a.ae.Stats(), true
}

func (a *testAdmin) Roots(ctx context.Context) ([]admin.PartitionRoot, error) {
	return a.ae.Roots(ctx)
}
