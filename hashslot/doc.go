// Package hashslot maps a key to its Redis Cluster hash slot: CRC16 of the
// key (or of its "{hashtag}") mod 16384. Every layer that places a key uses
// it: the ring (a partition is a contiguous range of slots), the store (its
// records and its Merkle tree are ordered by slot) and the RESP front end
// (CLUSTER KEYSLOT). It is a leaf: it imports nothing of dynkv.
//
// Of is a pure function, safe for concurrent use.
package hashslot
