package antientropy_test

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/version"
)

// TestKV679_WipedNodeWritesAreNotLost is Riak's kv679: a node that lost its
// data coordinates new writes of a key whose older versions it issued
// itself. Because a store on an empty directory draws a new actor, its new
// write is a sibling of (or supersedes) what the other replicas hold, and is
// never shadowed by them, before and after the replicas converge. The
// control shows what reusing the old actor would have done: the new write's
// dot would be one the others already hold as superseded, and it would
// vanish on merge.
func TestKV679_WipedNodeWritesAreNotLost(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t)
	key := []byte("cart:679")
	home := c.Home(key)
	co := c.Node(home[0]).Coord
	for _, v := range []string{"v1", "v2", "v3"} {
		_, err := co.Put(ctx, key, set(v))
		require.NoError(t, err)
	}
	converge(t, c, 2)
	old := c.Node(home[0]).Store.Actor()
	before, err := c.Node(home[1]).Store.Get(ctx, key)
	require.NoError(t, err)
	require.Equal(t, old, before[0].Dot.Actor, "the old versions were coordinated by the node that will be wiped")

	c.Wipe(home[0])
	require.NotEqual(t, old, c.Node(home[0]).Store.Actor(), "a wiped node draws a new actor")
	co = c.Node(home[0]).Coord

	// A Dynamo write with no context (the client read nothing): a sibling.
	_, err = co.Put(ctx, key, coordinator.Write{Value: coordinator.Value([]byte("blind"))})
	require.NoError(t, err)
	// A plain SET through the wiped node: the newest value plain GET sees.
	_, err = co.Put(ctx, key, set("new"))
	require.NoError(t, err)
	check := func() {
		for _, id := range c.IDs() {
			ss, err := c.Node(id).Coord.Get(ctx, key, coordinator.ReadOptions{R: 3})
			require.NoError(t, err)
			v, ok := ss.Value()
			require.True(t, ok)
			require.Equal(t, "new", string(v), "plain GET through %s", id)
			var vals []string
			for _, s := range ss.Live() {
				vals = append(vals, string(s.Value))
			}
			require.Contains(t, vals, "new", "through %s", id)
		}
	}
	check()
	converge(t, c, 2)
	check()

	// Control: the same write under the old actor, on the wiped (empty)
	// replica, gets dot (old, 1), which the others' versions already cover.
	reused := version.Update(nil, old, nil, before[0].Timestamp+1, []byte("reused"), false)
	merged := version.Sync(before, reused)
	require.False(t, slices.ContainsFunc(merged, func(s version.Sibling) bool { return string(s.Value) == "reused" }),
		"control: a reused actor's write is shadowed by the versions it issued before")
}
