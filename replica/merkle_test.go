package replica

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/hashslot"
	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/version"
)

// scanLeaves recomputes every leaf from the store's records, the naive way.
func scanLeaves(t testing.TB, s *Store) []uint64 {
	t.Helper()
	out := make([]uint64, merkle.Leaves)
	var after []byte
	for {
		recs, err := s.Scan(context.Background(), 0, hashslot.Count-1, after, 1000)
		require.NoError(t, err)
		if len(recs) == 0 {
			return out
		}
		for _, r := range recs {
			out[merkle.LeafOf(r.Key)] ^= merkle.VersionHash(r.Key, r.Siblings)
		}
		after = recs[len(recs)-1].Key
	}
}

// checkTombIndex: the tombstone index lists exactly the keys holding only
// tombstones.
func checkTombIndex(t testing.TB, s *Store) {
	t.Helper()
	ctx := context.Background()
	want, got := map[string]bool{}, map[string]bool{}
	recs, err := s.Scan(ctx, 0, hashslot.Count-1, nil, 1<<30)
	require.NoError(t, err)
	for _, r := range recs {
		if onlyTombstones(r.Siblings) {
			want[string(r.Key)] = true
		}
	}
	var after []byte
	for {
		ts, err := s.Tombstones(ctx, 0, hashslot.Count-1, after, 10)
		require.NoError(t, err)
		if len(ts) == 0 {
			break
		}
		for _, r := range ts {
			got[string(r.Key)] = true
		}
		after = ts[len(ts)-1].Key
	}
	require.Equal(t, want, got)
}

func memLeaves(s *Store) []uint64 {
	out := make([]uint64, merkle.Leaves)
	for i := range out {
		out[i] = s.tree.leaves[i].Load()
	}
	return out
}

func root(t testing.TB, s *Store) uint64 {
	t.Helper()
	h, err := s.TreeNodes(context.Background(), 0, merkle.Leaves, merkle.Leaves, []int{0})
	require.NoError(t, err)
	return h[0]
}

// TestStore_Scan: a slot range is one contiguous key range, paged with after.
func TestStore_Scan(t *testing.T) {
	s, _ := openMem(t, DurabilityNone)
	ctx := context.Background()
	want := map[string]bool{}
	for i := range 300 {
		k := fmt.Sprintf("key-%d", i)
		mustPut(t, s, k, "v")
		if slot := hashslot.Of([]byte(k)); slot >= 1000 && slot <= 9000 {
			want[k] = true
		}
	}
	got := map[string]bool{}
	var after []byte
	for {
		recs, err := s.Scan(ctx, 1000, 9000, after, 7)
		require.NoError(t, err)
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			require.False(t, got[string(r.Key)], "key %s twice", r.Key)
			got[string(r.Key)] = true
			require.Equal(t, []string{"v"}, liveValues(r.Siblings))
		}
		after = recs[len(recs)-1].Key
	}
	require.Equal(t, want, got)
	_, err := s.Scan(ctx, 5, 4, nil, 1)
	require.ErrorIs(t, err, ErrBadRequest)
}

// TestStore_RefusesOldLayout: a data directory holding records in the
// layout before hash slots is refused, not misread; a new one is accepted.
func TestStore_RefusesOldLayout(t *testing.T) {
	fs := vfs.NewMem()
	db, err := pebble.Open("db", &pebble.Options{FS: fs})
	require.NoError(t, err)
	require.NoError(t, db.Set([]byte("kcart:1"), version.EncodeRecord(version.Siblings{valSib(1, 1, nil, 1, "x")}), pebble.Sync))
	require.NoError(t, db.Close())
	_, err = Open(Config{Dir: "db", FS: fs, Durability: DurabilityNone})
	require.ErrorIs(t, err, ErrFormat)

	s, fs2 := openMem(t, DurabilityNone)
	require.NoError(t, s.Close())
	rawSet(t, fs2, metaFormat, []byte{9})
	_, err = Open(Config{Dir: "db", FS: fs2, Durability: DurabilityNone})
	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, fmt.Sprintf("db has format version 9, this dynkv reads format versions 2 to %d", layoutVersion))
}

// TestTree_IncrementalMatchesScan: after any mix of writes, deletes, merges
// and collections the leaves kept per write equal the leaves recomputed
// from the records; Open loads them as persisted, and rebuilds them (to the
// same values) only when they are missing or corrupt.
func TestTree_IncrementalMatchesScan(t *testing.T) {
	r := newRand(t)
	s, fs := openMem(t, DurabilityFsync)
	ctx := context.Background()
	for i := range 2000 {
		k := fmt.Sprintf("k%d", r.IntN(500))
		switch r.IntN(4) {
		case 0:
			mustDel(t, s, k)
		case 1:
			_, err := s.Merge(ctx, []byte(k), version.Siblings{valSib(version.Actor(r.IntN(3)+100), uint64(i+1), nil, 1, "m")})
			require.NoError(t, err)
		case 2:
			cur, err := s.Get(ctx, []byte(k))
			require.NoError(t, err)
			if len(cur) > 0 && len(cur.Live()) == 0 {
				_, err = s.Collect(ctx, []byte(k), cur)
				require.NoError(t, err)
			}
		default:
			mustPut(t, s, k, "v")
		}
	}
	want := scanLeaves(t, s)
	require.Equal(t, want, memLeaves(s))
	require.NotZero(t, root(t, s))
	checkTombIndex(t, s)

	s = reopenStore(t, s, fs, DurabilityFsync)
	require.Zero(t, s.Stats().TreeRebuilds, "a persisted tree is loaded, not rebuilt")
	require.Equal(t, want, memLeaves(s))

	t.Run("missing", func(t *testing.T) {
		require.NoError(t, s.Close())
		db, err := pebble.Open("db", &pebble.Options{FS: fs, Merger: xorMerger})
		require.NoError(t, err)
		require.NoError(t, db.Delete(metaTree, pebble.Sync))
		require.NoError(t, db.DeleteRange([]byte{spaceTree}, []byte{spaceTree + 1}, pebble.Sync))
		require.NoError(t, db.Close())
		s, err = Open(Config{Dir: "db", FS: fs, Durability: DurabilityFsync})
		require.NoError(t, err)
		require.Equal(t, int64(1), s.Stats().TreeRebuilds)
		require.Equal(t, want, memLeaves(s))
		checkTombIndex(t, s)
	})
	t.Run("corrupt", func(t *testing.T) {
		require.NoError(t, s.Close())
		rawSet(t, fs, treeKey(7), []byte{1, 2, 3})
		var err error
		s, err = Open(Config{Dir: "db", FS: fs, Durability: DurabilityFsync})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		require.Equal(t, int64(1), s.Stats().TreeRebuilds)
		require.Equal(t, want, memLeaves(s))
	})
}

// TestTree_SameVersionsSameHash: replicas that reach the same versions by
// different routes have the same tree; one differing key changes exactly
// its leaf and the nodes above it.
func TestTree_SameVersionsSameHash(t *testing.T) {
	ctx := context.Background()
	a, _ := openMem(t, DurabilityNone)
	b, _ := openMem(t, DurabilityNone)
	var writes []Record
	for i := range 100 {
		writes = append(writes, Record{Key: fmt.Appendf(nil, "k%d", i%40), Siblings: version.Siblings{valSib(version.Actor(i%3+1), uint64(i+1), nil, int64(i), "v")}})
	}
	for _, w := range writes {
		_, err := a.Merge(ctx, w.Key, w.Siblings)
		require.NoError(t, err)
	}
	for _, w := range slices.Backward(writes) {
		w.Siblings[0].Timestamp = 0 // timestamps are not versions
		_, err := b.Merge(ctx, w.Key, w.Siblings)
		require.NoError(t, err)
	}
	require.Equal(t, root(t, a), root(t, b))
	require.Equal(t, memLeaves(a), memLeaves(b))

	mustPut(t, b, "k7", "new")
	la, lb := memLeaves(a), memLeaves(b)
	var diff []int
	for i := range la {
		if la[i] != lb[i] {
			diff = append(diff, i)
		}
	}
	require.Equal(t, []int{merkle.LeafOf([]byte("k7"))}, diff)
	require.NotEqual(t, root(t, a), root(t, b))

	keys, err := b.LeafKeys(ctx, diff)
	require.NoError(t, err)
	var found bool
	for _, k := range keys {
		require.Equal(t, merkle.LeafOf(k.Key), diff[0])
		found = found || bytes.Equal(k.Key, []byte("k7"))
	}
	require.True(t, found)
}

// TestTree_BadArguments: out-of-range or unbounded tree requests are refused.
func TestTree_BadArguments(t *testing.T) {
	s, _ := openMem(t, DurabilityNone)
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		lo, hi, span int
		idx          []int
	}{
		{"empty range", 5, 5, 1, []int{0}},
		{"beyond", 0, merkle.Leaves + 1, 1, []int{0}},
		{"zero span", 0, 16, 0, []int{0}},
		{"index beyond", 0, 16, 1, []int{17}},
		{"repeated index", 0, 16, 1, []int{1, 1}},
		{"too many", 0, merkle.Leaves, 1, make([]int, merkle.MaxNodes+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.TreeNodes(ctx, tc.lo, tc.hi, tc.span, tc.idx)
			require.ErrorIs(t, err, ErrBadRequest)
		})
	}
	_, err := s.LeafKeys(ctx, []int{merkle.Leaves})
	require.ErrorIs(t, err, ErrBadRequest)
	_, err = s.Collect(ctx, []byte("k"), version.Siblings{valSib(1, 1, nil, 1, "live")})
	require.ErrorIs(t, err, ErrBadRequest, "only tombstones are collected")
}

// TestStore_Collect deletes a key only while it holds exactly the given
// tombstones.
func TestStore_Collect(t *testing.T) {
	s, _ := openMem(t, DurabilityNone)
	ctx := context.Background()
	mustPut(t, s, "k", "v")
	tomb := mustDel(t, s, "k")
	newer := mustDel(t, s, "k") // a newer tombstone: the old set is not what k holds
	got, err := s.Collect(ctx, []byte("k"), tomb)
	require.NoError(t, err)
	require.True(t, version.SameVersions(newer, got), "collected although the key holds something newer")
	got, err = s.Collect(ctx, []byte("k"), newer)
	require.NoError(t, err)
	require.Empty(t, got)
	cur, err := s.Get(ctx, []byte("k"))
	require.NoError(t, err)
	require.Empty(t, cur)
	require.Zero(t, root(t, s), "a collected key leaves no trace in the tree")
}
