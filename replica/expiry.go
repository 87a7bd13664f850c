package replica

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"

	"github.com/dynkv/dynkv/engine"
	"github.com/dynkv/dynkv/version"
)

// Expiry. A sibling's expiry is an absolute time stored with it
// (version.Sibling.Expiry), so every replica decides the same: a value
// expired at time t reads as a tombstone with the same dot
// (version.Siblings.At), wherever it is read. Reclaiming makes that
// reading durable: ReclaimExpired rewrites a record whose values have
// expired with those values turned into tombstones of the same dots,
// pasts and timestamps (version.Sibling.Reclaimed). The versions do not
// change, so the hash tree (which hashes dots only) does not either, and
// version.Sync prefers the tombstone when it meets the expired value on
// another replica, so no replica brings the value (or an older version it
// superseded) back. The record then holds only tombstones, is indexed as
// such ('x', merkle.go), and tombstone collection deletes it once every
// replica holds it, as any delete.
//
// The expiry index finds the records to reclaim without scanning the
// data: 'e' + the record's earliest expiry (8 bytes, big endian unix ms)
// + the data key → empty, written in the batch of the record (batchUpdate),
// so it is exactly as durable as the record. A record whose values do not
// expire has no entry.

const spaceExpiry byte = 'e'

// expiryKey returns the index entry of the data key k expiring at ms.
func expiryKey(ms int64, k []byte) []byte {
	b := make([]byte, 0, 9+len(k))
	b = append(b, spaceExpiry)
	b = binary.BigEndian.AppendUint64(b, uint64(ms))
	return append(b, k...)
}

// indexExpiry adds to b the changes of the expiry index of the data key k
// going from cur to next.
func indexExpiry(b engine.Batch, k []byte, cur, next version.Siblings) {
	was, is := cur.NextExpiry(), next.NextExpiry()
	if was == is {
		return
	}
	if was != 0 {
		b.Delete(expiryKey(was, k))
	}
	if is != 0 {
		b.Set(expiryKey(is, k), nil)
	}
}

// ReclaimExpired reclaims up to limit records whose earliest expiry is
// before nowMs (unix ms): each expired value becomes a tombstone with the
// same dot (see above). It returns how many records it rewrote and
// whether more are due (call again). Bounded work per call: the caller
// (the node's active expiry loop, or a test) paces it. Every replica
// reclaims the same records the same way, whenever it gets to them;
// reads do not wait for it (they apply version.Siblings.At).
func (s *Store) ReclaimExpired(ctx context.Context, nowMs int64, limit int) (n int, more bool, err error) {
	if limit <= 0 {
		return 0, false, fmt.Errorf("replica: reclaim expired: %w", ErrBadRequest)
	}
	if err := s.enterWrite(ctx); err != nil { // a failing disk refuses it
		return 0, false, err
	}
	defer s.open.RUnlock()
	due, more, err := s.dueExpiries(nowMs, limit)
	if err != nil {
		return 0, false, err
	}
	for _, e := range due {
		if err := ctx.Err(); err != nil {
			return n, true, err
		}
		done, err := s.reclaim(e, nowMs)
		if err != nil {
			return n, true, err
		}
		if done {
			n++
		}
	}
	return n, more, nil
}

// dueExpiries returns up to limit index entries expiring before nowMs, and
// whether there are more.
func (s *Store) dueExpiries(nowMs int64, limit int) ([][]byte, bool, error) {
	upper := []byte{spaceExpiry + 1}
	if nowMs >= 0 && nowMs < math.MaxInt64 {
		// Expired means nowMs > expiry: entries up to nowMs-1 inclusive.
		upper = binary.BigEndian.AppendUint64([]byte{spaceExpiry}, uint64(nowMs))
	}
	it, err := s.db.NewIter([]byte{spaceExpiry}, upper)
	if err != nil {
		return nil, false, fmt.Errorf("replica: reclaim expired: %w", err)
	}
	defer it.Close()
	var due [][]byte
	for it.First(); it.Valid(); it.Next() {
		if len(due) == limit {
			return due, true, it.Error()
		}
		due = append(due, bytes.Clone(it.Key()))
	}
	return due, false, it.Error()
}

// reclaim rewrites the record of the index entry e with what expired by
// nowMs reclaimed, and reports whether it did. An entry that no longer
// matches its record (corrupt, or a bug) is removed.
func (s *Store) reclaim(e []byte, nowMs int64) (bool, error) {
	drop := func() error { return s.commit(func() error { return s.db.Delete(e, s.syncWrites) }, nil) }
	if len(e) < 9+dataHeader || e[9] != spaceData {
		return false, drop()
	}
	k := e[9:]
	mu := &s.locks[maphash.Bytes(s.seed, k)%lockStripes]
	mu.Lock()
	locked := true // until commit takes the lock over
	defer func() {
		if locked {
			mu.Unlock()
		}
	}()
	cur, err := s.getRaw(k)
	if err != nil || cur.NextExpiry() != int64(binary.BigEndian.Uint64(e[1:9])) {
		// A record that does not decode keeps its entry out of the way;
		// one that changed since has its own entry.
		s.log.Warn("stale expiry index entry", "key_len", len(k)-dataHeader)
		return false, drop()
	}
	next := cur.At(nowMs)
	locked = false
	if err := s.commitUpdate(k, cur, next, mu); err != nil {
		return false, fmt.Errorf("replica: reclaim expired: %w", err)
	}
	s.writes.Add(1)
	s.reclaimed.Add(1)
	s.countLive(cur, next)
	return true, nil
}

// Expiring returns how many records the expiry index holds: records with
// a value that expires, reclaimed or not yet. It scans the index (a test
// and INFO aid).
func (s *Store) Expiring(ctx context.Context) (int64, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.open.RUnlock()
	it, err := s.db.NewIter([]byte{spaceExpiry}, []byte{spaceExpiry + 1})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	var n int64
	for it.First(); it.Valid(); it.Next() {
		n++
	}
	return n, it.Error()
}
