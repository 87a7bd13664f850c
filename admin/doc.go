// Package admin holds the data a node reports to its operators and the
// membership changes they ask of it: ring members, plans of joins and
// leaves, the counters of the store and of anti-entropy. ring, replica and
// antientropy produce these values; resp renders them (RING, INFO) without
// importing those packages; node connects the two. It is a leaf: it
// imports nothing of dynkv.
//
// The types are plain values, safe to copy and to share once built.
package admin
