package merkle

import (
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
	"github.com/dynkv/dynkv/hashslot"
	"github.com/dynkv/dynkv/version"
)

const (
	// LeavesPerSlot is the number of tree leaves per hash slot.
	LeavesPerSlot = 16
	// Leaves is the number of leaves of the whole key space.
	Leaves = hashslot.Count * LeavesPerSlot
	// Fanout is the fanout of the interior levels anti-entropy walks.
	Fanout = 16
)

// LeafRange returns the leaves [lo, hi) of slots first..last.
func LeafRange(first, last int) (lo, hi int) {
	return first * LeavesPerSlot, (last + 1) * LeavesPerSlot
}

// LeafOf returns the tree leaf of a user key.
func LeafOf(key []byte) int {
	return hashslot.Of(key)*LeavesPerSlot + int(xxhash.Sum64(key)&(LeavesPerSlot-1))
}

// VersionHash returns the hash a key with siblings ss contributes to its
// leaf: 0 for no siblings, else a hash of the key and the siblings' dots.
func VersionHash(key []byte, ss version.Siblings) uint64 {
	if len(ss) == 0 {
		return 0
	}
	var d xxhash.Digest
	d.Reset()
	var b [16]byte
	_, _ = d.Write(binary.AppendUvarint(b[:0], uint64(len(key))))
	_, _ = d.Write(key)
	for _, s := range ss {
		binary.BigEndian.PutUint64(b[:8], uint64(s.Dot.Actor))
		binary.BigEndian.PutUint64(b[8:], s.Dot.Counter)
		_, _ = d.Write(b[:])
	}
	return d.Sum64()
}

// MaxNodes bounds the nodes one TreeNodes call (and peer request) asks for.
const MaxNodes = 4096

// KeyHash is a key and its version hash.
type KeyHash struct {
	Key  []byte
	Hash uint64
}

// MaxLeafKeys bounds the leaves one LeafKeys call (and peer request) lists.
const MaxLeafKeys = 256
