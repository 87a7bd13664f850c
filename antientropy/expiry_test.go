package antientropy_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/internal/clustertest"
)

// TestExpiry_NeverResurrects: v1 on every replica; v2, expiring in 10s,
// supersedes it while one replica is partitioned away (and its hint is
// held back). Once v2 has expired and been reclaimed where it was
// written, neither read repair, anti-entropy, hinted handoff nor the
// restart of every node brings v1 (or v2) back; tombstone collection then
// removes the key from every replica, and it still reads as absent. The
// control: before the heal, the partitioned replica holds v1 live.
func TestExpiry_NeverResurrects(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 5, clustertest.Config())
	key := []byte("session:1")
	home := c.Home(key)
	_, err := c.Node(home[0]).Coord.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("v1"), W: 3})
	require.NoError(t, err)

	c.Partition([]string{home[2]}, c.Others(home[2]))
	expiry := c.Now(home[0]).Add(10 * time.Second).UnixMilli()
	_, err = c.Node(home[0]).Coord.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("v2"), Expiry: expiry})
	require.NoError(t, err)
	ss, err := c.Node(home[0]).Coord.Get(ctx, key, coordinator.ReadOptions{})
	require.NoError(t, err)
	v, ok := ss.Value()
	require.True(t, ok)
	require.Equal(t, "v2", string(v), "before its expiry v2 reads")

	c.Advance(11 * time.Second)
	require.Positive(t, c.ReclaimExpired(ctx), "v2 reclaimed where it was written")
	require.True(t, holds(t, c, home[2], key), "control: the partitioned replica still holds v1 live")
	c.Heal()

	// Read repair first (through the stale replica itself), then
	// anti-entropy, then the held-back hints, then restarts.
	readsAbsent(t, c, key)
	// Read repair runs in the background of the reads.
	require.Eventually(t, func() bool { return !holds(t, c, home[2], key) }, 5*time.Second, time.Millisecond,
		"read repair brought the reclaimed v2 over v1")
	converge(t, c, 3)
	c.ReplayHints(ctx)
	readsAbsent(t, c, key)
	for _, id := range c.IDs() {
		c.Kill(id)
		c.Restart(id)
	}
	readsAbsent(t, c, key)
	for _, id := range home {
		// A replica that never reclaimed v2 may still hold it, expired:
		// it reads as absent (At), and v1 is nowhere.
		ss, err := c.Node(id).Store.Get(ctx, key)
		require.NoError(t, err)
		v, ok := ss.At(c.Now(id).UnixMilli()).Value()
		require.False(t, ok, "a live value on %s: %q", id, v)
		for _, sb := range ss {
			require.NotEqual(t, "v1", string(sb.Value), "v1 on %s", id)
		}
	}

	c.ReclaimExpired(ctx)
	for i := 0; i < 4 && stored(t, c, home[0], key)+stored(t, c, home[1], key)+stored(t, c, home[2], key) > 0; i++ {
		c.AntiEntropyRound(ctx)
		c.ReplayHints(ctx)
	}
	for _, id := range home {
		require.Zero(t, stored(t, c, id, key), "the expired key is collected on %s", id)
	}
	readsAbsent(t, c, key)
	require.Zero(t, c.AntiEntropyRound(ctx).Repaired)
	readsAbsent(t, c, key)
}

// TestExpiry_AntiEntropyCarriesTheExpiry: a replica that missed a write
// with an expiry gets it, expiry included, from anti-entropy, and the key
// expires there at the same absolute time.
func TestExpiry_AntiEntropyCarriesTheExpiry(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 5, clustertest.Config())
	key := []byte("session:2")
	home := c.Home(key)
	c.Partition([]string{home[2]}, c.Others(home[2]))
	expiry := c.Now(home[0]).Add(time.Minute).UnixMilli()
	_, err := c.Node(home[0]).Coord.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("v"), Expiry: expiry})
	require.NoError(t, err)
	c.Heal()
	converge(t, c, 2)
	ss, err := c.Node(home[2]).Store.Get(ctx, key)
	require.NoError(t, err)
	require.Len(t, ss, 1)
	require.Equal(t, expiry, ss[0].Expiry)
	c.Advance(time.Minute + time.Millisecond)
	readsAbsent(t, c, key)
}

// TestExpiry_TransferKeepsItExpired: keys that expired (one of them
// superseding a v1 that a partitioned replica still holds) stay absent
// through a join: the new node's transfer, the flip and the handoff of
// the partitions that moved bring none of them (nor v1) back, and keys
// whose expiry is ahead arrive with it.
func TestExpiry_TransferKeepsItExpired(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 4, clustertest.Config())
	soon := c.Now("node-0").Add(10 * time.Second).UnixMilli()
	later := c.Now("node-0").Add(time.Hour).UnixMilli()
	var expired, alive [][]byte
	for i := range 40 {
		k := []byte(fmt.Sprintf("ttl-%d", i))
		exp := soon
		if i%2 == 1 {
			exp = later
			alive = append(alive, k)
		} else {
			expired = append(expired, k)
		}
		_, err := c.Node(c.Home(k)[0]).Coord.Put(ctx, k, coordinator.Write{Supersede: true, Data: k, Expiry: exp, W: 3})
		require.NoError(t, err)
	}
	stale := []byte("session:stale")
	home := c.Home(stale)
	_, err := c.Node(home[0]).Coord.Put(ctx, stale, coordinator.Write{Supersede: true, Data: []byte("v1"), W: 3})
	require.NoError(t, err)
	c.Partition([]string{home[2]}, c.Others(home[2]))
	_, err = c.Node(home[0]).Coord.Put(ctx, stale, coordinator.Write{Supersede: true, Data: []byte("v2"), Expiry: soon})
	require.NoError(t, err)
	c.Heal()
	expired = append(expired, stale)

	c.Advance(11 * time.Second)
	require.Positive(t, c.ReclaimExpired(ctx))
	c.Join("node-9")
	for i := 0; i < 8 && c.Ring().Next() != nil; i++ {
		c.AntiEntropyRound(ctx)
		c.ReplayHints(ctx)
	}
	require.Nil(t, c.Ring().Next(), "the join settled")
	converge(t, c, 3)
	for _, k := range expired {
		readsAbsent(t, c, k)
		require.False(t, holds(t, c, "node-9", k), "%s came back to the new node", k)
	}
	for _, k := range alive {
		for _, id := range c.Home(k) {
			ss, err := c.Node(id).Store.Get(ctx, k)
			require.NoError(t, err)
			require.Len(t, ss, 1, "%s on %s", k, id)
			require.Equal(t, later, ss[0].Expiry, "%s on %s keeps its expiry", k, id)
		}
	}
}
