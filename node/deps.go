package node

import (
	"errors"
	"fmt"
	"time"

	"github.com/dynkv/dynkv/antientropy"
	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/peer"
	"github.com/dynkv/dynkv/replica"
	"github.com/dynkv/dynkv/ring"
)

// Membership is the view of the cluster that the coordinator and
// anti-entropy run on: who this node is, the ring, who is alive, and the
// two records of a ring change. *ring.Membership (gossip, what Build joins
// when Deps.Membership is nil) implements it; internal/clustertest gives
// every node a view of one shared in-process ring state.
type Membership interface {
	// Self returns this node's ID. It does not block.
	Self() string
	// Ring returns the ring that owns the data now (see
	// coordinator.Cluster). It may wait for a lock briefly, never for the
	// network.
	Ring() *ring.Ring
	// Alive reports whether node is believed reachable. It does not block.
	Alive(node string) bool
	// Ready records that this node holds its data for the ring of stamp
	// with digest (see antientropy.Readier). It does not block on the
	// network.
	Ready(stamp, digest uint64)
	// Drained records that this node, having left the ring, holds no data
	// (see antientropy.Readier). It does not block on the network.
	Drained()
}

var (
	_ Membership          = (*ring.Membership)(nil)
	_ coordinator.Cluster = Membership(nil)
	_ antientropy.Cluster = Membership(nil)
	_ antientropy.Readier = Membership(nil)
)

// Deps are the parts of a node a caller gives Build instead of letting it
// make them from the configuration, and the switches that leave parts out.
// The zero Deps is production: New is Build(cfg, Deps{}, log) after
// cfg.Validate. Whatever a caller gives stays the caller's: Close leaves
// it open, and the caller closes it after Close returned.
type Deps struct {
	// Store is the local store. Nil: Build opens cfg.Replica (on
	// cfg.Replica.FS, the operating system's when nil) and Close closes
	// it. The cluster harness gives its own, so that a simulated crash
	// can clone the filesystem between closing the coordinator and closing
	// the store.
	Store *replica.Store
	// Membership is the view of the cluster. Nil: Build joins by gossip
	// (ring.Join with cfg.Gossip, the ring state saved in the store) and
	// Close leaves the cluster. Given together with Transport.
	Membership Membership
	// Transport carries this node's calls to its peers. Nil: TCP on
	// cfg.PeerListen() (peer.NewTCP), peers found by their gossiped
	// addresses. Given together with Membership and Register.
	Transport peer.Transport
	// Register serves the node's peer Mux on Transport: Build calls it
	// once, after the coordinator exists and before Build returns, with
	// the handler of every request addressed to this node. The handler
	// must not be called after Close returned, nor after Build failed
	// (the caller takes it down, as it registered it).
	Register func(h peer.Handler)
	// Now is the clock of the coordinator and anti-entropy. Nil means
	// time.Now.
	Now func() time.Time
	// Standalone builds a node without a cluster: the coordinator of a
	// one-node deployment (coordinator.New), no membership, no peer
	// transport, no anti-entropy and no hinted handoff. Its RESP server
	// reports one member, "local". Membership and Transport must be nil.
	Standalone bool
	// NoClients builds no RESP server and binds no client port: a node
	// reached only through its peers. Start then does nothing.
	NoClients bool
	// NoLoops starts no background loops (hinted handoff, anti-entropy
	// rounds): the caller drives them with Coordinator().ReplayHints and
	// Syncer().RunRound or Run.
	NoLoops bool
}

// validate reports the first inconsistent combination of d's fields, and
// what cfg must hold for the loops d starts.
func (d Deps) validate(handoff time.Duration) error {
	switch {
	case d.Standalone && (d.Membership != nil || d.Transport != nil):
		return errors.New("node: deps: Standalone takes no Membership or Transport")
	case (d.Membership == nil) != (d.Transport == nil):
		return errors.New("node: deps: Membership and Transport are given together or not at all")
	case d.Transport != nil && d.Register == nil:
		return errors.New("node: deps: Transport needs Register")
	case !d.Standalone && !d.NoLoops && handoff <= 0:
		return fmt.Errorf("handoff-interval: must be positive, got %s", handoff)
	}
	return nil
}
