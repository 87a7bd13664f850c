package coordinator_test

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/internal/clustertest"
	"github.com/dynkv/dynkv/peer"
	"github.com/dynkv/dynkv/version"
)

// walk scans the whole key space from coord with count and returns every
// key returned, with how many times it was.
func walk(t *testing.T, coord *coordinator.Coordinator, count int) map[string]int {
	t.Helper()
	got := map[string]int{}
	var cursor uint64
	for calls := 0; ; calls++ {
		require.Less(t, calls, 100000, "the walk does not end")
		recs, next, err := coord.Scan(context.Background(), cursor, count)
		require.NoError(t, err)
		for _, r := range recs {
			got[string(r.Key)]++
		}
		if next == 0 {
			return got
		}
		require.Greater(t, next, cursor, "the cursor moves forward")
		cursor = next
	}
}

func keySet(keys ...string) map[string]int {
	m := map[string]int{}
	for _, k := range keys {
		m[k] = 1
	}
	return m
}

func putKeys(t *testing.T, c *clustertest.Cluster, prefix string, n int) []string {
	t.Helper()
	var keys []string
	for i := range n {
		k := fmt.Sprintf("%s:%d", prefix, i)
		_, err := c.Node(c.IDs()[i%len(c.IDs())]).Coord.Put(context.Background(), []byte(k), set("v"))
		require.NoError(t, err)
		keys = append(keys, k)
	}
	return keys
}

// TestScan_EveryKeyOnceFromAnyNode: from every node and for every COUNT,
// a walk returns each live key exactly once (the ring does not change) and
// no deleted key.
func TestScan_EveryKeyOnceFromAnyNode(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 5, clustertest.Config())
	keys := putKeys(t, c, "k", 300)
	for _, k := range keys[:20] {
		_, err := c.Node("node-0").Coord.Put(ctx, []byte(k), coordinator.Write{Supersede: true, Op: coordinator.OpDelete})
		require.NoError(t, err)
	}
	want := keySet(keys[20:]...)
	for _, id := range c.IDs() {
		for _, count := range []int{1, 10, 1000} {
			t.Run(fmt.Sprintf("%s count=%d", id, count), func(t *testing.T) {
				require.Equal(t, want, walk(t, c.Node(id).Coord, count))
			})
		}
	}
}

// TestScan_KeyOneReplicaMissed: a key only one of its home replicas holds
// (the others missed the write) is returned, and a key one replica still
// holds but another deleted is not.
func TestScan_KeyOneReplicaMissed(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 5, clustertest.Config())
	keys := putKeys(t, c, "k", 50)
	for i, home := range []int{0, 1, 2} {
		key := []byte(fmt.Sprintf("lonely:%d", i))
		ss := version.Update(nil, 99, nil, 1, []byte("v"), false)
		_, err := c.Node(c.Home(key)[home]).Store.Merge(ctx, key, ss)
		require.NoError(t, err)
		keys = append(keys, string(key))
	}
	// Deleted on one replica only (the others have not heard yet).
	gone := []byte(keys[0])
	home := c.Home(gone)
	cur, err := c.Node(home[1]).Store.Get(ctx, gone)
	require.NoError(t, err)
	_, err = c.Node(home[1]).Store.Merge(ctx, gone, version.Update(cur, 98, cur.Context(), time.Now().UnixNano(), nil, true))
	require.NoError(t, err)
	for _, id := range c.IDs() {
		require.Equal(t, keySet(keys[1:]...), walk(t, c.Node(id).Coord, 7), "from %s", id)
	}
}

// TestScan_NodeDown: with one node down the walk still returns every key
// (each is on two other replicas); with all of a key's homes but one down,
// the walk fails instead of silently skipping keys.
func TestScan_NodeDown(t *testing.T) {
	c := clustertest.New(t, 5, clustertest.Config())
	keys := putKeys(t, c, "k", 200)
	c.Kill("node-3")
	require.Equal(t, keySet(keys...), walk(t, c.Node("node-0").Coord, 50))
	c.Kill("node-4")
	c.Kill("node-2")
	_, _, err := func() ([]string, uint64, error) {
		var cursor uint64
		for {
			_, next, err := c.Node("node-0").Coord.Scan(context.Background(), cursor, 50)
			if err != nil || next == 0 {
				return nil, 0, err
			}
			cursor = next
		}
	}()
	require.ErrorIs(t, err, coordinator.ErrQuorum)
}

// TestScan_DuringTransfer: while a joining node has not pulled its data
// yet, the walk returns every key (from the old homes); a key only the new
// home holds is returned too (the pending homes are read); after the ring
// flips, every key is still returned.
func TestScan_DuringTransfer(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 4, clustertest.Config())
	keys := putKeys(t, c, "k", 200)
	c.Join("node-9")
	require.NotNil(t, c.Ring().Next())
	require.Equal(t, keySet(keys...), walk(t, c.Node("node-0").Coord, 30))
	require.Equal(t, keySet(keys...), walk(t, c.Node("node-9").Coord, 30))

	// A key only node-9 holds, in a partition it is gaining.
	var only []byte
	for i := 0; only == nil; i++ {
		k := []byte(fmt.Sprintf("new:%d", i))
		next := c.Ring().Next()
		for _, h := range next.Homes(next.PartitionOf(k), 3) {
			if h == "node-9" {
				only = k
			}
		}
	}
	_, err := c.Node("node-9").Store.Merge(ctx, only, version.Update(nil, 97, nil, 1, []byte("v"), false))
	require.NoError(t, err)
	keys = append(keys, string(only))
	require.Equal(t, keySet(keys...), walk(t, c.Node("node-1").Coord, 30))

	for round := 0; c.Ring().Next() != nil; round++ {
		require.Less(t, round, 10, "the ring does not flip")
		c.AntiEntropyRound(ctx)
	}
	require.Equal(t, keySet(keys...), walk(t, c.Node("node-1").Coord, 30))
}

// readValue reads key at R=3 from coord.
func readValue(t *testing.T, coord *coordinator.Coordinator, key string) (string, bool) {
	t.Helper()
	ss, err := coord.Get(context.Background(), []byte(key), coordinator.ReadOptions{R: 3})
	require.NoError(t, err)
	v, ok := ss.Value()
	return string(v), ok
}

// TestFlush_ConcurrentWriteSurvives: a flush deletes every key it finds,
// on every replica; a SET that lands between the flush's read of a key and
// its delete (here, while the delete is on its way to the key's home) is
// not covered by the tombstone: it survives, and plain reads see it.
func TestFlush_ConcurrentWriteSurvives(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 5, clustertest.Config())
	keys := putKeys(t, c, "k", 300)
	target := []byte(keys[150])
	flusher := c.Others(c.Home(target)...)[0] // forwards the delete to a home
	var during atomic.Bool
	c.Net.SetHook(func(from, to string, req []byte) (time.Duration, error) {
		if from == flusher && peer.OpOf(req) == peer.OpForward && bytes.Contains(req, target) && during.CompareAndSwap(false, true) {
			_, err := c.Node(c.Home(target)[1]).Coord.Put(ctx, target, set("during"))
			if err != nil {
				return 0, err
			}
		}
		return 0, nil
	})
	n, err := c.Node(flusher).Coord.Flush(ctx)
	require.NoError(t, err)
	c.Net.SetHook(nil)
	require.True(t, during.Load(), "the hook wrote during the flush")
	require.Equal(t, len(keys), n)
	for _, k := range keys {
		v, ok := readValue(t, c.Node("node-2").Coord, k)
		if k == string(target) {
			require.True(t, ok, "%s was written during the flush", k)
			require.Equal(t, "during", v)
		} else {
			require.False(t, ok, "%s survived the flush", k)
		}
	}
	ss, err := c.Node("node-2").Coord.Get(ctx, target, coordinator.ReadOptions{R: 3})
	require.NoError(t, err)
	require.Len(t, ss, 2, "the write and the flush's tombstone are siblings")
	require.Equal(t, keySet(string(target)), walk(t, c.Node("node-3").Coord, 100))
}

// TestFlush_NodeDown: a flush with a node down deletes the keys that node
// holds too: it learns on return (hints), and anti-entropy never brings
// them back.
func TestFlush_NodeDown(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 5, clustertest.Config())
	keys := putKeys(t, c, "k", 200)
	c.Kill("node-2")
	_, err := c.Node("node-0").Coord.Flush(ctx)
	require.NoError(t, err)
	c.Restart("node-2")
	// Before the hints arrive node-2 still holds live values.
	live := 0
	for _, k := range keys {
		ss, err := c.Node("node-2").Store.Get(ctx, []byte(k))
		require.NoError(t, err)
		if _, ok := ss.Value(); ok {
			live++
		}
	}
	require.NotZero(t, live)
	require.Eventually(t, func() bool { c.ReplayHints(ctx); return c.HintsHeld(ctx) == 0 }, 10*time.Second, 10*time.Millisecond)
	c.AntiEntropyRound(ctx)
	for _, id := range c.IDs() {
		for _, k := range keys {
			ss, err := c.Node(id).Store.Get(ctx, []byte(k))
			require.NoError(t, err)
			_, ok := ss.Value()
			require.False(t, ok, "%s live on %s after the flush", k, id)
		}
	}
	require.Empty(t, walk(t, c.Node("node-2").Coord, 100))
}

// TestFlushAsync_RunsInBackground: FlushAsync returns at once and the keys
// are gone once it is done.
func TestFlushAsync_RunsInBackground(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Config())
	putKeys(t, c, "k", 100)
	coord := c.Node("node-0").Coord
	coord.FlushAsync()
	coord.FlushAsync() // folded into one more run
	require.Eventually(t, func() bool { return !coord.Flushing() }, 10*time.Second, time.Millisecond)
	require.Empty(t, walk(t, coord, 100))
}

// TestFlush_Partitioned: a flush on the majority side of a partition
// deletes the keys the cut-off node holds too, once the partition heals:
// anti-entropy alone (no hint replay) carries the tombstones, and the
// cut-off node's old versions never come back.
func TestFlush_Partitioned(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 5, clustertest.Config())
	keys := putKeys(t, c, "k", 150)
	c.Partition([]string{"node-0", "node-1", "node-3", "node-4"}, []string{"node-2"})
	_, err := c.Node("node-0").Coord.Flush(ctx)
	require.NoError(t, err)
	c.Heal()
	live := 0
	for _, k := range keys {
		ss, err := c.Node("node-2").Store.Get(ctx, []byte(k))
		require.NoError(t, err)
		if _, ok := ss.Value(); ok {
			live++
		}
	}
	require.NotZero(t, live, "node-2 missed the flush")
	for round := 0; len(c.Diverged(ctx)) > 0; round++ {
		require.Less(t, round, 10, "replicas do not converge")
		c.AntiEntropyRound(ctx)
	}
	for _, id := range c.IDs() {
		for _, k := range keys {
			ss, err := c.Node(id).Store.Get(ctx, []byte(k))
			require.NoError(t, err)
			_, ok := ss.Value()
			require.False(t, ok, "%s live on %s after the flush", k, id)
		}
	}
	require.Empty(t, walk(t, c.Node("node-2").Coord, 100))
}

// TestScan_AcrossRingFlip: a walk that starts before a join and ends after
// the ring flipped still returns every key at least once (the cursor is a
// position in the key space, which the ring change does not move).
func TestScan_AcrossRingFlip(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 4, clustertest.Config())
	keys := putKeys(t, c, "k", 300)
	c.Join("node-9")
	coord := c.Node("node-1").Coord
	got := map[string]int{}
	var cursor uint64
	flipped := false
	for calls := 0; ; calls++ {
		require.Less(t, calls, 10000)
		recs, next, err := coord.Scan(ctx, cursor, 20)
		require.NoError(t, err)
		for _, r := range recs {
			got[string(r.Key)]++
		}
		if calls == 3 {
			for round := 0; c.Ring().Next() != nil; round++ {
				require.Less(t, round, 10, "the ring does not flip")
				c.AntiEntropyRound(ctx)
			}
			flipped = true
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	require.True(t, flipped, "the walk ended before the flip")
	for _, k := range keys {
		require.GreaterOrEqual(t, got[k], 1, "%s not returned", k)
	}
	require.Len(t, got, len(keys))
}

// TestFlush_OutlivesItsCaller: a flush whose caller gives up (a client
// that disconnects) still deletes every key.
func TestFlush_OutlivesItsCaller(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Config())
	putKeys(t, c, "k", 100)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n, err := c.Node("node-0").Coord.Flush(ctx)
	require.NoError(t, err)
	require.Equal(t, 100, n)
	require.Empty(t, walk(t, c.Node("node-1").Coord, 100))
}
