// Package coordinator runs reads and writes of one key over the key's
// replicas: it assigns the new version of a write, merges the versions that
// replicas return into one sibling set and, in a cluster, waits for R or W
// replicas to answer.
//
// This version coordinates over the node's own replica only (a one-node
// cluster: N, R and W are capped to the one replica there is). The cluster
// issue adds the ring's preference list, remote replicas, sloppy quorum,
// hinted handoff and read repair behind the same API.
//
// Concurrency: a Coordinator is safe for concurrent use. A write runs its
// Value function under the key's lock in the local store, so a
// read-modify-write (SET NX, APPEND, GETSET) is atomic on the coordinating
// node.
package coordinator
