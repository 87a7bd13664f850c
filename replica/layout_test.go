package replica

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/dynkv/dynkv/hashslot"
	"github.com/dynkv/dynkv/version"
	"github.com/stretchr/testify/require"
)

// v2DataKey is layout 2's pebble key of key: 'k' + slot + key.
func v2DataKey(key []byte) []byte {
	return append(binary.BigEndian.AppendUint16([]byte{spaceData}, uint16(hashslot.Of(key))), key...)
}

// toLayout2 rewrites a closed store's directory into layout 2, as a dynkv
// of that layout would have left it: data records under 'k' + slot + key,
// the tombstone index under 'x' + that key, format record 2.
func toLayout2(t *testing.T, fs vfs.FS) {
	t.Helper()
	db, err := pebble.Open("db", &pebble.Options{FS: fs, Merger: xorMerger})
	require.NoError(t, err)
	b := db.NewBatch()
	for _, space := range []byte{spaceData, spaceTombs} {
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{space}, UpperBound: []byte{space + 1}})
		require.NoError(t, err)
		for it.First(); it.Valid(); it.Next() {
			k := it.Key()
			if space == spaceTombs {
				k = k[1:]
			}
			old := v2DataKey(userKey(k))
			if space == spaceTombs {
				old = tombKey(old)
			}
			require.NoError(t, b.Delete(it.Key(), nil))
			require.NoError(t, b.Set(old, it.Value(), nil))
		}
		require.NoError(t, it.Close())
	}
	require.NoError(t, b.Set(metaFormat, []byte{2}, nil))
	require.NoError(t, b.Commit(pebble.Sync))
	require.NoError(t, db.Close())
}

// TestOpen_MigratesLayout2: a directory in layout 2 (values, tombstones,
// hints, more records than one migration batch) opens in layout 3 with
// every record readable, the tree and the tombstone index as a store
// that wrote them in layout 3 would have, and the format record 3.
func TestOpen_MigratesLayout2(t *testing.T) {
	ctx := context.Background()
	s, fs := openMem(t, DurabilityNone)
	const n = 2*migrateBatch + 10
	for i := range n {
		mustPut(t, s, fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i))
	}
	for i := range 50 {
		mustDel(t, s, fmt.Sprintf("k%d", i))
	}
	require.NoError(t, s.PutHint(ctx, "n2", []byte("hinted"), mustPut(t, s, "h", "x")))
	var roots []uint64
	for l := range 64 {
		r, err := s.TreeNodes(ctx, l*4096, (l+1)*4096, 4096, []int{0})
		require.NoError(t, err)
		roots = append(roots, r[0])
	}
	require.NoError(t, s.Close())
	toLayout2(t, fs)

	s2, err := Open(Config{Dir: "db", FS: fs, Durability: DurabilityNone})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s2.Close() })
	require.Equal(t, []byte{layoutVersion}, rawGetOpen(t, s2, metaFormat))
	for i := range n {
		ss, err := s2.Get(ctx, []byte(fmt.Sprintf("k%d", i)))
		require.NoError(t, err)
		if i < 50 {
			require.True(t, onlyTombstones(ss), "k%d", i)
		} else {
			require.Equal(t, []string{fmt.Sprintf("v%d", i)}, liveValues(ss))
		}
	}
	require.EqualValues(t, n-50+1, s2.Stats().Keys)
	tombs, err := s2.Tombstones(ctx, 0, hashslot.Count-1, nil, 1000)
	require.NoError(t, err)
	require.Len(t, tombs, 50)
	hs, err := s2.GetHint(ctx, "n2", []byte("hinted"))
	require.NoError(t, err)
	require.Equal(t, []string{"x"}, liveValues(hs))
	for l := range 64 {
		r, err := s2.TreeNodes(ctx, l*4096, (l+1)*4096, 4096, []int{0})
		require.NoError(t, err)
		require.Equal(t, roots[l], r[0], "tree range %d", l)
	}
	require.NoError(t, s2.CheckTree(ctx))
	it, err := s2.db.NewIter([]byte{spaceData}, []byte{spaceData + 1})
	require.NoError(t, err)
	for it.First(); it.Valid(); it.Next() {
		require.True(t, isV3Key(it.Key()), "record %q left in layout 2", it.Key())
	}
	require.NoError(t, it.Close())

	// Opened again: nothing left to migrate.
	s3 := reopenStore(t, s2, fs, DurabilityNone)
	require.EqualValues(t, n-50+1, s3.Stats().Keys)
}

// TestOpen_ResumesInterruptedMigration: a directory whose migration
// stopped half way (some records moved, format still 2) opens with every
// record once.
func TestOpen_ResumesInterruptedMigration(t *testing.T) {
	ctx := context.Background()
	s, fs := openMem(t, DurabilityNone)
	for i := range 100 {
		mustPut(t, s, fmt.Sprintf("k%d", i), "v")
	}
	require.NoError(t, s.Close())
	toLayout2(t, fs)
	// Half of the records moved already.
	db, err := pebble.Open("db", &pebble.Options{FS: fs, Merger: xorMerger})
	require.NoError(t, err)
	for i := range 50 {
		k := []byte(fmt.Sprintf("k%d", i))
		v, closer, err := db.Get(v2DataKey(k))
		require.NoError(t, err)
		val := append([]byte(nil), v...)
		require.NoError(t, closer.Close())
		require.NoError(t, db.Delete(v2DataKey(k), nil))
		require.NoError(t, db.Set(dataKey(k), val, nil))
	}
	require.NoError(t, db.Close())

	s2, err := Open(Config{Dir: "db", FS: fs, Durability: DurabilityNone})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s2.Close() })
	require.EqualValues(t, 100, s2.Stats().Keys)
	recs, err := s2.Scan(ctx, 0, hashslot.Count-1, nil, 1000)
	require.NoError(t, err)
	require.Len(t, recs, 100)
	require.NoError(t, s2.CheckTree(ctx))
}

// rawGetOpen reads the pebble key k of an open store.
func rawGetOpen(t *testing.T, s *Store, k []byte) []byte {
	t.Helper()
	v, closer, err := s.db.Get(k)
	require.NoError(t, err)
	defer closer.Close()
	return append([]byte(nil), v...)
}

// TestKeysFrom_ResumesWithoutSkipping: walking the key space in batches of
// every size returns every key exactly once, in Position order, with its
// versions and without its value, also when many keys share one Position.
func TestKeysFrom_ResumesWithoutSkipping(t *testing.T) {
	ctx := context.Background()
	s, _ := openMem(t, DurabilityNone)
	want := map[string]bool{}
	for i := range 500 {
		k := fmt.Sprintf("key:%d", i)
		mustPut(t, s, k, "value")
		want[k] = true
	}
	mustDel(t, s, "key:7")
	for _, limit := range []int{1, 2, 7, 100, 10000} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			got := map[string]bool{}
			var pos Position
			prev := Position(0)
			for calls := 0; ; calls++ {
				require.Less(t, calls, 1000)
				recs, next, done, err := s.KeysFrom(ctx, pos, hashslot.Count-1, limit)
				require.NoError(t, err)
				require.True(t, done || len(recs) >= limit)
				for _, r := range recs {
					require.False(t, got[string(r.Key)], "key %s twice", r.Key)
					got[string(r.Key)] = true
					p := PositionOf(r.Key)
					require.GreaterOrEqual(t, p, prev)
					require.GreaterOrEqual(t, p, pos)
					prev = p
					for _, sib := range r.Siblings {
						require.Empty(t, sib.Value)
					}
					if string(r.Key) == "key:7" {
						require.True(t, onlyTombstones(r.Siblings))
					}
				}
				if done {
					break
				}
				require.Greater(t, next, prev)
				pos = next
			}
			require.Equal(t, want, got)
		})
	}
	t.Run("bounded by slot", func(t *testing.T) {
		recs, _, done, err := s.KeysFrom(ctx, Position(100)<<PositionBits, 200, 10000)
		require.NoError(t, err)
		require.True(t, done)
		for _, r := range recs {
			require.True(t, hashslot.Of(r.Key) >= 100 && hashslot.Of(r.Key) <= 200)
		}
	})
	t.Run("bad request", func(t *testing.T) {
		_, _, _, err := s.KeysFrom(ctx, Position(300)<<PositionBits, 200, 1)
		require.ErrorIs(t, err, ErrBadRequest)
	})
}

// TestKeysFrom_SamePositionExtendsBatch: keys whose Positions collide are
// returned in one batch, so resuming after them skips none.
func TestKeysFrom_SamePositionExtendsBatch(t *testing.T) {
	ctx := context.Background()
	s, _ := openMem(t, DurabilityNone)
	// Records planted under one Position (a 50-bit collision is too rare
	// to find by search): same slot, hashes equal in their top 50 bits.
	keys := []string{"{t}a", "{t}b", "{t}c"}
	slot := hashslot.Of([]byte(keys[0]))
	b := s.db.NewBatch()
	for i, k := range keys {
		dk := binary.BigEndian.AppendUint16([]byte{spaceData}, uint16(slot))
		dk = binary.BigEndian.AppendUint64(dk, 0xabcdef<<20|uint64(i))
		dk = append(dk, k...)
		b.Set(dk, version.EncodeRecord(version.Siblings{valSib(1, uint64(i+1), nil, 1, "v")}))
	}
	require.NoError(t, b.Commit(true))
	recs, _, done, err := s.KeysFrom(ctx, 0, hashslot.Count-1, 1)
	require.NoError(t, err)
	require.True(t, done)
	require.Len(t, recs, 3)
}

// TestKeysFrom_BoundedBytes: a batch of long keys ends after about
// scanBatchBytes, whatever the limit, and the walk still returns them all.
func TestKeysFrom_BoundedBytes(t *testing.T) {
	ctx := context.Background()
	s, _ := openMem(t, DurabilityNone)
	long := make([]byte, 60<<10)
	for i := range 200 {
		copy(long, fmt.Sprintf("%08d", i))
		mustPut(t, s, string(long), "v")
	}
	var pos Position
	total := 0
	for calls := 0; ; calls++ {
		require.Less(t, calls, 100)
		recs, next, done, err := s.KeysFrom(ctx, pos, hashslot.Count-1, MaxKeysFrom)
		require.NoError(t, err)
		require.LessOrEqual(t, len(recs)*len(long), scanBatchBytes+len(long)*2)
		total += len(recs)
		if done {
			break
		}
		pos = next
	}
	require.Equal(t, 200, total)
}
