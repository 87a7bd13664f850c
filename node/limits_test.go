package node

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/dynkv/dynkv/conf"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// TestNode_LargestWritesReplicate is the probe of issue 12 "a value that
// passes the client limits can exceed the peer frame limit, so it is
// stored on one node and never replicated": on three nodes over real peer
// TCP, whose frame limit is derived from the client limits, a value of
// exactly max-value-size under a key of max-key-size reaches all three
// replicas, and so does the record two concurrent such writes leave. A
// third concurrent one would exceed max-siblings-size and is refused with
// a clear error, until a client resolves the siblings.
func TestNode_LargestWritesReplicate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const maxValue, maxKey = 1 << 20, 1 << 10
	start := func(id string, seeds []string) *Node {
		return startMember(t, id, filepath.Join(t.TempDir(), id), seeds, "shared", func(cfg *conf.Config) {
			cfg.Resp.MaxValueSize, cfg.Resp.MaxKeySize = maxValue, maxKey
			cfg.AntiEntropy.Interval, cfg.AntiEntropy.TransferPoll = 50*time.Millisecond, 50*time.Millisecond
			cfg.Coordinator.Timeout = 20 * time.Second // 1 MiB values under -race on a busy machine
		})
	}
	a := start("a", nil)
	b := start("b", []string{a.members.Addr()})
	c := start("c", []string{a.members.Addr()})
	nodes := []*Node{a, b, c}
	state := func() (string, bool) {
		var s string
		ok := true
		for _, n := range nodes {
			alive := 0
			for _, o := range nodes {
				if n.members.Alive(o.cfg.Node.ID) {
					alive++
				}
			}
			s += fmt.Sprintf("%s: %d in the ring, %d alive, change under way %v; ", n.cfg.Node.ID, len(n.members.Ring().Nodes()), alive, n.members.Target() != n.members.Ring())
			ok = ok && len(n.members.Ring().Nodes()) == 3 && alive == 3 && n.members.Target() == n.members.Ring()
		}
		return s, ok
	}
	deadline := time.Now().Add(30 * time.Second)
	for s, ok := state(); !ok; s, ok = state() {
		require.True(t, time.Now().Before(deadline), "three nodes in every ring, no change under way: %s", s)
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}

	client := func(n *Node) *redis.Client {
		// No retries: a DPUT retried after a slow reply would add a
		// sibling of its own.
		rdb := redis.NewClient(&redis.Options{Addr: n.Addr().String(), Protocol: 2, ReadTimeout: 30 * time.Second, MaxRetries: -1})
		t.Cleanup(func() { _ = rdb.Close() })
		return rdb
	}
	// replicated waits until every node's store holds exactly values under key.
	replicated := func(key string, values ...[]byte) {
		t.Helper()
		require.Eventually(t, func() bool {
			for _, n := range nodes {
				ss, err := n.store.Get(ctx, []byte(key))
				if err != nil || len(ss.Live()) != len(values) {
					return false
				}
				for _, s := range ss.Live() {
					if !bytes.Contains(bytes.Join(values, []byte{0}), s.Value) || len(s.Value) != maxValue {
						return false
					}
				}
			}
			return true
		}, 30*time.Second, 10*time.Millisecond, "every replica holds %d values of %d bytes", len(values), maxValue)
	}
	key := string(bytes.Repeat([]byte{'k'}, maxKey))
	val := func(b byte) []byte { return bytes.Repeat([]byte{b}, maxValue) }

	require.NoError(t, client(a).Set(ctx, key, val('a'), 0).Err())
	replicated(key, val('a'))
	require.Error(t, client(a).Set(ctx, key+"k", "x", 0).Err(), "a key over max-key-size is refused")

	// Two writes with the same context, at two coordinators: siblings.
	reply, err := client(a).Do(ctx, "DGET", key).Result()
	require.NoError(t, err)
	read := reply.([]any)[0].(string)
	require.NoError(t, client(b).Do(ctx, "DPUT", key, read, val('b')).Err(), "the first sibling")
	require.NoError(t, client(c).Do(ctx, "DPUT", key, read, val('c')).Err(), "the second sibling")
	replicated(key, val('b'), val('c'))

	// A third sibling would exceed max-siblings-size: refused, not dropped.
	err = client(a).Do(ctx, "DPUT", key, read, val('d')).Err()
	require.ErrorContains(t, err, "too many versions")
	replicated(key, val('b'), val('c'))

	// A context that covers both resolves them.
	reply, err = client(a).Do(ctx, "DGET", key).Result()
	require.NoError(t, err)
	require.Len(t, reply.([]any)[1], 2)
	require.NoError(t, client(a).Do(ctx, "DPUT", key, reply.([]any)[0], val('e')).Err(), "the resolution")
	replicated(key, val('e'))
	t.Logf("peer frame limit %d bytes", a.cfg.PeerConfig().MaxFrame)
}
