// Package coordinator runs reads and writes of one key over the key's
// replicas: it assigns the new version of a write, merges the versions that
// replicas return into one sibling set and waits for R or W replicas to
// answer.
//
// The replicas of a key are the first N nodes of its partition's preference
// list (ring.Ring.PreferenceList), its home nodes; the local one is reached
// through Local (the node's replica.Store), the others through peer.Client
// over a peer.Transport. The mechanisms of the Dynamo paper each have a
// file:
//
//   - sloppy_quorum.go: the plan of an operation, the home nodes and the
//     healthy fallbacks that stand in for those that are down or fail
//     (and, during a ring change, the pending homes of the next ring);
//     suspect.go plans around a node that lets an attempt time out before
//     gossip declares it dead.
//   - deadline.go: each call to a peer within an operation is waited for
//     only its hop deadline, derived from that peer's measured round trips
//     (an estimator per peer, as TCP's retransmission timeout), after
//     which the operation goes to the next home or a fallback; the call
//     runs on, and a late reply is measured and lifts the suspicion.
//   - read.go: Get asks the home nodes in parallel and answers after R.
//   - read_repair.go: after a read, the merged set goes to every home
//     replica that answered with less, in the background.
//   - write.go: Put applies the write to the local replica under the key's
//     lock (version.Write), sends the resulting set to the other homes in
//     parallel and answers after W; a fallback that takes a write for a
//     home keeps it as a hint, and with no fallback left this node does.
//   - hinted_handoff.go: ReplayHints and RunHandoff hand the hints this node
//     holds to their nodes once they are alive again, paced to
//     Config.HandoffRate times the share the node's admission controller
//     grants; Get and Put (and Serve) tell that controller how long each
//     operation took.
//   - forward.go: a node that is not one of the key's home nodes forwards a
//     write to one (peer.OpForward), so versions only ever name home nodes;
//     Serve answers the writes forwarded to this node.
//   - keyspace.go: Scan walks every key of the cluster from a stateless
//     cursor (a replica.Position), reading each partition from all its
//     homes and merging; ServeScan answers peer.OpScan from the local
//     replica.
//   - flush.go: Flush (FLUSHALL) deletes every key the walk finds with a
//     tombstone covering exactly the versions read; FlushAsync runs it in
//     the background, one at a time.
//
// New builds the coordinator of a one-node deployment (N, R and W capped to
// the one replica there is); NewCluster the coordinator of a cluster node.
//
// Concurrency: a Coordinator is safe for concurrent use. A write runs its
// Value function under the key's lock in the local store, so a
// read-modify-write (SET NX, APPEND, GETSET) is atomic on the coordinating
// node. Background work (read repair, deliveries still under way) runs
// under the Coordinator's lifetime and Close waits for it.
package coordinator
