package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// TestNode_ClusterClient: go-redis's ClusterClient, with its defaults, works
// against a three-node cluster: CLUSTER SLOTS covers every slot with the
// key's home nodes, the client sends each key straight to the first home
// (no write is forwarded), and every value reads back through the plain
// client of any node.
func TestNode_ClusterClient(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := startShared(t, "a", nil)
	nodes := []*Node{a, startShared(t, "b", []string{a.members.Addr()}), startShared(t, "c", []string{a.members.Addr()})}

	// The ring settles: every node reports three masters.
	plain := func(n *Node) *redis.Client { return clientOf(t, n) }
	require.Eventually(t, func() bool {
		for _, n := range nodes {
			slots, err := plain(n).ClusterSlots(ctx).Result()
			if err != nil {
				return false
			}
			masters := map[string]bool{}
			for _, s := range slots {
				masters[s.Nodes[0].ID] = true
			}
			if len(masters) != 3 {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond, "the ring did not settle")

	slots, err := plain(a).ClusterSlots(ctx).Result()
	require.NoError(t, err)
	next := 0
	for _, s := range slots {
		require.Equal(t, next, int(s.Start), "the ranges cover every slot in order")
		next = int(s.End) + 1
		require.Len(t, s.Nodes, 3, "N=3 home nodes per range")
	}
	require.Equal(t, 16384, next)

	before := int64(0)
	for _, n := range nodes {
		before += n.co.Stats().Forwarded
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{a.Addr().String()}})
	defer cc.Close()
	for i := range 200 {
		require.NoError(t, cc.Set(ctx, fmt.Sprintf("key:%d", i), i, 0).Err())
	}
	after := int64(0)
	for _, n := range nodes {
		after += n.co.Stats().Forwarded
	}
	require.Equal(t, before, after, "every write went straight to a home node")
	for i := range 200 {
		key := fmt.Sprintf("key:%d", i)
		require.Equal(t, fmt.Sprint(i), cc.Get(ctx, key).Val())
		require.Equal(t, fmt.Sprint(i), plain(nodes[i%3]).Get(ctx, key).Val(), "any node serves any key")
	}
	myID, err := plain(a).ClusterMyID(ctx).Result()
	require.NoError(t, err)
	require.Len(t, myID, 40)
	nodesText, err := plain(a).ClusterNodes(ctx).Result()
	require.NoError(t, err)
	require.Contains(t, nodesText, myID+" "+a.Addr().String()+"@")
	require.Contains(t, nodesText, "myself,master")
	info, err := plain(a).ClusterInfo(ctx).Result()
	require.NoError(t, err)
	require.Contains(t, info, "cluster_state:ok\r\n")
	require.Contains(t, info, "cluster_known_nodes:3\r\n")
	slot, err := plain(a).ClusterKeySlot(ctx, "{user1000}.following").Result()
	require.NoError(t, err)
	require.Equal(t, int64(3443), slot)
}
