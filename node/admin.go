package node

import (
	"context"

	"github.com/dynkv/dynkv/admin"
	"github.com/dynkv/dynkv/resp"
	"github.com/dynkv/dynkv/ring"
)

// adminView is the node as its admin commands see it (resp.Admin): the
// membership and anti-entropy, their values translated to package admin's.
// Build gives it to the RESP server of a node that joined by gossip.
type adminView struct{ n *Node }

var _ resp.Admin = adminView{}

func (a adminView) Cluster() admin.Cluster {
	m := a.n.members
	return ring.AdminCluster(m.Self(), m.State(), m.Members(), m.Ring())
}

func (a adminView) Preference(slot int) (int, []string, error) {
	return ring.Preference(a.n.members.Ring(), slot)
}

func (a adminView) Plan(c admin.Change) (admin.Plan, error) {
	pl, err := a.n.members.Plan(ring.ChangeEvent(c))
	return pl.Summary(), err
}

func (a adminView) Leave(node string) (admin.Plan, error) {
	pl, err := a.n.members.Leave(node)
	return pl.Summary(), err
}

func (a adminView) Join(seeds []string) (admin.Plan, error) {
	pl, err := a.n.members.JoinCluster(seeds)
	return pl.Summary(), err
}

func (a adminView) Forget(node string) error { return a.n.members.Forget(node) }

func (a adminView) AntiEntropy() (admin.AntiEntropyStats, bool) {
	if a.n.ae == nil {
		return admin.AntiEntropyStats{}, false
	}
	return a.n.ae.Stats(), true
}

func (a adminView) Roots(ctx context.Context) ([]admin.PartitionRoot, error) {
	return a.n.ae.Roots(ctx)
}
