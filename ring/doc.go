// Package ring maps keys to the nodes that hold them.
//
// A key hashes to one of 16384 slots exactly as in Redis Cluster (CRC16 of
// the key or of its {hashtag}, mod 16384). The slots are grouped into Q
// fixed, equal-sized partitions, each a contiguous slot range (Q is a power
// of two dividing 16384): the Dynamo paper's partitioning strategy 3. The
// partitions are the ring's positions, and the virtual nodes (tokens) of a
// node are the partitions it claims: a node of weight w claims its share
// Q·w/Σw of them, rounded so that every node is within one partition of its
// exact share. The preference list of a partition walks the ring clockwise
// from it and collects the owners it meets: the first N distinct physical
// nodes are the key's replicas, the rest the fallbacks in order.
//
// Claims change only by an explicit join or leave, never by liveness. A
// joining node takes partitions only from nodes above their share (the most
// loaded first) and a leaving node hands its partitions only to nodes below
// theirs, so a change moves exactly the partitions whose owner must change;
// within those rules a node claims partitions as far as possible from its
// other claims, so that consecutive partitions have distinct owners and a
// preference list rarely skips a duplicate. The result is a pure function of
// the previous ring and the change: every node that applies the same change
// to the same ring computes the same mapping.
//
// A Ring is immutable and safe for concurrent use.
package ring
