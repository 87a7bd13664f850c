// Package antientropy keeps the replicas of every partition converged, for
// keys nobody reads (Dynamo section 4.7), and collects the tombstones every
// replica holds.
//
// Each node keeps a hash tree of its data (replica/merkle.go): leaves are
// buckets of keys, a leaf's hash the XOR of the hashes of its keys and their
// versions. A round visits every partition the node replicates (it is one
// of the partition's first N nodes) and exchanges with one other replica
// of it, picked at random among those alive: both walk down the partition's
// tree from the root, asking only for the children of nodes whose hashes
// differ, list the keys of the differing leaves, and for each key whose
// versions differ, sync the two sibling sets (version.Sync: the union less
// what is superseded; never an overwrite) into both replicas. The cost of
// an exchange is proportional to the difference, plus one round trip per
// partition in sync.
//
// Tombstone collection runs after a successful exchange, for partitions
// whose replicas are all alive: a key that holds only tombstones is
// collected when every replica of the key holds exactly those tombstones,
// no node holds a hint for it, and this was verified twice, at least
// Config.TombstoneGrace apart (longer than a coordinator's timeout, so that
// no read repair or hint still in flight can bring back an older version).
// Each replica then deletes the key only if it still holds exactly those
// tombstones (replica.Store.Collect).
//
// After a ring change, rounds also hand the records of partitions a node no
// longer replicates to their current homes and drop them (ownership_handoff.go); the
// node draws a new actor before it forgets versions its actor issued.
// Ownership flips at the ring change, not when the transfer completes.
//
// Concurrency: a Syncer's methods are safe for concurrent use; Run is
// meant to be called once, and RunRound/Exchange may be called directly
// (tests drive rounds that way). Repairs, transfers, handoffs and
// tombstone checks share one pace: Config.Rate times the share the node's
// admission controller (package admission) grants, which falls while the
// node's foreground requests are slow.
package antientropy
