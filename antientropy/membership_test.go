package antientropy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/internal/clustertest"
	"github.com/dynkv/dynkv/replica"
	"github.com/dynkv/dynkv/ring"
)

// load writes new keys (at most 1,000) through random ring members until
// stopped, and records the keys whose writes were acknowledged.
type load struct {
	stop func()
	mu   sync.Mutex
	acks [][]byte
}

func startLoad(t *testing.T, c *clustertest.Cluster) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{}
	var wg sync.WaitGroup
	wg.Go(func() {
		r := rand.New(rand.NewPCG(7, 7))
		for i := 0; ctx.Err() == nil && i < 1000; i++ {
			nodes := c.Ring().Nodes()
			co := c.Node(nodes[r.IntN(len(nodes))].ID).Coord
			k := fmt.Appendf(nil, "load-%d", i)
			if co == nil {
				continue
			}
			if _, err := co.Put(ctx, k, put(string(k))); err == nil {
				l.mu.Lock()
				l.acks = append(l.acks, k)
				l.mu.Unlock()
			}
		}
	})
	l.stop = func() { cancel(); wg.Wait() }
	t.Cleanup(l.stop) // before the cluster stops
	return l
}

// records returns the number of records node id holds.
func records(t *testing.T, c *clustertest.Cluster, id string) int {
	t.Helper()
	recs, err := c.Node(id).Store.Scan(context.Background(), 0, ring.Slots-1, nil, 1<<30)
	require.NoError(t, err)
	return len(recs)
}

// settleRing runs rounds until no node holds records of partitions it does
// not replicate and, when strict (no writes in flight), every partition's
// replicas agree.
func settleRing(t *testing.T, c *clustertest.Cluster, max int, strict bool) int {
	t.Helper()
	ctx := context.Background()
	for i := 1; i <= max; i++ {
		rd := c.AntiEntropyRound(ctx)
		t.Logf("round %d: %+v", i, rd)
		if rd.Pending == 0 && (!strict || len(c.Diverged(ctx)) == 0) {
			return i
		}
	}
	t.Fatalf("ring change not settled after %d rounds", max)
	return 0
}

// readAll checks that every key reads at R=2, through the ring members in
// turn, with the value written.
func readAll(t *testing.T, c *clustertest.Cluster, keys [][]byte) {
	t.Helper()
	nodes := c.Ring().Nodes()
	for i, k := range keys {
		id := nodes[i%len(nodes)].ID
		ss, err := c.Node(id).Coord.Get(context.Background(), k, coordinator.ReadOptions{R: 2})
		require.NoError(t, err)
		v, ok := ss.Value()
		require.True(t, ok, "%s lost, read through %s", k, id)
		require.Equal(t, string(k), string(v))
	}
}

// TestHandoff_LeaveAndJoinUnderLoad: a node leaves a 4-node ring, and
// later a new one joins the 3-node ring, while a client keeps writing.
// The records of the partitions that move are handed to their new homes
// (anti-entropy fills the rest); the node that left ends holding nothing;
// no acknowledged write is lost and every key reads at R=2 afterwards.
// A crash of the leaving node in the middle of its transfer only delays it.
func TestHandoff_LeaveAndJoinUnderLoad(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 4, clustertest.Config())
	base := writeKeys(t, c, "base", 500)
	for _, k := range base {
		_, err := c.Node(c.Home(k)[0]).Coord.Put(ctx, k, put(string(k)))
		require.NoError(t, err)
	}
	l := startLoad(t, c)

	leaver := "node-2"
	require.NotZero(t, records(t, c, leaver))
	c.Leave(leaver)
	// The transfer is cut short: one new home is unreachable, and the
	// leaver crashes.
	others := slices.DeleteFunc(c.IDs(), func(id string) bool { return id == leaver })
	c.Partition([]string{leaver, others[0], others[1]}, []string{others[2]})
	rd := c.AntiEntropyRound(ctx)
	require.NotZero(t, rd.Pending, "control: a transfer to an unreachable home waits")
	c.Kill(leaver)
	c.Restart(leaver)
	c.Heal()
	t.Logf("leave settled in %d rounds", settleRing(t, c, 5, false))
	require.Zero(t, records(t, c, leaver), "the node that left holds no data")
	require.NotZero(t, c.Node(leaver).AE.Stats().HandedOff)

	c.Join("node-9")
	t.Logf("join settled in %d rounds", settleRing(t, c, 5, false))
	require.NotZero(t, records(t, c, "node-9"), "the new node got its partitions' data")

	l.stop()
	settleRing(t, c, 3, true) // the load's last writes
	l.mu.Lock()
	acked := l.acks
	l.mu.Unlock()
	t.Logf("%d writes acknowledged under load", len(acked))
	require.NotEmpty(t, acked)
	readAll(t, c, append(base, acked...))
	for _, n := range c.Ring().Nodes() {
		require.Zero(t, c.Node(n.ID).AE.Stats().HandoffPending)
	}
}

// TestHandoff_DropRotatesActor: a node that coordinated a write of a key it
// does not replicate hands the record to the key's homes and drops it, and
// draws a new actor first, so that its next write of the key is not a
// reissue of the dropped dot. The control shows the reissued dot would
// have been lost.
func TestHandoff_DropRotatesActor(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t)
	key := []byte("k")
	x := c.Others(c.Home(key)...)[0]
	_, err := c.Node(x).Coord.Put(ctx, key, set("a")) // a Value write is coordinated here
	require.NoError(t, err)
	require.Equal(t, 1, records(t, c, x))
	old := c.Node(x).Store.Actor()
	settleRing(t, c, 2, true)
	require.Zero(t, records(t, c, x), "the record was handed off and dropped")
	require.NotEqual(t, old, c.Node(x).Store.Actor(), "dropping its own versions rotated the actor")

	_, err = c.Node(x).Coord.Put(ctx, key, set("b"))
	require.NoError(t, err)
	ss, err := c.Node(c.Home(key)[0]).Coord.Get(ctx, key, coordinator.ReadOptions{R: 3})
	require.NoError(t, err)
	v, _ := ss.Value()
	require.Equal(t, "b", string(v))

	merged := replica.Sync(ss, replica.Update(nil, old, nil, 1, []byte("reissued"), false))
	require.NotContains(t, liveValues(merged), "reissued", "control: a reissued dot is shadowed")
}

func liveValues(ss replica.Siblings) []string {
	var out []string
	for _, s := range ss.Live() {
		out = append(out, string(s.Value))
	}
	return out
}
