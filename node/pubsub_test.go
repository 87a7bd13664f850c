package node

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// TestNode_PubSubAcrossNodes: a message published on one node reaches the
// subscribers of the others, in the order one connection published, and
// PUBLISH counts the receivers on every node; pattern and shard
// subscribers too.
func TestNode_PubSubAcrossNodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := startShared(t, "a", nil)
	b := startShared(t, "b", []string{a.members.Addr()})
	c := startShared(t, "c", []string{a.members.Addr()})
	client := func(n *Node) *redis.Client { return clientOf(t, n) }
	require.Eventually(t, func() bool {
		for _, n := range []*Node{a, b, c} {
			if r := n.members.Ring(); r == nil || len(r.Members()) != 3 {
				return false
			}
			for _, id := range []string{"a", "b", "c"} {
				if !n.members.Alive(id) {
					return false
				}
			}
		}
		return true
	}, 30*time.Second, 20*time.Millisecond, "the ring did not settle")

	subB := client(b).Subscribe(ctx, "news")
	defer subB.Close()
	subC := client(c).PSubscribe(ctx, "n*")
	defer subC.Close()
	subShard := client(c).SSubscribe(ctx, "orders")
	defer subShard.Close()
	for _, s := range []*redis.PubSub{subB, subC, subShard} {
		_, err := s.Receive(ctx) // the subscription's confirmation
		require.NoError(t, err)
	}

	pub := client(a)
	const count = 100
	for i := range count {
		n, err := pub.Publish(ctx, "news", fmt.Sprint(i)).Result()
		require.NoError(t, err)
		require.Equal(t, int64(2), n, "one channel subscriber on b, one pattern subscriber on c")
	}
	for i := range count {
		m, err := subB.ReceiveMessage(ctx)
		require.NoError(t, err)
		require.Equal(t, fmt.Sprint(i), m.Payload, "in the order published")
		m, err = subC.ReceiveMessage(ctx)
		require.NoError(t, err)
		require.Equal(t, fmt.Sprint(i), m.Payload)
		require.Equal(t, "n*", m.Pattern)
	}
	n, err := pub.SPublish(ctx, "orders", "o1").Result()
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
	m, err := subShard.ReceiveMessage(ctx)
	require.NoError(t, err)
	require.Equal(t, "o1", m.Payload)
	n, err = client(b).Publish(ctx, "nobody", "x").Result()
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "only c's pattern n* matches")
}

// TestNode_PubSubNodeKilledAndRestarted: with one node stopped, PUBLISH
// on another still answers and the subscribers of the surviving nodes keep
// receiving; once the node is back, its new subscribers receive too.
func TestNode_PubSubNodeKilledAndRestarted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dirs := map[string]string{}
	start := func(id string, seeds []string) *Node { // a restart keeps the data directory
		if dirs[id] == "" {
			dirs[id] = filepath.Join(t.TempDir(), id)
		}
		return startMember(t, id, dirs[id], seeds, "shared", nil)
	}
	client := func(n *Node) *redis.Client { return clientOf(t, n) }
	settled := func(nodes ...*Node) func() bool {
		return func() bool {
			for _, n := range nodes {
				for _, m := range nodes {
					if !n.members.Alive(m.cfg.Node.ID) {
						return false
					}
				}
			}
			return true
		}
	}
	a := start("a", nil)
	b := start("b", []string{a.members.Addr()})
	c := start("c", []string{a.members.Addr()})
	require.Eventually(t, settled(a, b, c), 30*time.Second, 20*time.Millisecond)

	subB := client(b).Subscribe(ctx, "news")
	defer subB.Close()
	_, err := subB.Receive(ctx)
	require.NoError(t, err)
	pub := client(a)

	require.NoError(t, c.Close(ctx)) // c goes away
	for i := range 20 {
		start := time.Now()
		n, err := pub.Publish(ctx, "news", fmt.Sprint(i)).Result()
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
		require.Less(t, time.Since(start), 3*time.Second, "a node that is down does not hold PUBLISH up for long")
		m, err := subB.ReceiveMessage(ctx)
		require.NoError(t, err)
		require.Equal(t, fmt.Sprint(i), m.Payload, "the survivors keep receiving, in order")
	}

	c = start("c", []string{a.members.Addr()}) // c comes back
	require.Eventually(t, settled(a, b, c), 30*time.Second, 20*time.Millisecond)
	subC := client(c).Subscribe(ctx, "news")
	defer subC.Close()
	_, err = subC.Receive(ctx)
	require.NoError(t, err)
	n, err := pub.Publish(ctx, "news", "back").Result()
	require.NoError(t, err)
	require.Equal(t, int64(2), n)
	for _, s := range []*redis.PubSub{subB, subC} {
		m, err := s.ReceiveMessage(ctx)
		require.NoError(t, err)
		require.Equal(t, "back", m.Payload)
	}
}
