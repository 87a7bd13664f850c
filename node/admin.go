package node

import (
	"context"

	"github.com/dynkv/dynkv/admin"
	"github.com/dynkv/dynkv/resp"
	"github.com/dynkv/dynkv/ring"
)

// adminView is the node as its admin commands see it (resp.Admin): the
// membership through ring.AdminView, and anti-entropy. Build gives it to
// the RESP server of a node that joined by gossip.
type adminView struct {
	ring.AdminView
	n *Node
}

var _ resp.Admin = adminView{}

func (a adminView) AntiEntropy() (admin.AntiEntropyStats, bool) {
	if a.n.ae == nil {
		return admin.AntiEntropyStats{}, false
	}
	return a.n.ae.Stats(), true
}

func (a adminView) Roots(ctx context.Context) ([]admin.PartitionRoot, error) {
	return a.n.ae.Roots(ctx)
}
