// Package merkle is the shape of the hash tree (Dynamo section 4.7) every
// node keeps over its whole key space and anti-entropy compares: the
// leaves (LeavesPerSlot per hash slot, so a partition's leaves are a
// contiguous range), the leaf of a key, the version hash a key adds to its
// leaf, the fanout of the interior levels and the bounds of one request.
// The store (replica/merkle.go) keeps the leaves; the peer protocol carries
// the requests; anti-entropy walks the tree. It is a leaf: it imports
// nothing of dynkv but hashslot and version.
//
// Everything here is pure and safe for concurrent use.
package merkle
