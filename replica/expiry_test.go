package replica

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/version"
)

// mustPutExpiring writes value expiring at expiry (unix ms) as the
// successor of everything the store holds for key.
func mustPutExpiring(t testing.TB, s *Store, key, value string, expiry int64) version.Siblings {
	t.Helper()
	ss, err := s.Update(context.Background(), []byte(key), func(cur version.Siblings) (version.Siblings, error) {
		d := version.Dot{Actor: s.Actor(), Counter: version.NextCounter(cur, s.Actor(), cur.Context())}
		return version.WriteExpiring(cur, d, cur.Context(), 1, []byte(value), false, expiry), nil
	})
	require.NoError(t, err)
	return ss
}

// TestReclaimExpired: reclaiming turns exactly the expired values into
// tombstones with the same dots, in order of expiry and in bounded
// batches; the hash tree does not change, the tombstone index gains the
// key, and the expiry index, tree and records stay consistent (CheckTree).
func TestReclaimExpired(t *testing.T) {
	ctx := context.Background()
	s, _ := openMem(t, DurabilityNone)
	mustPut(t, s, "forever", "v")
	before := mustPutExpiring(t, s, "a", "1", 100)
	mustPutExpiring(t, s, "b", "2", 200)
	mustPutExpiring(t, s, "c", "3", 300)
	require.NoError(t, s.CheckTree(ctx))
	n, err := s.Expiring(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(3), n)
	root := func() uint64 {
		h, err := s.TreeNodes(ctx, 0, merkle.Leaves, merkle.Leaves, []int{0})
		require.NoError(t, err)
		return h[0]
	}
	r0 := root()

	t.Run("nothing is due at the expiry itself", func(t *testing.T) {
		n, more, err := s.ReclaimExpired(ctx, 100, 10)
		require.NoError(t, err)
		require.Zero(t, n)
		require.False(t, more)
	})
	t.Run("bounded batches, earliest first", func(t *testing.T) {
		n, more, err := s.ReclaimExpired(ctx, 250, 1)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.True(t, more)
		got, err := s.Get(ctx, []byte("a"))
		require.NoError(t, err)
		require.True(t, version.SameVersions(before, got))
		require.Equal(t, version.Sibling{Dot: before[0].Dot, Timestamp: before[0].Timestamp, Tombstone: true}, canonSibs(got)[0])
		n, more, err = s.ReclaimExpired(ctx, 250, 1)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		n, more, err = s.ReclaimExpired(ctx, 250, 1)
		require.NoError(t, err)
		require.Zero(t, n, "c expires at 300")
		require.False(t, more)
	})
	t.Run("the tree is unchanged and the indexes follow", func(t *testing.T) {
		require.Equal(t, r0, root(), "reclaiming keeps the dots, so the hashes")
		require.NoError(t, s.CheckTree(ctx))
		n, err := s.Expiring(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
		tombs, err := s.Tombstones(ctx, 0, 16383, nil, 10)
		require.NoError(t, err)
		require.Len(t, tombs, 2, "a and b hold only tombstones: collectable as deletes")
		require.Equal(t, int64(2), s.Stats().Keys, "forever and c")
		require.Equal(t, int64(2), s.Stats().ExpiredReclaimed)
	})
	t.Run("a later write without expiry leaves the index", func(t *testing.T) {
		mustPut(t, s, "c", "kept")
		n, err := s.Expiring(ctx)
		require.NoError(t, err)
		require.Zero(t, n)
		n2, _, err := s.ReclaimExpired(ctx, 1<<50, 10)
		require.NoError(t, err)
		require.Zero(t, n2)
		got, err := s.Get(ctx, []byte("c"))
		require.NoError(t, err)
		require.Equal(t, []string{"kept"}, liveValues(got))
		require.NoError(t, s.CheckTree(ctx))
	})
	t.Run("a replica still holding the value merges the tombstone in", func(t *testing.T) {
		got, err := s.Merge(ctx, []byte("a"), before)
		require.NoError(t, err)
		require.Empty(t, got.Live(), "the expired value does not come back")
	})
	_, _, err = s.ReclaimExpired(ctx, 1, 0)
	require.ErrorIs(t, err, ErrBadRequest)
}

// TestReclaimExpired_Reopen: the expiry index is as durable as the records
// and is rebuilt with the tree.
func TestReclaimExpired_Reopen(t *testing.T) {
	ctx := context.Background()
	s, fs := openMem(t, DurabilityFsync)
	mustPutExpiring(t, s, "a", "1", 100)
	// Drop the index entry and force a rebuild of the tree and indexes.
	require.NoError(t, s.db.Delete(metaTree, true))
	require.NoError(t, s.db.DeleteRange([]byte{spaceExpiry}, []byte{spaceExpiry + 1}, true))
	require.ErrorIs(t, s.CheckTree(ctx), ErrTreeMismatch, "CheckTree sees the missing entry")
	require.NoError(t, s.Close())
	s2, err := Open(Config{Dir: "db", FS: fs, Durability: DurabilityFsync})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s2.Close() })
	require.NoError(t, s2.CheckTree(ctx))
	n, _, err := s2.ReclaimExpired(ctx, 101, 10)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.NoError(t, s2.CheckTree(ctx))
}

// TestStore_MigratesLayout2: a data directory of layout 2 (records of
// format 1, no expiries) opens as layout 3 with its data as it was.
func TestStore_MigratesLayout2(t *testing.T) {
	ctx := context.Background()
	s, fs := openMem(t, DurabilityNone)
	mustPut(t, s, "k", "v")
	require.NoError(t, s.Close())
	rawSet(t, fs, metaFormat, []byte{2})
	s2, err := Open(Config{Dir: "db", FS: fs, Durability: DurabilityNone})
	require.NoError(t, err)
	got, err := s2.Get(ctx, []byte("k"))
	require.NoError(t, err)
	require.Equal(t, []string{"v"}, liveValues(got))
	require.NoError(t, s2.Close())
	require.Equal(t, []byte{layoutVersion}, rawGet(t, fs, metaFormat))
}
