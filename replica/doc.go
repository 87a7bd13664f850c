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
//   - A write is acknowledged only when pebble stored it. A store whose
//     disk is full or failing refuses writes at once (ErrDiskFull,
//     ErrDiskIO) and keeps serving reads until the disk takes writes again
//     (health.go).
//
// Store keeps the sibling sets in a storage engine (package engine: pebble,
// or memory with StorageMemory). It serialises read-modify-write of
// a key with striped locks, so Update and Merge are atomic per key; it is
// safe for concurrent use by any number of goroutines. Open starts one
// goroutine, the recovery loop of health.go, which Close stops; Close is
// bounded by Config.CloseTimeout.
package replica
