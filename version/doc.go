// Package version holds the versions dynkv keeps for every key: actors,
// dots, version vectors, siblings, the two ways a sibling set changes
// (Update, a coordinator's write; Sync, replicas meeting) and the encodings
// of a causal context (handed to clients) and of a sibling set (stored and
// sent between nodes). It is a leaf: every layer imports it, it imports
// nothing of dynkv but internal/codec.
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
//
// The functions are pure and the types are values: safe for concurrent use
// as long as a slice is not mutated while another goroutine reads it.
// Decoders check every length against the bytes present, so outside bytes
// yield ErrInvalidContext or ErrCorruptRecord, never a panic or a huge
// allocation.
package version
