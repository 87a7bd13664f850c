package coordinator_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/internal/clustertest"
	"github.com/dynkv/dynkv/version"
)

// readVia reads key through node id's coordinator with quorum r and
// returns what plain GET sees.
func readVia(t *testing.T, c *clustertest.Cluster, id string, key []byte, r int) (string, bool) {
	t.Helper()
	ss, err := c.Node(id).Coord.Get(context.Background(), key, coordinator.ReadOptions{R: r})
	require.NoError(t, err)
	v, ok := ss.Value()
	return string(v), ok
}

// TestCluster_ExpirySkewBound: the skew bound of docs/design.md. A node
// whose clock is behind by d serves a key up to d after its expiry (only
// while no replica it reads has reclaimed it), and never later; nodes
// whose clocks are right stop serving it at the expiry.
func TestCluster_ExpirySkewBound(t *testing.T) {
	ctx := context.Background()
	const skew = 2 * time.Second
	c := clustertest.New(t, 5, clustertest.Config())
	key := []byte("lock:1")
	home := c.Home(key)
	slow := home[1]
	c.Skew(slow, -skew)
	expiry := c.Now(home[0]).Add(5 * time.Second)
	_, err := c.Node(home[0]).Coord.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("held"), Expiry: expiry.UnixMilli(), W: 3})
	require.NoError(t, err)

	c.Advance(5*time.Second + time.Second) // the expiry plus 1s, less than the skew
	_, ok := readVia(t, c, home[0], key, 1)
	require.False(t, ok, "a node with a right clock stops serving at the expiry")
	v, ok := readVia(t, c, slow, key, 1)
	require.True(t, ok, "within the bound: the slow node still serves its replica")
	require.Equal(t, "held", v)

	// Once a replica with a right clock reclaimed it, a read that reaches
	// that replica sees the tombstone, even through the slow node.
	for _, id := range home {
		if id != slow {
			_, _, err := c.Node(id).Coord.ReclaimExpired(ctx)
			require.NoError(t, err)
		}
	}
	_, ok = readVia(t, c, slow, key, 3)
	require.False(t, ok, "the reclaimed tombstone wins over the slow node's view")

	c.Advance(skew) // the expiry plus the skew plus 1s
	for _, id := range c.IDs() {
		for r := 1; r <= 3; r++ {
			_, ok := readVia(t, c, id, key, r)
			require.False(t, ok, "served through %s (R=%d) after the expiry plus the skew", id, r)
		}
	}
}

// TestCluster_SetConcurrentWithExpire: a SET without TTL and an EXPIRE of
// the same version on two sides of a partition leave two siblings: DGET
// shows both, plain reads the later one with its expiry.
func TestCluster_SetConcurrentWithExpire(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 5, clustertest.Config())
	key := []byte("session:9")
	home := c.Home(key)
	_, err := c.Node(home[0]).Coord.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("v1"), W: 3})
	require.NoError(t, err)

	c.Partition([]string{home[0]}, c.Others(home[0]))
	expiry := c.Now(home[0]).Add(time.Hour).UnixMilli()
	_, err = c.Node(home[0]).Coord.Put(ctx, key, coordinator.Write{Supersede: true, Op: coordinator.OpExpire, Expiry: expiry, W: 1})
	require.NoError(t, err)
	c.Advance(time.Millisecond)
	_, err = c.Node(home[1]).Coord.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("v2"), W: 1})
	require.NoError(t, err)
	c.Heal()

	ss, err := c.Node(home[2]).Coord.Get(ctx, key, coordinator.ReadOptions{R: 3})
	require.NoError(t, err)
	live := ss.Live()
	require.Len(t, live, 2, "both writes kept as siblings")
	byValue := map[string]version.Sibling{}
	for _, s := range live {
		byValue[string(s.Value)] = s
	}
	require.Equal(t, expiry, byValue["v1"].Expiry, "EXPIRE rewrote v1 with the expiry")
	require.Zero(t, byValue["v2"].Expiry)
	w, _ := ss.Winner()
	require.Equal(t, "v2", string(w.Value), "plain reads: the later write, with its (no) expiry")

	// When v1's expiry passes, only v2 is left live.
	c.Advance(time.Hour)
	ss, err = c.Node(home[2]).Coord.Get(ctx, key, coordinator.ReadOptions{R: 3})
	require.NoError(t, err)
	require.Len(t, ss.Live(), 1)
	require.Equal(t, "v2", string(ss.Live()[0].Value))
}

// TestCluster_ForwardedExpiry: writes with an expiry sent to a node that is
// not a home of the key are forwarded with it: the home replicas store
// the absolute expiry, KEEPTTL keeps it and EXPIRE's conditions are
// evaluated by the home node.
func TestCluster_ForwardedExpiry(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 5, clustertest.Config())
	key := []byte("fwd")
	outsider := c.Others(c.Home(key)...)[0]
	co := c.Node(outsider).Coord
	expiry := c.Now(outsider).Add(time.Hour).UnixMilli()
	_, err := co.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("a"), Expiry: expiry, W: 3})
	require.NoError(t, err)
	_, err = co.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("b"), KeepTTL: true, W: 3})
	require.NoError(t, err)
	_, err = co.Put(ctx, key, coordinator.Write{Supersede: true, Op: coordinator.OpExpire, Cond: coordinator.CondNoExpiry, Expiry: 1, W: 3})
	require.ErrorIs(t, err, coordinator.ErrCondition, "NX on a key with an expiry")
	require.Positive(t, co.Stats().Forwarded)
	for _, id := range c.Home(key) {
		ss, err := c.Node(id).Store.Get(ctx, key)
		require.NoError(t, err)
		require.Len(t, ss, 1)
		require.Equal(t, "b", string(ss[0].Value))
		require.Equal(t, expiry, ss[0].Expiry, "on %s", id)
	}
}

// TestCluster_ExpireConcurrentWithSet: the other order. The EXPIRE is the
// later of the two siblings, so plain reads see its version and, once it
// has expired, the key as absent (as SET then EXPIRE would leave it in
// Redis), while DGET still shows the SET's value.
func TestCluster_ExpireConcurrentWithSet(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 5, clustertest.Config())
	key := []byte("session:10")
	home := c.Home(key)
	_, err := c.Node(home[0]).Coord.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("v1"), W: 3})
	require.NoError(t, err)

	c.Partition([]string{home[0]}, c.Others(home[0]))
	_, err = c.Node(home[1]).Coord.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("v2"), W: 1})
	require.NoError(t, err)
	c.Advance(time.Millisecond)
	expiry := c.Now(home[0]).Add(time.Minute).UnixMilli()
	_, err = c.Node(home[0]).Coord.Put(ctx, key, coordinator.Write{Supersede: true, Op: coordinator.OpExpire, Expiry: expiry, W: 1})
	require.NoError(t, err)
	c.Heal()

	v, ok := readVia(t, c, home[2], key, 3)
	require.True(t, ok)
	require.Equal(t, "v1", v, "the EXPIRE's version, the later one")
	c.Advance(time.Minute + time.Millisecond)
	_, ok = readVia(t, c, home[2], key, 3)
	require.False(t, ok, "the later version expired")
	ss, err := c.Node(home[2]).Coord.Get(ctx, key, coordinator.ReadOptions{R: 3})
	require.NoError(t, err)
	require.Len(t, ss.Live(), 1, "DGET still shows the SET's value")
	require.Equal(t, "v2", string(ss.Live()[0].Value))
}
