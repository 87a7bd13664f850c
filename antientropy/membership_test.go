package antientropy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/admin"
	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/internal/clustertest"
	"github.com/dynkv/dynkv/ring"
	"github.com/dynkv/dynkv/version"
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

// settleRing runs rounds until no change is under way, no node holds
// records of partitions it does not replicate and, when strict (no writes
// in flight), every partition's replicas agree. check, if not nil, runs
// after every round.
func settleRing(t *testing.T, c *clustertest.Cluster, max int, strict bool, check func()) int {
	t.Helper()
	ctx := context.Background()
	for i := 1; i <= max; i++ {
		rd := c.AntiEntropyRound(ctx)
		c.ReplayHints(ctx)
		t.Logf("round %d: %+v flipped=%v", i, rd, c.Ring().Next() == nil)
		if check != nil {
			check()
		}
		if rd.Pending == 0 && c.Ring().Next() == nil && (!strict || len(c.Diverged(ctx)) == 0) {
			return i
		}
	}
	t.Fatalf("ring change not settled after %d rounds", max)
	return 0
}

// readAll checks that every key reads at R=2, through the running members
// of the active ring in turn, with the value written.
func readAll(t *testing.T, c *clustertest.Cluster, keys [][]byte) {
	t.Helper()
	var nodes []string
	for _, n := range c.Ring().Nodes() {
		if c.Node(n.ID).Coord != nil {
			nodes = append(nodes, n.ID)
		}
	}
	for i, k := range keys {
		id := nodes[i%len(nodes)]
		ss, err := c.Node(id).Coord.Get(context.Background(), k, coordinator.ReadOptions{R: 2})
		require.NoError(t, err)
		v, ok := ss.Value()
		require.True(t, ok, "%s lost, read through %s", k, id)
		require.Equal(t, string(k), string(v))
	}
}

// acked returns base and the writes the load has had acknowledged so far.
func (l *load) acked(base [][]byte) [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append(slices.Clone(base), l.acks...)
}

// TestMembership_LeaveAndJoinUnderLoad: a node leaves a 4-node ring, and
// later a new one joins the 3-node ring, while a client keeps writing.
// Neither change moves ownership when it is committed: the partitions keep
// their homes until the nodes gaining them have pulled their data. Every
// key acknowledged so far reads at R=2 after every round, throughout; the
// node that left ends holding nothing; no acknowledged write is lost. The
// leaving node crashes in the middle of its transfer: the others complete
// without it, and it hands its records off when it is back.
func TestMembership_LeaveAndJoinUnderLoad(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 4, clustertest.Config())
	base := writeKeys(t, c, "base", 500)
	for _, k := range base {
		_, err := c.Node(c.Home(k)[0]).Coord.Put(ctx, k, put(string(k)))
		require.NoError(t, err)
	}
	l := startLoad(t, c)
	check := func() { readAll(t, c, l.acked(base)) }

	leaver := "node-2"
	require.NotZero(t, records(t, c, leaver))
	c.Leave(leaver)
	require.True(t, c.Ring().Has(leaver), "ownership moved at the change, before any data did")
	require.NotNil(t, c.Ring().Next())
	check()
	c.Kill(leaver)
	t.Logf("leave flipped in %d rounds", settleRing(t, c, 6, false, check))
	require.False(t, c.Ring().Has(leaver))
	c.Restart(leaver)
	settleRing(t, c, 6, false, check)
	require.Zero(t, records(t, c, leaver), "the node that left holds no data")
	require.NotZero(t, c.Node(leaver).AE.Stats().HandedOff)

	c.Join("node-9")
	require.False(t, c.Ring().Has("node-9"), "ownership moved at the join, before any data did")
	t.Logf("join flipped in %d rounds", settleRing(t, c, 6, false, check))
	require.True(t, c.Ring().Has("node-9"))
	tr := c.Node("node-9").AE.Stats().Transfer
	require.True(t, tr.Ready && tr.Total > 0 && tr.Done == tr.Total && tr.Keys > 0, "node-9's transfer: %+v", tr)
	require.NotZero(t, records(t, c, "node-9"), "the new node got its partitions' data")

	l.stop()
	settleRing(t, c, 3, true, nil) // the load's last writes
	all := l.acked(base)
	t.Logf("%d writes acknowledged under load", len(all)-len(base))
	require.Greater(t, len(all), len(base))
	readAll(t, c, all)
	for _, n := range c.Ring().Nodes() {
		require.Zero(t, c.Node(n.ID).AE.Stats().HandoffPending)
	}
}

// TestMembership_TransferResumesAfterCrash: a node joins a 3-node ring and
// one side of its transfer is killed (kill -9) half way: the joining node
// itself, or a node it pulls from. The ring does not flip while a replica
// it needs is down; after the restart the transfer resumes — partitions
// already received are not sent again — and completes, and every key
// reads at R=2 from the new ring.
func TestMembership_TransferResumesAfterCrash(t *testing.T) {
	for _, side := range []string{"receiver", "sender"} {
		t.Run(side, func(t *testing.T) {
			ctx := context.Background()
			cfg := clustertest.Config()
			ae := clustertest.AEConfig(cfg)
			ae.Rate = 4000 // keys per second: the transfer takes about half a second
			c := clustertest.NewAE(t, 3, cfg, ae)
			keys := writeKeys(t, c, "k", 2000)
			for _, k := range keys {
				_, err := c.Node(c.Home(k)[0]).Coord.Put(ctx, k, put(string(k)))
				require.NoError(t, err)
			}
			const joiner = "node-9"
			c.Join(joiner)
			victim := joiner
			if side == "sender" {
				victim = "node-0"
			}
			var pre admin.TransferStats
			killed := make(chan struct{})
			go func() {
				defer close(killed)
				deadline := time.Now().Add(20 * time.Second)
				for time.Now().Before(deadline) {
					st := c.Node(joiner).AE.Stats().Transfer
					if st.Total > 0 && st.Done >= st.Total/3 {
						pre = st
						c.Kill(victim)
						return
					}
					//lint:ignore NoSleep polling another goroutine's progress; the deadline bounds it
					time.Sleep(time.Millisecond)
				}
			}()
			_, err := c.Node(joiner).AE.RunRound(ctx)
			require.NoError(t, err)
			<-killed
			require.True(t, pre.Done > 0 && pre.Done < pre.Total, "killed half way: %+v", pre)
			require.NotNil(t, c.Ring().Next(), "the transfer did not complete before the kill")
			c.AntiEntropyRound(ctx)
			require.NotNil(t, c.Ring().Next(), "the ring flipped with %s down", victim)
			c.Restart(victim)
			settleRing(t, c, 6, true, nil)
			require.True(t, c.Ring().Has(joiner))
			post := c.Node(joiner).AE.Stats().Transfer
			recs := records(t, c, joiner)
			t.Logf("before the kill: %+v; after: %+v; %d records", pre, post, recs)
			require.True(t, post.Ready)
			if side == "receiver" {
				// A new syncer: its figures count what it received after the restart.
				require.Less(t, post.Keys, int64(recs)-pre.Keys/2, "the transfer started over")
			}
			readAll(t, c, keys)
		})
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
	settleRing(t, c, 2, true, nil)
	require.Zero(t, records(t, c, x), "the record was handed off and dropped")
	require.NotEqual(t, old, c.Node(x).Store.Actor(), "dropping its own versions rotated the actor")

	_, err = c.Node(x).Coord.Put(ctx, key, set("b"))
	require.NoError(t, err)
	ss, err := c.Node(c.Home(key)[0]).Coord.Get(ctx, key, coordinator.ReadOptions{R: 3})
	require.NoError(t, err)
	v, _ := ss.Value()
	require.Equal(t, "b", string(v))

	var dropped version.Dot // the dot x issued for "a" and then dropped
	for _, s := range ss {
		if s.Dot.Actor == old {
			dropped = s.Dot
		}
	}
	require.NotZero(t, dropped.Counter, "a, written by x's old actor, is a sibling of b")
	merged := version.Sync(ss, version.Write(nil, dropped, nil, 1, []byte("reissued"), false))
	require.NotContains(t, liveValues(merged), "reissued", "control: a reissued dot is shadowed")
}

func liveValues(ss version.Siblings) []string {
	var out []string
	for _, s := range ss.Live() {
		out = append(out, string(s.Value))
	}
	return out
}

// BenchmarkTransfer_Join measures a join of a fourth node to a 3-node
// in-process cluster (memnet, pebble in memory) holding 20,000 keys, with
// no rate limit: the time from the change until the ring flips, the keys
// the new node received, and keys per second. Run:
//
//	go test ./antientropy -run XXX -bench Transfer -benchtime 1x
func BenchmarkTransfer_Join(b *testing.B) {
	for range b.N {
		b.StopTimer()
		ctx := context.Background()
		c := clustertest.New(b, 3, clustertest.Config())
		writeKeys(b, c, "k", 20_000)
		b.StartTimer()
		start := time.Now()
		c.Join("node-9")
		rounds := 0
		for c.Ring().Next() != nil {
			c.AntiEntropyRound(ctx)
			rounds++
		}
		d := time.Since(start)
		b.StopTimer()
		tr := c.Node("node-9").AE.Stats().Transfer
		b.ReportMetric(d.Seconds()*1000, "ms-to-flip")
		b.ReportMetric(float64(tr.Keys), "keys")
		b.ReportMetric(float64(tr.Keys)/d.Seconds(), "keys/s")
		b.ReportMetric(float64(rounds), "rounds")
		b.ReportMetric(float64(tr.Total), "partitions")
	}
}

// TestMembership_HintsForALeaverReachTheNewHomes: a write a home node
// missed while down is held as a hint for it; when that node is removed
// from the ring, the hint goes to the key's new homes and is deleted
// instead of waiting for a node that will not come back.
func TestMembership_HintsForALeaverReachTheNewHomes(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 5, clustertest.Config())
	key := []byte("k")
	home := c.Home(key)
	gone := home[1]
	c.Kill(gone)
	_, err := c.Node(home[0]).Coord.Put(ctx, key, put("v"))
	require.NoError(t, err)
	// Put returns at W=2; the delivery to the down home ends as a hint in
	// the background.
	require.Eventually(t, func() bool { return c.HintsHeld(ctx) > 0 }, 10*time.Second, time.Millisecond,
		"the write to the down home became a hint")
	c.Leave(gone)
	settleRing(t, c, 6, true, nil)
	require.Zero(t, c.HintsHeld(ctx), "the hint for the departed node was delivered elsewhere")
	for _, id := range c.Home(key) {
		ss, err := c.Node(id).Store.Get(ctx, key)
		require.NoError(t, err)
		v, ok := ss.Value()
		require.True(t, ok && string(v) == "v", "new home %s lacks the write", id)
	}
}

// TestMembership_WritesReachPendingHomes: while a joining node receives its
// partitions, a write to a key it will be a home of reaches it too (not
// counted towards W), so that what it received stays complete until the
// ring flips. No anti-entropy round runs here: the write is the only way
// for the key to get there.
func TestMembership_WritesReachPendingHomes(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 3, clustertest.Config())
	c.Join("node-9")
	var key []byte
	for i := 0; key == nil; i++ {
		k := fmt.Appendf(nil, "k-%d", i)
		tr := c.Target()
		if slices.Contains(tr.Homes(tr.PartitionOf(k), 3), "node-9") {
			key = k
		}
	}
	_, err := c.Node(c.Home(key)[0]).Coord.Put(ctx, key, put("v"))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		ss, err := c.Node("node-9").Store.Get(ctx, key)
		v, ok := ss.Value()
		return err == nil && ok && string(v) == "v"
	}, 10*time.Second, time.Millisecond, "the pending home got the write")
	require.False(t, c.Ring().Has("node-9"), "no round ran: the ring has not flipped")
}
