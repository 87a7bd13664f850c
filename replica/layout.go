package replica

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/dynkv/dynkv/hashslot"
	"github.com/dynkv/dynkv/version"
)

// Key layout. A user key is stored under 'k' + its hash slot (2 bytes, big
// endian) + the key, so that the keys of one slot, and of one partition (a
// contiguous range of slots, see ring.Ring.SlotRange), are one contiguous
// range of pebble keys: anti-entropy and handoff iterate a partition
// without touching the others.
//
// The layout is versioned by the metadata record metaFormat. A data
// directory without it that holds data was written by a dynkv that stored
// 'k' + key; Open refuses it (ErrFormat) rather than misread it.

// layoutVersion is the format version of the data directory this package
// writes and reads: the key layout (and, through it, version.RecordFormat).
// Every change to either bumps it; Open refuses a directory of another
// version with an error naming both, except the versions it migrates.
//
// Version 3 added expiries: records of version.RecordFormat 2 and the
// expiry index ('e', expiry.go). A version 2 directory is migrated in
// place by rewriting its format record: its records are all of format 1,
// which version 3 reads as values that never expire, so its expiry index
// is rightly empty. A dynkv of version 2 refuses a version 3 directory
// (it could not read the expiries).
const layoutVersion byte = 3

// migratable are the older layout versions checkFormat upgrades in place.
var migratable = map[byte]bool{2: true}

var metaFormat = []byte{spaceMeta, 'f', 'o', 'r', 'm', 'a', 't'}

// ErrFormat is returned by Open for a data directory written in a layout
// this version cannot read.
var ErrFormat = errors.New("replica: unsupported data directory format")

// dataKey returns the pebble key of user key key.
func dataKey(key []byte) []byte {
	k := make([]byte, 3+len(key))
	k[0] = spaceData
	binary.BigEndian.PutUint16(k[1:], uint16(hashslot.Of(key)))
	copy(k[3:], key)
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
// least 3 bytes long.
func userKey(k []byte) []byte { return k[3:] }

// checkFormat accepts a data directory in the current layout, marks a new
// (empty) one as such, and refuses any other.
func (s *Store) checkFormat() error {
	v, closer, err := s.db.Get(metaFormat)
	if err == nil {
		defer closer.Close()
		if len(v) == 1 && migratable[v[0]] {
			from := v[0]
			if err := s.setDurable(metaFormat, []byte{layoutVersion}); err != nil {
				return fmt.Errorf("replica: migrate format %d to %d: %w", from, layoutVersion, err)
			}
			s.log.Info("data directory migrated", "from", from, "to", layoutVersion)
			return nil
		}
		if len(v) != 1 || v[0] != layoutVersion {
			if len(v) == 1 {
				return fmt.Errorf("%w: %s has format version %d, this dynkv reads format version %d", ErrFormat, s.dir, v[0], layoutVersion)
			}
			return fmt.Errorf("%w: %s has format record %x, this dynkv reads format version %d", ErrFormat, s.dir, v, layoutVersion)
		}
		return nil
	}
	if !errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("replica: read format: %w", err)
	}
	for _, space := range []byte{spaceData, spaceHint, spaceTree, spaceTombs, spaceExpiry} {
		it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{space}, UpperBound: []byte{space + 1}})
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
	if err := s.setDurable(metaFormat, []byte{layoutVersion}); err != nil {
		return fmt.Errorf("replica: write format: %w", err)
	}
	return nil
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
// from the start of the range). Keys in slot order are not sorted by user
// key across slots; pass back the Key of the last record returned to
// continue. Records that fail to decode are counted and skipped. The result
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
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, fmt.Errorf("replica: scan: %w", err)
	}
	defer it.Close()
	var out []Record
	size := 0
	for it.First(); it.Valid() && len(out) < limit && size < scanBatchBytes; it.Next() {
		size += len(it.Value())
		ss, err := version.DecodeRecord(append([]byte(nil), it.Value()...))
		if err != nil || len(it.Key()) < 3 {
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
