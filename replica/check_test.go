package replica

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"

	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/version"
	"github.com/stretchr/testify/require"
)

// TestCheckTree_Consistent: the tree of a store that writes, overwrites,
// deletes, collects and drops, before and after a reopen and after a
// rebuild, passes the check.
func TestCheckTree_Consistent(t *testing.T) {
	ctx := context.Background()
	s, fs := openMem(t, DurabilityFsync)
	require.NoError(t, s.CheckTree(ctx))
	for i := range 300 {
		mustPut(t, s, fmt.Sprintf("k%d", i), "v")
	}
	for i := range 100 {
		mustPut(t, s, fmt.Sprintf("k%d", i), "w")
		mustDel(t, s, fmt.Sprintf("k%d", i+100))
	}
	ss, err := s.Get(ctx, []byte("k150"))
	require.NoError(t, err)
	_, err = s.Collect(ctx, []byte("k150"), ss)
	require.NoError(t, err)
	ss, err = s.Get(ctx, []byte("k250"))
	require.NoError(t, err)
	_, err = s.Drop(ctx, []byte("k250"), ss)
	require.NoError(t, err)
	require.NoError(t, s.CheckTree(ctx))

	s = reopenStore(t, s, fs, DurabilityFsync)
	require.NoError(t, s.CheckTree(ctx))

	// Rebuilt by Open: the check agrees with the rebuild.
	require.NoError(t, s.db.Delete(metaTree, true))
	s = reopenStore(t, s, fs, DurabilityFsync)
	require.EqualValues(t, 1, s.Stats().TreeRebuilds)
	require.NoError(t, s.CheckTree(ctx))
}

// TestCheckTree_Concurrent: the check is exact while writers run.
func TestCheckTree_Concurrent(t *testing.T) {
	ctx := context.Background()
	s, _ := openMem(t, DurabilityNone)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := fmt.Sprintf("w%d-%d", w, i%50)
				if i%3 == 0 {
					mustDel(t, s, k)
				} else {
					mustPut(t, s, k, "v")
				}
			}
		})
	}
	for range 20 {
		require.NoError(t, s.CheckTree(ctx))
	}
	close(stop)
	wg.Wait()
	require.NoError(t, s.CheckTree(ctx))
}

// TestCheckTree_Detects: the check fails, naming the leaf and what
// differs, when the leaf in memory, the persisted leaf or a record changes
// behind the tree.
func TestCheckTree_Detects(t *testing.T) {
	ctx := context.Background()
	key := []byte("k")
	leaf := merkle.LeafOf(key)
	// Each corruption returns the leaf as rebuilt, in memory and persisted
	// afterwards, given the leaf w before.
	for _, tc := range []struct {
		name    string
		corrupt func(t *testing.T, s *Store, w uint64) (rebuilt, mem, stored uint64)
	}{
		{"in memory", func(t *testing.T, s *Store, w uint64) (uint64, uint64, uint64) {
			s.tree.xor(leaf, 1)
			return w, w ^ 1, w
		}},
		{"persisted", func(t *testing.T, s *Store, w uint64) (uint64, uint64, uint64) {
			require.NoError(t, s.db.Merge(treeKey(leaf), binary.BigEndian.AppendUint64(nil, 1), true))
			return w, w, w ^ 1
		}},
		{"record", func(t *testing.T, s *Store, w uint64) (uint64, uint64, uint64) {
			old, err := s.Get(ctx, key)
			require.NoError(t, err)
			ss := version.Update(nil, version.Actor(7), nil, 1, []byte("other"), false)
			require.NoError(t, s.db.Set(dataKey(key), version.EncodeRecord(ss), true))
			return w ^ merkle.VersionHash(key, old) ^ merkle.VersionHash(key, ss), w, w
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openMem(t, DurabilityNone)
			mustPut(t, s, string(key), "v")
			mustPut(t, s, "other key", "v")
			require.NoError(t, s.CheckTree(ctx))
			rebuilt, mem, stored := tc.corrupt(t, s, s.tree.leaves[leaf].Load())
			err := s.CheckTree(ctx)
			require.ErrorIs(t, err, ErrTreeMismatch)
			require.Contains(t, err.Error(), fmt.Sprintf(
				"1 of %d leaves differ; first: leaf %d (slot %d): rebuilt from the records %016x, in memory %016x, persisted %016x",
				merkle.Leaves, leaf, leaf/merkle.LeavesPerSlot, rebuilt, mem, stored))
		})
	}
	t.Run("undecodable leaf record", func(t *testing.T) {
		s, _ := openMem(t, DurabilityNone)
		mustPut(t, s, string(key), "v")
		require.NoError(t, s.db.Set(treeKey(leaf), []byte{1, 2, 3}, true))
		err := s.CheckTree(ctx)
		require.ErrorIs(t, err, errTreeCorrupt)
	})
}

func TestCheckTree_Closed(t *testing.T) {
	s, _ := openMem(t, DurabilityNone)
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.CheckTree(context.Background()), ErrClosed)
}
