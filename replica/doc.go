// Package replica is the local versioned store of a dynkv node.
//
// Every key holds a set of siblings (package version: dots, version
// vectors, Update and Sync). The store adds what a node needs to keep them:
//
// Invariants:
//   - A stored record is a sibling set that satisfies version's invariants
//     and fits its limits (Siblings.Fits); a write that would break them is
//     refused with version.ErrTooManyVersions.
//   - An actor identity belongs to one incarnation of a data directory: a
//     store opened on an empty directory draws a new random actor, so a node
//     that lost its data never reissues dots it issued before (Riak's kv679).
//
// Store keeps the sibling sets in pebble. It serialises read-modify-write of
// a key with striped locks, so Update and Merge are atomic per key; it is
// safe for concurrent use by any number of goroutines.
package replica
