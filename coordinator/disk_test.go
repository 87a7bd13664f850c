package coordinator_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/internal/clustertest"
	"github.com/dynkv/dynkv/replica"
)

// TestCluster_DiskFullReplica: a home replica whose disk is full refuses
// the write with its own error and counts as a failed replica: the write
// succeeds while W other replicas take it, fails with the quorum error
// when it needs the full one, and the replica takes writes again once its
// disk is freed.
func TestCluster_DiskFullReplica(t *testing.T) {
	ctx := context.Background()
	cfg := clustertest.Config()
	cfg.NoFallbacks = true
	c := clustertest.New(t, 5, cfg)
	key := []byte("full")
	home := c.Home(key)
	coord := c.Node(home[0]).Coord
	full := c.Node(home[2])
	c.DiskFull(home[2], true)

	_, err := coord.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("v1"), W: 2})
	require.NoError(t, err, "W=2 is met without the full replica")
	_, err = coord.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("v2"), W: 3})
	var qe *coordinator.QuorumError
	require.ErrorAs(t, err, &qe)
	require.Equal(t, 2, qe.Got, "the full replica is counted as failed")
	require.ErrorIs(t, full.Store.Fault(), replica.ErrDiskFull)
	ss, err := full.Store.Get(ctx, key)
	require.NoError(t, err, "the full replica still serves reads")
	require.Empty(t, ss)

	c.DiskFull(home[2], false)
	require.Eventually(t, func() bool { return full.Store.Fault() == nil }, 10e9, 1e6)
	_, err = coord.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("v3"), W: 3})
	require.NoError(t, err)
}

// TestCluster_DiskFullCoordinatorForwards: a home node whose own disk is
// full hands a write that may be resent to the next home node to
// coordinate; a write it cannot forward gets the disk-full error.
func TestCluster_DiskFullCoordinatorForwards(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 5, clustertest.Config())
	key := []byte("full-coordinator")
	home := c.Home(key)
	c.DiskFull(home[0], true)
	coord := c.Node(home[0]).Coord

	_, err := coord.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("v")})
	require.NoError(t, err)
	ss, err := c.Node(home[1]).Coord.Get(ctx, key, coordinator.ReadOptions{R: 2})
	require.NoError(t, err)
	v, _ := ss.Value()
	require.Equal(t, "v", string(v))
	require.Equal(t, c.Node(home[1]).Store.Actor(), ss[0].Dot.Actor, "the next home coordinated it")

	_, err = coord.Put(ctx, key, coordinator.Write{Supersede: true, Op: coordinator.OpAppend, Data: []byte("x")})
	require.ErrorIs(t, err, replica.ErrDiskFull, "an APPEND is not forwarded after a local refusal")

	c.DiskFull(home[0], false)
	require.Eventually(t, func() bool { return c.Node(home[0]).Store.Fault() == nil }, 10e9, 1e6)
}
