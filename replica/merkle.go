package replica

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"

	"github.com/dynkv/dynkv/engine"
	"github.com/dynkv/dynkv/hashslot"
	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/version"
)

// The hash tree anti-entropy compares replicas with (Dynamo section 4.7).
//
// Leaves. The key space is cut into Leaves buckets: LeavesPerSlot per hash
// slot, a key going to the bucket of its slot chosen by a hash of the key.
// Since a partition is a contiguous range of slots, its leaves are a
// contiguous range of bucket numbers, and a partition's tree is the part of
// one store-wide tree over that range: the store keeps no per-partition
// state and needs no knowledge of the ring.
//
// A leaf's hash is the XOR of the version hashes of its keys, where a key's
// version hash is a 64-bit hash of the key and the dots of its siblings (a
// key with no siblings hashes to 0). Two replicas that hold the same
// versions of a key hash it the same, whatever the order the writes arrived
// in and whatever their timestamps. XOR makes the leaf an incremental set
// hash: a write changes its leaf by old^new in O(1), without reading the
// other keys of the bucket. The price is that XOR is linear (a crafted set
// of versions could cancel out); the hashed versions carry random actor
// identities no client chooses, so accidental equality is a 2^-64 event.
//
// Interior nodes. A node of span s at index i covers leaves [lo + i*s,
// lo + (i+1)*s) of the range [lo, hi) being compared; its hash is the XOR
// of those leaves, computed when asked (a partition of the default ring has
// 256 leaves, the whole key space 262,144: microseconds to a
// millisecond). Anti-entropy walks down from the root in spans of powers of
// merkle.Fanout, asking for the children of differing nodes only.
//
// Persistence. Each write adds old^new to its leaf's record ('t' + leaf,
// 8 bytes) with a pebble merge operator (XOR) in the same batch as the
// record itself, so the persisted tree is exactly as durable as the data,
// with no extra read per write. Open loads the leaves; it rebuilds them from
// the data (one scan) only when they are missing (the metadata record
// metaTree is absent: a directory whose tree was never completed) or corrupt
// (a leaf record of the wrong size or key). Stats.TreeRebuilds tells which
// happened.

const (
	spaceTree byte = 't' // 't' + leaf (4 bytes, big endian) → XOR of version hashes (8 bytes)
	// spaceTombs indexes the keys that hold only tombstones, so that
	// tombstone collection reads them without scanning the live data:
	// 'x' + data key → empty. Written in the batch of the record.
	spaceTombs byte = 'x'
)

func tombKey(k []byte) []byte { return append([]byte{spaceTombs}, k...) }

// onlyTombstones reports whether ss is non-empty and holds no value.
func onlyTombstones(ss version.Siblings) bool {
	return len(ss) > 0 && !slices.ContainsFunc(ss, func(s version.Sibling) bool { return !s.Tombstone })
}

var metaTree = []byte{spaceMeta, 't', 'r', 'e', 'e'}

// tree is the in-memory copy of the leaves. Leaves are updated after the
// batch that persists their delta commits; readers may see a leaf a write
// or two behind, which the next comparison catches.
type tree struct {
	leaves [merkle.Leaves]atomic.Uint64
}

// xor adds delta to leaf.
func (t *tree) xor(leaf int, delta uint64) {
	for {
		old := t.leaves[leaf].Load()
		if t.leaves[leaf].CompareAndSwap(old, old^delta) {
			return
		}
	}
}

// leafOfDataKey returns the leaf of a data record's pebble key.
func leafOfDataKey(k []byte) int {
	return int(binary.BigEndian.Uint16(k[1:3]))*merkle.LeavesPerSlot + int(keyHash(k)&(merkle.LeavesPerSlot-1))
}

func treeKey(leaf int) []byte { return appendTreeKey(nil, leaf) }

// appendTreeKey appends the key of leaf's record to dst.
func appendTreeKey(dst []byte, leaf int) []byte {
	return binary.BigEndian.AppendUint32(append(dst, spaceTree), uint32(leaf))
}

// xorMerger is the pebble merge operator of leaf records. It never fails:
// an operand that is not 8 bytes makes the result empty, which loadTree
// reports as corrupt.
var xorMerger = &pebble.Merger{
	Name: "dynkv.xor64",
	Merge: func(_, value []byte) (pebble.ValueMerger, error) {
		m := &xorValue{}
		_ = m.MergeNewer(value)
		return m, nil
	},
}

// xorMerge is xorMerger for engine.Memory, which merges at once.
func xorMerge(old, operand []byte) []byte {
	m := &xorValue{}
	if old != nil {
		_ = m.MergeNewer(old)
	}
	_ = m.MergeNewer(operand)
	v, _, _ := m.Finish(true)
	return v
}

type xorValue struct {
	sum uint64
	bad bool
}

func (m *xorValue) MergeNewer(v []byte) error {
	if len(v) != 8 {
		m.bad = true
		return nil
	}
	m.sum ^= binary.BigEndian.Uint64(v)
	return nil
}

func (m *xorValue) MergeOlder(v []byte) error { return m.MergeNewer(v) }

func (m *xorValue) Finish(bool) ([]byte, io.Closer, error) {
	if m.bad {
		return []byte{}, nil, nil
	}
	return binary.BigEndian.AppendUint64(nil, m.sum), nil, nil
}

// errTreeCorrupt reports a leaf record that does not decode.
var errTreeCorrupt = errors.New("corrupt leaf record")

// loadTree reads the persisted leaves, rebuilding them from the data when
// they are missing or corrupt.
func (s *Store) loadTree() error {
	_, closer, err := s.db.Get(metaTree)
	reason := "missing"
	switch {
	case err == nil:
		_ = closer.Close()
		if err = s.readLeaves(); err == nil {
			return nil
		}
		if !errors.Is(err, errTreeCorrupt) {
			return fmt.Errorf("replica: read tree: %w", err)
		}
		reason = "corrupt"
	case !errors.Is(err, engine.ErrNotFound):
		return fmt.Errorf("replica: read tree marker: %w", err)
	}
	if reason == "missing" && s.live.Load() == 0 && s.corrupt.Load() == 0 {
		s.log.Debug("new hash tree") // most likely a new data directory
	} else {
		s.log.Warn("rebuilding hash tree", "reason", reason)
		s.treeRebuilds.Add(1)
	}
	if s.readOnly() {
		// Nothing can be persisted: the leaves live in memory until the
		// store is reopened for writing, which rebuilds them again.
		leaves, err := s.leavesFromRecords(func([]byte, version.Siblings) {})
		if err != nil {
			return fmt.Errorf("replica: rebuild tree: %w", err)
		}
		for i, v := range leaves {
			s.tree.leaves[i].Store(v)
		}
		return nil
	}
	return s.rebuildTree()
}

func (s *Store) readLeaves() error {
	for i := range s.tree.leaves { // a reopened store may hold older leaves
		s.tree.leaves[i].Store(0)
	}
	return s.storedLeaves(func(leaf int, h uint64) { s.tree.leaves[leaf].Store(h) })
}

// storedLeaves calls visit with every persisted leaf record; a leaf with no
// record is 0. A record of the wrong size or key returns errTreeCorrupt.
func (s *Store) storedLeaves(visit func(leaf int, h uint64)) error {
	it, err := s.db.NewIter([]byte{spaceTree}, []byte{spaceTree + 1})
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		k, v := it.Key(), it.Value()
		if len(k) != 5 || len(v) != 8 || binary.BigEndian.Uint32(k[1:]) >= merkle.Leaves {
			return fmt.Errorf("leaf record %x = %x: %w", k, v, errTreeCorrupt)
		}
		visit(int(binary.BigEndian.Uint32(k[1:])), binary.BigEndian.Uint64(v))
	}
	return it.Error()
}

// leavesFromRecords computes every leaf from the data records, calling
// visit with the pebble key and the siblings of each record (for the
// indexes derived from records: tombstones, expiries). Records that fail to
// decode are skipped (countKeys counts them).
func (s *Store) leavesFromRecords(visit func(dataKey []byte, ss version.Siblings)) ([]uint64, error) {
	leaves := make([]uint64, merkle.Leaves)
	it, err := s.db.NewIter([]byte{spaceData}, []byte{spaceData + 1})
	if err != nil {
		return nil, err
	}
	for it.First(); it.Valid(); it.Next() {
		ss, err := version.DecodeRecord(it.Value())
		if err != nil || len(it.Key()) < dataHeader {
			continue
		}
		leaves[leafOfDataKey(it.Key())] ^= merkle.VersionHash(userKey(it.Key()), ss)
		visit(it.Key(), ss)
	}
	return leaves, it.Close()
}

// rebuildTree recomputes every leaf, and the tombstone and expiry indexes,
// from the data and persists them.
func (s *Store) rebuildTree() error {
	b := s.db.NewBatch()
	// Only the spaces that hold something: a range deletion costs pebble
	// a memtable flush sooner or later, which a new directory can do without.
	for _, space := range []byte{spaceTree, spaceTombs, spaceExpiry} {
		if s.spaceEmpty(space) {
			continue
		}
		b.DeleteRange([]byte{space}, []byte{space + 1})
	}
	leaves, err := s.leavesFromRecords(func(k []byte, ss version.Siblings) {
		if onlyTombstones(ss) {
			b.Set(tombKey(k), nil)
		}
		if e := ss.NextExpiry(); e != 0 {
			b.Set(expiryKey(e, k), nil)
		}
	})
	if err != nil {
		_ = b.Close()
		return fmt.Errorf("replica: rebuild tree: %w", err)
	}
	for i, v := range leaves {
		s.tree.leaves[i].Store(v)
		if v != 0 {
			b.Set(treeKey(i), binary.BigEndian.AppendUint64(nil, v))
		}
	}
	if err := s.commit(func() error { return b.Commit(false) }, nil); err != nil {
		// The commit may still be running (commit gave up on it at a
		// fault): b is its until then, so it is left to the collector.
		return fmt.Errorf("replica: rebuild tree: %w", err)
	}
	_ = b.Close()
	if err := s.setDurable(metaTree, nil); err != nil {
		return fmt.Errorf("replica: rebuild tree: %w", err)
	}
	return nil
}

// spaceEmpty reports whether the key space holds no key (or cannot be read).
func (s *Store) spaceEmpty(space byte) bool {
	it, err := s.db.NewIter([]byte{space}, []byte{space + 1})
	if err != nil {
		return false
	}
	defer it.Close()
	return !it.First()
}

// TreeNodes returns the hashes of the tree nodes of span span at indexes
// idx over the leaves [lo, hi): node i covers leaves [lo+i*span,
// min(lo+(i+1)*span, hi)), and a node beyond hi hashes to 0. idx must be
// strictly increasing, so a call reads each leaf at most once. It does not
// block on writers.
func (s *Store) TreeNodes(ctx context.Context, lo, hi, span int, idx []int) ([]uint64, error) {
	if lo < 0 || hi > merkle.Leaves || lo >= hi || span < 1 || len(idx) > merkle.MaxNodes {
		return nil, fmt.Errorf("replica: tree nodes: %w", ErrBadRequest)
	}
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.open.RUnlock()
	out := make([]uint64, len(idx))
	for j, i := range idx {
		if i < 0 || i > (hi-lo)/span || (j > 0 && i <= idx[j-1]) {
			return nil, fmt.Errorf("replica: tree nodes: %w", ErrBadRequest)
		}
		var h uint64
		for l := lo + i*span; l < min(lo+(i+1)*span, hi); l++ {
			h ^= s.tree.leaves[l].Load()
		}
		out[j] = h
	}
	return out, nil
}

// LeafKeys returns the keys of the given leaves with their version hashes,
// in no particular order. Records that fail to
// decode are skipped. The result is the caller's.
func (s *Store) LeafKeys(ctx context.Context, leaves []int) ([]merkle.KeyHash, error) {
	if len(leaves) > merkle.MaxLeafKeys {
		return nil, fmt.Errorf("replica: leaf keys: %w", ErrBadRequest)
	}
	for _, l := range leaves {
		if l < 0 || l >= merkle.Leaves {
			return nil, fmt.Errorf("replica: leaf keys: %w", ErrBadRequest)
		}
	}
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.open.RUnlock()
	var out []merkle.KeyHash
	for i := 0; i < len(leaves); {
		// The leaves of one slot share one scan.
		slot := leaves[i] / merkle.LeavesPerSlot
		var want [merkle.LeavesPerSlot]bool
		for ; i < len(leaves) && leaves[i]/merkle.LeavesPerSlot == slot; i++ {
			want[leaves[i]%merkle.LeavesPerSlot] = true
		}
		lower, upper := slotBounds(slot, slot)
		it, err := s.db.NewIter(lower, upper)
		if err != nil {
			return nil, fmt.Errorf("replica: leaf keys: %w", err)
		}
		for it.First(); it.Valid(); it.Next() {
			k := it.Key()
			if len(k) < dataHeader || !want[leafOfDataKey(k)%merkle.LeavesPerSlot] {
				continue
			}
			ss, err := version.DecodeRecord(it.Value())
			if err != nil {
				continue
			}
			key := append([]byte(nil), userKey(k)...)
			out = append(out, merkle.KeyHash{Key: key, Hash: merkle.VersionHash(key, ss)})
		}
		if err := it.Close(); err != nil {
			return nil, fmt.Errorf("replica: leaf keys: %w", err)
		}
	}
	return out, nil
}

// Tombstones returns, like Scan, up to limit keys of slots first..last
// that hold only tombstones, with their siblings, starting after the key
// after. Its cost is proportional to the tombstones, not to the data.
func (s *Store) Tombstones(ctx context.Context, first, last int, after []byte, limit int) ([]Record, error) {
	if first < 0 || last >= hashslot.Count || first > last {
		return nil, fmt.Errorf("replica: tombstones of slots %d..%d: %w", first, last, ErrBadRequest)
	}
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.open.RUnlock()
	lower, upper := slotBounds(first, last)
	lower, upper = tombKey(lower), tombKey(upper)
	if after != nil {
		lower = append(tombKey(dataKey(after)), 0)
		if bytes.Compare(lower, upper) >= 0 {
			return nil, nil
		}
	}
	it, err := s.db.NewIter(lower, upper)
	if err != nil {
		return nil, fmt.Errorf("replica: tombstones: %w", err)
	}
	defer it.Close()
	var out []Record
	for it.First(); it.Valid() && len(out) < limit; it.Next() {
		k := it.Key()[1:]
		if len(k) < dataHeader {
			continue
		}
		ss, err := s.getRaw(k)
		if err != nil || !onlyTombstones(ss) {
			continue // gone or written since the index was read
		}
		out = append(out, Record{Key: append([]byte(nil), userKey(k)...), Siblings: ss})
	}
	return out, it.Error()
}

// Collect deletes key if it holds exactly the versions of ss and they are
// all tombstones: the caller verified that every replica holds them and
// nothing newer (see package antientropy). A key that holds anything else
// (a newer write arrived since) is left alone. It returns what the key
// holds afterwards: nothing if it was collected.
func (s *Store) Collect(ctx context.Context, key []byte, ss version.Siblings) (version.Siblings, error) {
	if len(ss) == 0 || len(ss.Live()) > 0 {
		return nil, fmt.Errorf("replica: collect: %w", ErrBadRequest)
	}
	return s.Update(ctx, key, func(cur version.Siblings) (version.Siblings, error) {
		if !version.SameVersions(cur, ss) || len(cur.Live()) > 0 {
			return cur, nil
		}
		return nil, nil
	})
}
