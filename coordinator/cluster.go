package coordinator

import (
	"context"

	"github.com/dynkv/dynkv/peer"
	"github.com/dynkv/dynkv/ring"
	"github.com/dynkv/dynkv/version"
)

// Cluster is what the coordinator needs of membership: who it is, the
// current ring, and which nodes are alive. Ring membership is not liveness:
// a node that is down stays in the ring and Alive reports it down.
type Cluster interface {
	Self() string
	Ring() *ring.Ring
	Alive(node string) bool
}

// Peer is another node's store. *peer.Client implements it.
type Peer interface {
	// Get returns the node's siblings of key; with hintFor set, merged with
	// what it holds as hints for that node.
	Get(ctx context.Context, key []byte, hintFor string) (version.Siblings, error)
	// Merge syncs ss into the node's siblings of key.
	Merge(ctx context.Context, key []byte, ss version.Siblings) error
	// PutHint asks the node to hold ss for node hintFor.
	PutHint(ctx context.Context, hintFor string, key []byte, ss version.Siblings) error
	// MergeDurable and PutHintDurable are Merge and PutHint acknowledged
	// only once the node fsynced them (DW).
	MergeDurable(ctx context.Context, key []byte, ss version.Siblings) error
	PutHintDurable(ctx context.Context, hintFor string, key []byte, ss version.Siblings) error
}

var _ Peer = (*peer.Client)(nil)

// single is the Cluster of a one-node deployment.
type single struct {
	r    *ring.Ring
	self string
}

func (s single) Self() string         { return s.self }
func (s single) Ring() *ring.Ring     { return s.r }
func (s single) Alive(id string) bool { return id == s.self }
