// Package replica is the local versioned store of a dynkv node.
//
// Every key holds a set of siblings. A sibling is one value (or tombstone)
// together with its version, a dotted version vector: the Dot that names the
// write that created it (the actor that coordinated it and that actor's
// per-key counter) and Past, the causal context the client supplied with the
// write (the versions it had read). A write with context C replaces exactly
// the siblings whose dots C covers; every sibling it does not cover stays.
// This is what keeps concurrent writers from losing each other's updates
// while keeping the number of siblings bounded by the number of truly
// concurrent writers (no sibling explosion, unlike per-node vector clocks).
//
// Invariants:
//   - Siblings are sorted by Dot and hold no two siblings with the same Dot.
//   - No sibling's Dot is covered by another sibling's Past.
//   - A sibling's Past never covers its own Dot.
//   - A replica's state is causally closed per actor: if it knows dot (a, k)
//     it knows every (a, j) with j < k, either as a sibling or through the
//     Past of a sibling that superseded it. Replicas exchange whole sibling
//     sets (Sync) so that this holds everywhere; it is what makes a context
//     that is a plain version vector (Siblings.Context) sound.
//   - An actor identity belongs to one incarnation of a data directory: a
//     store opened on an empty directory draws a new random actor, so a node
//     that lost its data never reissues dots it issued before (Riak's kv679).
//
// Store keeps the sibling sets in pebble. It serialises read-modify-write of
// a key with striped locks, so Update and Merge are atomic per key; it is
// safe for concurrent use by any number of goroutines.
package replica
