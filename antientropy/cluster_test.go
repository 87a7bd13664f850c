package antientropy_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/internal/clustertest"
	"github.com/dynkv/dynkv/peer"
	"github.com/dynkv/dynkv/version"
)

func newCluster(t *testing.T) *clustertest.Cluster {
	return clustertest.New(t, 5, clustertest.Config())
}

// set is a plain SET that the node it is sent to coordinates itself, even
// if it is not a home node of the key (a Value write is never forwarded).
func set(v string) coordinator.Write {
	return coordinator.Write{Supersede: true, Value: coordinator.Value([]byte(v))}
}

// put is a plain SET as RESP sends it: a node that is not a home node of
// the key forwards it to one.
func put(v string) coordinator.Write {
	return coordinator.Write{Supersede: true, Data: []byte(v)}
}

// writeKeys writes n keys key-0 … through the running nodes, in parallel,
// and returns them.
func writeKeys(t testing.TB, c *clustertest.Cluster, prefix string, n int) [][]byte {
	t.Helper()
	ctx := context.Background()
	var ids []string
	for _, id := range c.IDs() {
		if c.Node(id).Coord != nil {
			ids = append(ids, id)
		}
	}
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "%s-%d", prefix, i)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				// A loaded machine may time a write out: retry it (the
				// same plain set), as a client would.
				var err error
				for try := 0; try < 3; try++ {
					if _, err = c.Node(ids[i%len(ids)]).Coord.Put(ctx, keys[i], put("v")); err == nil {
						break
					}
				}
				if err != nil {
					errs <- fmt.Errorf("put %s: %w", keys[i], err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	require.NoError(t, <-errs)
	return keys
}

// converge runs rounds until every partition's replicas have the same tree
// root, and returns how many it took; it fails after max rounds.
func converge(t *testing.T, c *clustertest.Cluster, max int) int {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	for i := 1; i <= max; i++ {
		rd := c.AntiEntropyRound(ctx)
		t.Logf("round %d: %+v (%s since the first)", i, rd, time.Since(start).Round(time.Millisecond))
		if len(c.Diverged(ctx)) == 0 {
			return i
		}
	}
	t.Fatalf("replicas still differ after %d rounds in partitions %v", max, c.Diverged(ctx))
	return 0
}

// quiesce runs rounds until one repairs nothing (the background deliveries
// of earlier writes have landed), then checks that the next one repairs
// nothing either: converged and idle, repairs drop to zero.
func quiesce(t *testing.T, c *clustertest.Cluster) {
	t.Helper()
	ctx := context.Background()
	for i := 0; c.AntiEntropyRound(ctx).Repaired > 0; i++ {
		require.Less(t, i, 5, "repairs do not drop to zero")
	}
	rd := c.AntiEntropyRound(ctx)
	require.Zero(t, rd.Repaired, "converged and idle: nothing to repair")
	require.Zero(t, rd.Failures)
	require.Empty(t, c.Diverged(ctx))
}

// holds reports whether node id's store holds a value of key.
func holds(t *testing.T, c *clustertest.Cluster, id string, key []byte) bool {
	t.Helper()
	ss, err := c.Node(id).Store.Get(context.Background(), key)
	require.NoError(t, err)
	_, ok := ss.Value()
	return ok
}

// TestAntiEntropy_WipedReplicaConverges: a node that lost its data is
// repaired by anti-entropy alone: every partition's replicas reach the same
// tree root within two rounds, and the wiped node holds every key it
// replicates. Without rounds (the control) the replicas stay different.
func TestAntiEntropy_WipedReplicaConverges(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 5, clustertest.Config())
	keys := writeKeys(t, c, "wipe", 1000)
	converge(t, c, 2) // stragglers of W=2 writes

	c.Wipe("node-1")
	require.NotEmpty(t, c.Diverged(ctx), "control: without anti-entropy the wiped replica stays empty")
	rounds := converge(t, c, 2)
	t.Logf("converged in %d round(s)", rounds)
	for _, k := range keys {
		if home := c.Home(k); home[0] == "node-1" || home[1] == "node-1" || home[2] == "node-1" {
			require.True(t, holds(t, c, "node-1", k), "node-1 lacks %s", k)
		}
	}
	quiesce(t, c)
}

// TestAntiEntropy_ReplicaDownWithoutHints: 10,000 keys written while one
// node is down, with hints never replayed and no fallbacks: anti-entropy
// alone brings it up to date once it is back; then repairs drop to zero.
func TestAntiEntropy_ReplicaDownWithoutHints(t *testing.T) {
	cfg := clustertest.Config()
	cfg.NoFallbacks = true
	c := clustertest.New(t, 5, cfg)
	c.Kill("node-3")
	keys := writeKeys(t, c, "down", 10_000)
	c.Restart("node-3")
	missing := 0
	for _, k := range keys {
		if h := c.Home(k); (h[0] == "node-3" || h[1] == "node-3" || h[2] == "node-3") && !holds(t, c, "node-3", k) {
			missing++
		}
	}
	require.NotZero(t, missing, "control: node-3 missed the writes")
	rounds := converge(t, c, 3)
	t.Logf("node-3 missed %d keys; converged in %d round(s)", missing, rounds)
	for _, k := range keys {
		if h := c.Home(k); h[0] == "node-3" || h[1] == "node-3" || h[2] == "node-3" {
			require.True(t, holds(t, c, "node-3", k), "node-3 lacks %s", k)
		}
	}
	quiesce(t, c)
	st := c.Node("node-3").AE.Stats()
	require.NotZero(t, st.KeysRepaired)
	require.NotEmpty(t, st.Partitions)
	require.False(t, st.LastRound.IsZero())
	for _, id := range c.IDs() {
		require.Zero(t, c.Node(id).Coord.Stats().HandedOff, "hints were never replayed")
	}
}

// TestAntiEntropy_Unreachable: an exchange with a partitioned peer fails,
// is counted, and changes nothing; after healing it succeeds.
func TestAntiEntropy_Unreachable(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 5, clustertest.Config())
	key := []byte("k")
	home := c.Home(key)
	_, err := c.Node(home[0]).Store.Merge(ctx, key, version.Update(nil, 1, nil, 1, []byte("v"), false))
	require.NoError(t, err)
	p := 0
	for ; p < 64; p++ {
		if c.Root(ctx, home[0], p) != 0 {
			break
		}
	}
	c.Partition([]string{home[0]}, c.Others(home[0]))
	_, err = c.Node(home[0]).AE.Exchange(ctx, p, home[1])
	require.ErrorIs(t, err, peer.ErrUnreachable)
	require.Equal(t, int64(1), c.Node(home[0]).AE.Stats().Failures)
	require.False(t, holds(t, c, home[1], key))
	c.Heal()
	res, err := c.Node(home[0]).AE.Exchange(ctx, p, home[1])
	require.NoError(t, err)
	require.Equal(t, 1, res.Repaired)
	require.True(t, holds(t, c, home[1], key))
	_, err = c.Node(home[0]).AE.Exchange(ctx, p, c.Others(home...)[0])
	require.Error(t, err, "a node that does not replicate the partition is refused")
}
