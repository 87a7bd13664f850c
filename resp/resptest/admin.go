package resptest

import (
	"context"

	"github.com/dynkv/dynkv/admin"
	"github.com/dynkv/dynkv/resp"
	"github.com/dynkv/dynkv/ring"
)

// AntiEntropy is the syncer a test gives an Admin: *antientropy.Syncer and
// tests' fakes implement it.
type AntiEntropy interface {
	Stats() admin.AntiEntropyStats
	Roots(ctx context.Context) ([]admin.PartitionRoot, error)
}

// Admin is a resp.Admin over a test's membership (ring.AdminView, as the
// node's Admin) and syncer.
type Admin struct {
	ring.AdminView
	Syncer AntiEntropy // nil: anti-entropy off
}

var _ resp.Admin = Admin{}

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
