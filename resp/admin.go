package resp

import (
	"context"

	"github.com/dynkv/dynkv/admin"
)

// Admin is how the admin commands reach the node they run on: RING and its
// subcommands, INFO's cluster, antientropy and antientropy_partitions
// sections. node.Node implements it over membership (package ring) and
// anti-entropy; resp knows those only through this interface and the
// values of package admin.
type Admin interface {
	// Cluster returns the node's view of the ring. It may wait for a lock
	// briefly, never for the network.
	Cluster() admin.Cluster
	// Preference returns the partition of slot and its preference list:
	// every member in the order requests for the slot's keys try them,
	// the first N its home replicas. It blocks as Cluster does.
	Preference(slot int) (partition int, prefs []string, err error)
	// Plan returns what change would do, without committing it. It blocks
	// as Cluster does.
	Plan(change admin.Change) (admin.Plan, error)
	// Leave commits the departure of node and returns its plan. It blocks
	// as Cluster does; the change reaches the other nodes by gossip
	// afterwards.
	Leave(node string) (admin.Plan, error)
	// Join makes this node, alone in its one-node ring, join the cluster
	// reachable at the gossip addresses seeds, and returns the plan. It
	// blocks on the network until a seed answered or all failed.
	Join(seeds []string) (admin.Plan, error)
	// Forget records that node, which left the ring, will not come back
	// to hand off its data.
	Forget(node string) error
	// AntiEntropy returns the anti-entropy counters; ok is false when
	// anti-entropy is off. It does not block on the network.
	AntiEntropy() (st admin.AntiEntropyStats, ok bool)
	// Roots returns the Merkle tree root of every partition the node
	// replicates. It reads the local store only.
	Roots(ctx context.Context) ([]admin.PartitionRoot, error)
}

// SetAdmin gives the server the node its admin commands report on and
// change. A server without one (a one-node deployment over
// coordinator.New) reports itself as the only member, "local", owning the
// one partition of that deployment's ring, with dynkv_cluster:0 and
// antientropy_enabled:0, and refuses membership changes.
//
// REQUIRES: called before Serve or ListenAndServe. The server reads it
// without a lock, so setting it while clients are served is a data race.
func (s *Server) SetAdmin(a Admin) { s.admin = a }
