package replica

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cespare/xxhash/v2"

	"github.com/dynkv/dynkv/engine"
	"github.com/dynkv/dynkv/hashslot"
	"github.com/dynkv/dynkv/version"
)

// Key layout. A user key is stored under 'k' + its hash slot (2 bytes, big
// endian) + xxhash64 of the key (8 bytes, big endian) + the key, so that
// the keys of one slot, and of one partition (a contiguous range of slots,
// see ring.Ring.SlotRange), are one contiguous range of pebble keys:
// anti-entropy and handoff iterate a partition without touching the others.
// Within a slot, keys are ordered by their hash: a position in the key
// space is (slot, hash), which fits the 64-bit SCAN cursor (see
// Position) whatever the keys look like, and the hash is the one the
// Merkle leaf of the key is taken from (merkle.LeafOf).
//
// The layout is versioned by the metadata record metaFormat:
//
//	1: 'k' + key (no format record); refused.
//	2: 'k' + slot + key; migrated to 4 by Open (migrateV2).
//	3: 'k' + slot + hash + key.
//	4: as 3, and expiries: records of version.RecordFormat 2 and the
//	   expiry index ('e', expiry.go). A version 3 (or 2) directory's records
//	   are all of format 1, which version 4 reads as values that never
//	   expire, so its expiry index is rightly empty: Open upgrades it by
//	   rewriting the format record. A dynkv of version 3 refuses a version
//	   4 directory (it could not read the expiries).
const layoutVersion byte = 4

// dataHeader is the length of a data record's pebble key before the user
// key: space, slot, hash.
const dataHeader = 1 + 2 + 8

var metaFormat = []byte{spaceMeta, 'f', 'o', 'r', 'm', 'a', 't'}

// ErrFormat is returned by Open for a data directory written in a layout
// this version cannot read.
var ErrFormat = errors.New("replica: unsupported data directory format")

// dataKey returns the pebble key of user key key.
func dataKey(key []byte) []byte {
	k := make([]byte, dataHeader+len(key))
	k[0] = spaceData
	binary.BigEndian.PutUint16(k[1:], uint16(hashslot.Of(key)))
	binary.BigEndian.PutUint64(k[3:], xxhash.Sum64(key))
	copy(k[dataHeader:], key)
	return k
}

// slotBounds returns the pebble key range [lower, upper) of the records of
// slots first..last.
func slotBounds(first, last int) (lower, upper []byte) {
	lower = binary.BigEndian.AppendUint16([]byte{spaceData}, uint16(first))
	if last+1 >= hashslot.Count {
		return lower, []byte{spaceData + 1}
	}
	return lower, binary.BigEndian.AppendUint16([]byte{spaceData}, uint16(last+1))
}

// userKey returns the user key of a data record's pebble key, which is at
// least dataHeader bytes long.
func userKey(k []byte) []byte { return k[dataHeader:] }

// keyHash returns the hash of a data record's pebble key.
func keyHash(k []byte) uint64 { return binary.BigEndian.Uint64(k[3:dataHeader]) }

// checkFormat accepts a data directory in the current layout, migrates one
// in layout 2, marks a new (empty) one as current, and refuses any other.
func (s *Store) checkFormat() error {
	v, closer, err := s.db.Get(metaFormat)
	if err == nil {
		defer closer.Close()
		switch {
		case len(v) == 1 && v[0] == layoutVersion:
			return nil
		case len(v) == 1 && v[0] == 2:
			return s.migrateV2()
		case len(v) == 1 && v[0] == 3:
			if err := s.setDurable(metaFormat, []byte{layoutVersion}); err != nil {
				return fmt.Errorf("replica: migrate format 3 to %d: %w", layoutVersion, err)
			}
			s.log.Info("data directory migrated", "from", 3, "to", layoutVersion)
			return nil
		case len(v) == 1:
			return fmt.Errorf("%w: %s has format version %d, this dynkv reads format versions 2 to %d", ErrFormat, s.dir, v[0], layoutVersion)
		}
		return fmt.Errorf("%w: %s has format record %x, this dynkv reads format version %d", ErrFormat, s.dir, v, layoutVersion)
	}
	if !errors.Is(err, engine.ErrNotFound) {
		return fmt.Errorf("replica: read format: %w", err)
	}
	if err := s.checkNoOldData(); err != nil {
		return err
	}
	if err := s.setDurable(metaFormat, []byte{layoutVersion}); err != nil {
		return fmt.Errorf("replica: write format: %w", err)
	}
	return nil
}

// checkFormatReadOnly is checkFormat for a store opened read-only, which
// cannot mark a new directory.
func (s *Store) checkFormatReadOnly() error {
	_, closer, err := s.db.Get(metaFormat)
	switch {
	case err == nil:
		_ = closer.Close()
		return s.checkFormat() // it writes nothing for a marked directory
	case !errors.Is(err, engine.ErrNotFound):
		return fmt.Errorf("replica: read format: %w", err)
	}
	return s.checkNoOldData()
}

// checkNoOldData refuses a directory with data but no format record: a
// directory of layout 1.
func (s *Store) checkNoOldData() error {
	for _, space := range []byte{spaceData, spaceHint, spaceTree, spaceTombs, spaceExpiry} {
		it, err := s.db.NewIter([]byte{space}, []byte{space + 1})
		if err != nil {
			return fmt.Errorf("replica: read format: %w", err)
		}
		found := it.First()
		if err := it.Close(); err != nil {
			return fmt.Errorf("replica: read format: %w", err)
		}
		if found {
			return fmt.Errorf("%w: %s has data in format version 1 (before hash slots), this dynkv reads format version %d; start on an empty data directory", ErrFormat, s.dir, layoutVersion)
		}
	}
	return nil
}

// migrateBatch is the number of records migrateV2 moves per batch.
const migrateBatch = 1024

// migrateV2 rewrites a layout 2 directory ('k' + slot + key) into layout 3:
// every data record moves to its new key, and the tombstone index ('x' +
// data key) is dropped and the hash tree marked missing, so that loadTree
// rebuilds both from the moved records (the leaves themselves do not
// change: a key's leaf was already taken from the same hash). Records move
// in batches, each deleting the old keys and setting the new ones
// atomically; a layout 2 key is told from a layout 3 one by its own
// bytes (its hash field would have to equal the hash of its remainder),
// so a migration interrupted by a crash resumes where it stopped. The
// format record is written last, durably.
func (s *Store) migrateV2() error {
	s.log.Info("migrating data directory", "dir", s.dir, "from", 2, "to", layoutVersion)
	if err := s.db.DeleteRange([]byte{spaceTombs}, []byte{spaceTombs + 1}, false); err != nil {
		return fmt.Errorf("replica: migrate: %w", err)
	}
	if err := s.db.Delete(metaTree, true); err != nil {
		return fmt.Errorf("replica: migrate: %w", err)
	}
	moved := 0
	lower := []byte{spaceData}
	for {
		n, next, err := s.migrateSome(lower)
		if err != nil {
			return fmt.Errorf("replica: migrate: %w", err)
		}
		moved += n
		if next == nil {
			break
		}
		lower = next
	}
	if err := s.setDurable(metaFormat, []byte{layoutVersion}); err != nil {
		return fmt.Errorf("replica: migrate: write format: %w", err)
	}
	s.log.Info("migrated data directory", "dir", s.dir, "records", moved)
	return nil
}

// isV3Key reports whether the data key k is in layout 3.
func isV3Key(k []byte) bool {
	return len(k) >= dataHeader && keyHash(k) == xxhash.Sum64(userKey(k)) &&
		binary.BigEndian.Uint16(k[1:3]) == uint16(hashslot.Of(userKey(k)))
}

// migrateSome moves up to migrateBatch layout 2 records from lower on and
// returns how many it moved and where to continue (nil: done).
func (s *Store) migrateSome(lower []byte) (int, []byte, error) {
	it, err := s.db.NewIter(lower, []byte{spaceData + 1})
	if err != nil {
		return 0, nil, err
	}
	b := s.db.NewBatch()
	defer b.Close()
	n := 0
	var next []byte
	for it.First(); it.Valid(); it.Next() {
		if n == migrateBatch {
			next = append([]byte(nil), it.Key()...)
			break
		}
		k := it.Key()
		if len(k) < 3 || isV3Key(k) {
			continue // a record the interrupted migration already moved
		}
		b.Delete(k)
		b.Set(dataKey(k[3:]), it.Value())
		n++
	}
	if err := it.Close(); err != nil {
		return 0, nil, err
	}
	return n, next, b.Commit(true)
}

// Position is a point in the key space in SCAN order: a hash slot and the
// top PositionBits bits of a key hash within it. As a uint64 it is slot <<
// PositionBits | hash >> (64 - PositionBits), which uses all 64 bits; 0 is
// the start.
type Position uint64

// PositionBits is the number of bits of a key's hash a Position keeps.
const PositionBits = 50

// PositionOf returns the Position of key.
func PositionOf(key []byte) Position {
	return Position(hashslot.Of(key))<<PositionBits | Position(xxhash.Sum64(key)>>(64-PositionBits))
}

// Slot returns the hash slot of p.
func (p Position) Slot() int { return int(p >> PositionBits) }

// positionOfDataKey returns the Position of a data record's pebble key.
func positionOfDataKey(k []byte) Position {
	return Position(binary.BigEndian.Uint16(k[1:3]))<<PositionBits | Position(keyHash(k)>>(64-PositionBits))
}

// lowerBound returns the first pebble data key at or after p.
func (p Position) lowerBound() []byte {
	k := binary.BigEndian.AppendUint16([]byte{spaceData}, uint16(p.Slot()))
	return binary.BigEndian.AppendUint64(k, uint64(p&(1<<PositionBits-1))<<(64-PositionBits))
}

// Record is one stored key and its siblings.
type Record struct {
	Key      []byte
	Siblings version.Siblings
}

// scanBatchBytes bounds the record bytes one Scan call returns.
const scanBatchBytes = 4 << 20

// Scan returns, in key order, up to limit records (and about 4 MiB) of the
// keys whose hash slot is in first..last, starting after the key after (nil:
// from the start of the range). Keys come in pebble key order (slot, then
// key hash), not sorted by user key; pass back the Key of the last record
// returned to continue. Records that fail to decode are counted and skipped. The result
// is the caller's.
func (s *Store) Scan(ctx context.Context, first, last int, after []byte, limit int) ([]Record, error) {
	if first < 0 || last >= hashslot.Count || first > last {
		return nil, fmt.Errorf("replica: scan slots %d..%d: %w", first, last, ErrBadRequest)
	}
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.open.RUnlock()
	lower, upper := slotBounds(first, last)
	if after != nil {
		lower = append(dataKey(after), 0)
		if bytes.Compare(lower, upper) >= 0 {
			return nil, nil
		}
	}
	it, err := s.db.NewIter(lower, upper)
	if err != nil {
		return nil, fmt.Errorf("replica: scan: %w", err)
	}
	defer it.Close()
	var out []Record
	size := 0
	for it.First(); it.Valid() && len(out) < limit && size < scanBatchBytes; it.Next() {
		size += len(it.Value())
		ss, err := version.DecodeRecord(append([]byte(nil), it.Value()...))
		if err != nil || len(it.Key()) < dataHeader {
			s.corrupt.Add(1)
			continue
		}
		out = append(out, Record{Key: append([]byte(nil), userKey(it.Key())...), Siblings: ss})
	}
	return out, it.Error()
}

// Drop deletes key if it holds exactly the versions of ss: the caller
// handed them to the key's replicas and this node no longer replicates it.
// A key that gained versions since is left alone. It returns what the key
// holds afterwards.
func (s *Store) Drop(ctx context.Context, key []byte, ss version.Siblings) (version.Siblings, error) {
	return s.Update(ctx, key, func(cur version.Siblings) (version.Siblings, error) {
		if !version.SameVersions(cur, ss) {
			return cur, nil
		}
		return nil, nil
	})
}

// MaxKeysFrom bounds the limit of one KeysFrom call.
const MaxKeysFrom = 4096

// KeysFrom returns, in Position order, the keys at or after from whose hash
// slot is at most last, with their siblings stripped of their values (the
// versions, tombstones and timestamps remain: enough to tell whether a key
// is deleted and to write a tombstone covering it). It returns at least
// limit keys (capped to MaxKeysFrom) when there are that many, and then
// every further key with the same Position as the last one returned, so
// that resuming at next never skips a key. next is the Position of the
// first key not returned; done reports that there is none in the range.
// Records that fail to decode are skipped. The result is the caller's. A
// batch also ends after about scanBatchBytes of keys and versions, so that
// a reply stays far below a peer frame whatever the keys' sizes.
func (s *Store) KeysFrom(ctx context.Context, from Position, last, limit int) (recs []Record, next Position, done bool, err error) {
	if last < from.Slot() || last >= hashslot.Count || limit < 1 {
		return nil, 0, false, fmt.Errorf("replica: keys from %d to slot %d: %w", from, last, ErrBadRequest)
	}
	limit = min(limit, MaxKeysFrom)
	if err := s.enter(ctx); err != nil {
		return nil, 0, false, err
	}
	defer s.open.RUnlock()
	_, upper := slotBounds(last, last)
	it, err := s.db.NewIter(from.lowerBound(), upper)
	if err != nil {
		return nil, 0, false, fmt.Errorf("replica: keys from: %w", err)
	}
	defer it.Close()
	var lastPos Position // of the last key returned
	size := 0
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if len(k) < dataHeader {
			continue
		}
		pos := positionOfDataKey(k)
		if (len(recs) >= limit || size >= scanBatchBytes) && len(recs) > 0 && pos != lastPos {
			return recs, pos, false, nil
		}
		lastPos = pos
		ss, err := version.DecodeRecord(it.Value())
		if err != nil {
			continue
		}
		for i := range ss {
			ss[i].Value = nil
			size += 64 + 16*len(ss[i].Past)
		}
		size += len(k)
		recs = append(recs, Record{Key: append([]byte(nil), userKey(k)...), Siblings: ss})
	}
	return recs, 0, true, it.Error()
}
