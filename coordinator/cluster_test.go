package coordinator_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/internal/clustertest"
	"github.com/dynkv/dynkv/peer"
	"github.com/dynkv/dynkv/version"
)

func set(v string) coordinator.Write {
	return coordinator.Write{Supersede: true, Value: coordinator.Value([]byte(v))}
}

// TestCluster_AvailabilityMatrix checks, with fallbacks disabled, that for
// every R and W an operation succeeds exactly when enough of the key's
// replicas are up, and otherwise fails fast with the quorum error.
func TestCluster_AvailabilityMatrix(t *testing.T) {
	ctx := context.Background()
	cfg := clustertest.Config()
	cfg.NoFallbacks = true
	c := clustertest.New(t, 5, cfg)
	key := []byte("matrix")
	home := c.Home(key)
	coord := c.Node(home[0]).Coord
	for down := 0; down <= 2; down++ {
		for _, id := range home[1 : 1+down] {
			c.Kill(id)
		}
		up := 3 - down
		for q := 1; q <= 3; q++ {
			t.Run(fmt.Sprintf("down=%d q=%d", down, q), func(t *testing.T) {
				_, err := coord.Put(ctx, key, coordinator.Write{W: q, Supersede: true, Value: coordinator.Value([]byte("v"))})
				_, rerr := coord.Get(ctx, key, coordinator.ReadOptions{R: q})
				if q <= up {
					require.NoError(t, err, "write")
					require.NoError(t, rerr, "read")
				} else {
					require.ErrorIs(t, err, coordinator.ErrQuorum, "write")
					require.ErrorIs(t, rerr, coordinator.ErrQuorum, "read")
				}
			})
		}
		for _, id := range home[1 : 1+down] {
			c.Restart(id)
		}
	}
}

// TestCluster_SloppyQuorum: with 2 of a key's 3 home replicas down, W=2
// writes succeed through fallbacks, and reads see them.
func TestCluster_SloppyQuorum(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 5, clustertest.Config())
	key := []byte("sloppy")
	home := c.Home(key)
	c.Kill(home[1])
	c.Kill(home[2])
	coord := c.Node(home[0]).Coord
	_, err := coord.Put(ctx, key, set("kept"))
	require.NoError(t, err)
	ss, err := coord.Get(ctx, key, coordinator.ReadOptions{R: 2})
	require.NoError(t, err)
	v, ok := ss.Value()
	require.True(t, ok)
	require.Equal(t, "kept", string(v))
	// The second hint may still be on its way when Put returns at W=2.
	require.Eventually(t, func() bool { return c.HintsHeld(ctx) == 2 }, 5e9, 1e6, "one hint per missing home node")
}

// TestCluster_HintedHandoff: a replica that was down while 100 keys were
// written gets every one of them from hints once it is back; the control
// without handoff finds them missing.
func TestCluster_HintedHandoff(t *testing.T) {
	for _, handoff := range []bool{true, false} {
		t.Run(fmt.Sprintf("handoff=%v", handoff), func(t *testing.T) {
			ctx := context.Background()
			c := clustertest.New(t, 5, clustertest.Config())
			victim := "node-1"
			c.Kill(victim)
			var keys [][]byte
			for i := 0; len(keys) < 100; i++ {
				key := []byte(fmt.Sprintf("k%d", i))
				home := c.Home(key)
				if !slices.Contains(home, victim) {
					continue
				}
				coordID := home[0]
				if coordID == victim {
					coordID = home[1]
				}
				_, err := c.Node(coordID).Coord.Put(ctx, key, set(string(key)))
				require.NoError(t, err)
				keys = append(keys, key)
			}
			// Deliveries beyond W finish in the background.
			require.Eventually(t, func() bool { return c.HintsHeld(ctx) == 100 }, 5e9, 1e6)
			c.Restart(victim)
			if handoff {
				require.Equal(t, 100, c.ReplayHints(ctx))
				require.Zero(t, c.HintsHeld(ctx), "delivered hints are deleted")
			}
			for _, id := range c.Others(victim) {
				c.Kill(id)
			}
			missing := 0
			for _, key := range keys {
				ss, err := c.Node(victim).Store.Get(ctx, key)
				require.NoError(t, err)
				if v, ok := ss.Value(); !ok || string(v) != string(key) {
					missing++
				}
			}
			if handoff {
				require.Zero(t, missing)
			} else {
				require.Equal(t, 100, missing, "without handoff the victim must miss every write")
			}
		})
	}
}

// TestCluster_HintsSurviveKill: the node holding hints is killed and
// restarted before the home node returns; the hints are still delivered.
func TestCluster_HintsSurviveKill(t *testing.T) {
	ctx := context.Background()
	cfg := clustertest.Config()
	cfg.NoFallbacks = true // the coordinator keeps the hint itself
	c := clustertest.New(t, 3, cfg)
	key := []byte("durable-hint")
	home := c.Home(key)
	c.Kill(home[2])
	_, err := c.Node(home[0]).Coord.Put(ctx, key, set("v"))
	require.NoError(t, err)
	c.Kill(home[0])
	c.Restart(home[0])
	c.Restart(home[2])
	require.Equal(t, 1, c.ReplayHints(ctx))
	ss, err := c.Node(home[2]).Store.Get(ctx, key)
	require.NoError(t, err)
	v, _ := ss.Value()
	require.Equal(t, "v", string(v))
}

// TestCluster_ReadRepair: one read makes a stale replica current, and reads
// of consistent keys write nothing.
func TestCluster_ReadRepair(t *testing.T) {
	ctx := context.Background()
	cfg := clustertest.Config()
	cfg.NoFallbacks = true
	c := clustertest.New(t, 5, cfg)
	key := []byte("repair")
	home := c.Home(key)
	c.Kill(home[2])
	coord := c.Node(home[0]).Coord
	_, err := coord.Put(ctx, key, set("new"))
	require.NoError(t, err)
	c.Restart(home[2]) // hints not replayed: home[2] is stale
	stale, err := c.Node(home[2]).Store.Get(ctx, key)
	require.NoError(t, err)
	require.Empty(t, stale)

	_, err = coord.Get(ctx, key, coordinator.ReadOptions{R: 3})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		ss, err := c.Node(home[2]).Store.Get(ctx, key)
		v, _ := ss.Value()
		return err == nil && string(v) == "new"
	}, 5e9, 1e6, "read repair must bring the stale replica up to date")

	// Consistent keys: 10,000 reads write nothing anywhere.
	require.Equal(t, 1, c.ReplayHints(ctx)) // the hint is now redundant; delivering it writes nothing new
	writes := func() int64 {
		var n int64
		for _, id := range c.IDs() {
			n += c.Node(id).Store.Stats().Writes
		}
		return n
	}
	before := writes()
	for i := 0; i < 10_000; i++ {
		_, err := c.Node(home[i%3]).Coord.Get(ctx, key, coordinator.ReadOptions{R: 1 + i%3})
		require.NoError(t, err)
	}
	for _, id := range c.IDs() {
		require.NoError(t, c.Node(id).Coord.Close()) // waits for background repairs
	}
	require.Equal(t, before, writes(), "reads of a consistent key must not write")
}

// TestCluster_PartitionSiblings: both sides of a partition take DPUTs to the
// same cart; after healing, a read returns every add as siblings and a
// merging write collapses them.
func TestCluster_PartitionSiblings(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 5, clustertest.Config())
	key := []byte("cart:42")
	home := c.Home(key)
	sideA := []string{home[0], c.Others(home...)[0]}
	sideB := []string{home[1], home[2], c.Others(home...)[1]}
	c.Partition(sideA, sideB)

	add := func(coordID, item string) {
		co := c.Node(coordID).Coord
		ss, err := co.Get(ctx, key, coordinator.ReadOptions{})
		require.NoError(t, err)
		_, err = co.Put(ctx, key, coordinator.Write{Context: ss.Context(), Value: coordinator.Value([]byte(item))})
		require.NoError(t, err)
	}
	add(sideA[0], "apple")
	add(sideB[0], "pear")
	add(sideB[1], "plum") // supersedes pear: read-modify-write on side B

	c.Heal()
	c.ReplayHints(ctx)
	ss, err := c.Node(home[0]).Coord.Get(ctx, key, coordinator.ReadOptions{R: 3})
	require.NoError(t, err)
	var vals []string
	for _, s := range ss.Live() {
		vals = append(vals, string(s.Value))
	}
	require.ElementsMatch(t, []string{"apple", "plum"}, vals)

	_, err = c.Node(home[1]).Coord.Put(ctx, key, coordinator.Write{Context: ss.Context(), Value: coordinator.Value([]byte("apple,plum"))})
	require.NoError(t, err)
	ss, err = c.Node(home[2]).Coord.Get(ctx, key, coordinator.ReadOptions{R: 3})
	require.NoError(t, err)
	require.Len(t, ss.Live(), 1)
	require.Equal(t, "apple,plum", string(ss.Live()[0].Value))
}

var _ = version.Sync

// TestCluster_ForwardToHome: a write sent to a node outside the key's home
// nodes is coordinated by a home node, so its version names only home nodes.
func TestCluster_ForwardToHome(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 5, clustertest.Config())
	key := []byte("forwarded")
	home := c.Home(key)
	outsider := c.Others(home...)[0]
	_, err := c.Node(outsider).Coord.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("v")})
	require.NoError(t, err)
	require.Equal(t, int64(1), c.Node(outsider).Coord.Stats().Forwarded)
	ss, err := c.Node(home[1]).Coord.Get(ctx, key, coordinator.ReadOptions{R: 3})
	require.NoError(t, err)
	require.Len(t, ss, 1)
	require.Equal(t, c.Node(home[0]).Store.Actor(), ss[0].Dot.Actor, "the first home node coordinates")
	local, err := c.Node(outsider).Store.Get(ctx, key)
	require.NoError(t, err)
	require.Empty(t, local, "the forwarding node keeps no copy")

	// Conditions travel with the write.
	_, err = c.Node(outsider).Coord.Put(ctx, key, coordinator.Write{Supersede: true, Cond: coordinator.CondAbsent, Data: []byte("w")})
	require.ErrorIs(t, err, coordinator.ErrCondition)

	// Let the first write reach all three home nodes (the third delivery
	// finishes after Put returns), or killing them would turn it into a hint.
	require.Eventually(t, func() bool {
		for _, id := range home {
			if ss, err := c.Node(id).Store.Get(ctx, key); err != nil || len(ss) == 0 {
				return false
			}
		}
		return true
	}, 5e9, 1e6)
	// A delivery that landed after its attempt timed out (a slow run) also
	// left a hint on its coordinator: hand such hints off now, so that the
	// counts below are of the write made while the homes are down.
	c.ReplayHints(ctx)
	require.Equal(t, 0, c.HintsHeld(ctx))
	// With every home node down, the outsider coordinates itself: the two
	// healthy nodes left take the write as hints (sloppy quorum), and the
	// home nodes get it when they are back.
	for _, id := range home {
		c.Kill(id)
	}
	_, err = c.Node(outsider).Coord.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("while down"), W: 2})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return c.HintsHeld(ctx) >= 3 }, 5e9, 1e6)
	for _, id := range home {
		c.Restart(id)
	}
	// At least the three hints of the write made while the homes were
	// down; a delivery of the first write still in flight when the homes
	// were killed may have left a fourth (its attempt timed out on a slow,
	// loaded run), which is handed off too.
	require.GreaterOrEqual(t, c.ReplayHints(ctx), 3)
	require.Zero(t, c.HintsHeld(ctx), "every hint handed off")
	for _, id := range c.Others(home...) {
		c.Kill(id)
	}
	ss, err = c.Node(home[2]).Coord.Get(ctx, key, coordinator.ReadOptions{R: 3})
	require.NoError(t, err)
	v, _ := ss.Value()
	require.Equal(t, "while down", string(v))
}

// TestCluster_ConditionOnOutsider: a conditional write sent to a node
// outside the key's home nodes is decided by a home node, and the versions
// that failed the condition come back with ErrCondition (SET NX GET).
func TestCluster_ConditionOnOutsider(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 5, clustertest.Config())
	key := []byte("nx")
	home := c.Home(key)
	_, err := c.Node(home[0]).Coord.Put(ctx, key, set("first"))
	require.NoError(t, err)
	outsider := c.Others(home...)[0]
	prev, err := c.Node(outsider).Coord.Put(ctx, key, coordinator.Write{Supersede: true, Cond: coordinator.CondAbsent, Data: []byte("second")})
	require.ErrorIs(t, err, coordinator.ErrCondition)
	v, ok := prev.Value()
	require.True(t, ok)
	require.Equal(t, "first", string(v))
	ss, err := c.Node(home[1]).Coord.Get(ctx, key, coordinator.ReadOptions{R: 3})
	require.NoError(t, err)
	v, _ = ss.Value()
	require.Equal(t, "first", string(v))
}

// TestCluster_HungNode: a node that gossip still calls alive but that does
// not answer (stopped, or behind a silent partition) costs an attempt
// timeout, not the operation: forwarded writes move to the next home node,
// replication moves to a fallback, reads to the others. An APPEND whose
// forward timed out is not sent again.
func TestCluster_HungNode(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 5, clustertest.Config())
	key := []byte("hung")
	home := c.Home(key)
	outsider := c.Others(home...)[0]
	c.Net.Delay(home[0], time.Hour)

	_, err := c.Node(outsider).Coord.Put(ctx, key, coordinator.Write{Supersede: true, Op: coordinator.OpAppend, Data: []byte("x")})
	require.ErrorIs(t, err, coordinator.ErrForwardUnknown, "an APPEND is not sent twice")
	require.Equal(t, 1, c.Node(outsider).Coord.Stats().Suspected, "the hung home node is suspected")

	_, err = c.Node(outsider).Coord.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("v1")})
	require.NoError(t, err, "a forwarded set goes to a home node not under suspicion")
	_, err = c.Node(home[1]).Coord.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("v2"), W: 3})
	require.NoError(t, err, "W=3 with one hung home node: a fallback stands in")
	ss, err := c.Node(home[1]).Coord.Get(ctx, key, coordinator.ReadOptions{R: 3})
	require.NoError(t, err, "R=3 with one hung home node: a fallback stands in")
	v, _ := ss.Value()
	require.Equal(t, "v2", string(v))
}

// TestCluster_Suspicion: once a node let an attempt time out, operations
// plan around it (no call reaches it, writes go to a fallback with a hint)
// until the suspicion lapses; then it is tried again, and a node that
// answers is used as before.
func TestCluster_Suspicion(t *testing.T) {
	ctx := context.Background()
	cfg := clustertest.Config()
	c := clustertest.New(t, 5, cfg)
	key := []byte("suspect")
	home := c.Home(key)
	co := c.Node(home[1]).Coord
	var calls atomic.Int64
	c.Net.SetHook(func(_, to string, _ []byte) (time.Duration, error) {
		if to == home[0] {
			calls.Add(1)
			return time.Hour, nil
		}
		return 0, nil
	})

	_, err := co.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("v1"), W: 3})
	require.NoError(t, err, "the first write waits an attempt timeout, then a fallback stands in")
	require.Equal(t, int64(1), calls.Load())
	st := co.Stats()
	require.Equal(t, 1, st.Suspected)
	require.Equal(t, int64(1), st.Suspicions)

	for i := range 20 {
		_, err := co.Put(ctx, key, coordinator.Write{Supersede: true, Data: fmt.Appendf(nil, "v%d", i+2), W: 3})
		require.NoError(t, err)
		_, err = co.Get(ctx, key, coordinator.ReadOptions{R: 3})
		require.NoError(t, err)
	}
	require.Equal(t, int64(1), calls.Load(), "no operation calls a suspected node")
	require.Equal(t, int64(1), co.Stats().Suspicions)

	// The node recovers; the suspicion lapses after Timeout.
	c.Net.SetHook(nil)
	c.Advance(cfg.Timeout)
	require.Zero(t, co.Stats().Suspected)
	_, err = co.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("back"), W: 3})
	require.NoError(t, err)
	got, err := c.Node(home[0]).Store.Get(ctx, key)
	require.NoError(t, err)
	v, _ := got.Value()
	require.Equal(t, "back", string(v), "after the suspicion lapsed the node gets writes directly")
}

// TestCluster_SuspicionLastResort: with no fallback to stand in (three
// nodes, N=3), a suspected home that gossip still calls alive is tried
// anyway; when it answers, W=3 and R=3 succeed and its suspicion is lifted.
// A forwarded APPEND goes to a suspected home rather than being computed
// by a node outside the key's home nodes.
func TestCluster_SuspicionLastResort(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 3, clustertest.Config())
	key := []byte("last-resort")
	home := c.Home(key)
	co := c.Node(home[1]).Coord
	var hang atomic.Bool
	hang.Store(true)
	c.Net.SetHook(func(_, to string, _ []byte) (time.Duration, error) {
		if to == home[0] && hang.Load() {
			return time.Hour, nil
		}
		return 0, nil
	})
	// The background delivery to the hung home times out twice: its own
	// attempt, then the last resort (no fallback exists); only then is it
	// done with the home, and the test may let the home answer again.
	timeouts := func(n int64) func() bool { return func() bool { return co.Stats().Suspicions == n } }
	_, err := co.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("v1")})
	require.NoError(t, err, "W=2 without the hung home")
	require.Eventually(t, timeouts(2), 5*time.Second, time.Millisecond)
	require.Equal(t, 1, co.Stats().Suspected)

	hang.Store(false)
	_, err = co.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("v2"), W: 3})
	require.NoError(t, err, "W=3: the suspected home is the only node left, and it answers")
	require.Zero(t, co.Stats().Suspected, "an answer lifts the suspicion")
	got, err := c.Node(home[0]).Store.Get(ctx, key)
	require.NoError(t, err)
	v, _ := got.Value()
	require.Equal(t, "v2", string(v))

	hang.Store(true)
	_, err = co.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("v3")})
	require.NoError(t, err)
	require.Eventually(t, timeouts(4), 5*time.Second, time.Millisecond)
	require.Equal(t, 1, co.Stats().Suspected)
	hang.Store(false)
	ss, err := co.Get(ctx, key, coordinator.ReadOptions{R: 3})
	require.NoError(t, err, "R=3: the suspected home is read as a last resort")
	v, _ = ss.Value()
	require.Equal(t, "v3", string(v))
	require.Zero(t, co.Stats().Suspected)
}

// TestCluster_ForwardToSuspectedHome: a node outside a key's home nodes
// that suspects every home still forwards (an APPEND computed from its
// own, empty copy would drop the value).
func TestCluster_ForwardToSuspectedHome(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 5, clustertest.Config())
	key := []byte("fwd-suspect")
	home := c.Home(key)
	outsider := c.Others(home...)[0]
	_, err := c.Node(home[0]).Coord.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("abc"), W: 3})
	require.NoError(t, err)

	// Every home lets the outsider's attempts time out.
	var hang atomic.Bool
	hang.Store(true)
	c.Net.SetHook(func(from, to string, _ []byte) (time.Duration, error) {
		if from == outsider && slices.Contains(home, to) && hang.Load() {
			return time.Hour, nil
		}
		return 0, nil
	})
	// A read asks all three in parallel: each attempt times out.
	_, _ = c.Node(outsider).Coord.Get(ctx, key, coordinator.ReadOptions{R: 2})
	require.Eventually(t, func() bool { return c.Node(outsider).Coord.Stats().Suspected == 3 }, 5*time.Second, time.Millisecond)

	hang.Store(false)
	_, err = c.Node(outsider).Coord.Put(ctx, key, coordinator.Write{Supersede: true, Op: coordinator.OpAppend, Data: []byte("def")})
	require.NoError(t, err)
	ss, err := c.Node(home[0]).Coord.Get(ctx, key, coordinator.ReadOptions{R: 3})
	require.NoError(t, err)
	v, _ := ss.Value()
	require.Equal(t, "abcdef", string(v), "the APPEND was applied by a home node to the stored value")
}

// TestCluster_ForwardedRangeAndBitWrites: SETRANGE and SETBIT sent to a
// node outside the key's homes are forwarded as data and applied by a home
// node to the value it holds, which every home then has; the previous
// value comes back (SETBIT replies the bit it replaced).
func TestCluster_ForwardedRangeAndBitWrites(t *testing.T) {
	ctx := context.Background()
	c := clustertest.New(t, 5, clustertest.Config())
	key := []byte("bits")
	home := c.Home(key)
	outsider := c.Others(home...)[0]
	_, err := c.Node(home[0]).Coord.Put(ctx, key, coordinator.Write{Supersede: true, Data: []byte("Hello World"), W: 3})
	require.NoError(t, err)

	prev, err := c.Node(outsider).Coord.Put(ctx, key, coordinator.Write{Supersede: true, Op: coordinator.OpSetRange,
		Data: coordinator.RangeData(6, []byte("Redis")), W: 3})
	require.NoError(t, err)
	v, _ := prev.Value()
	require.Equal(t, "Hello World", string(v))
	prev, err = c.Node(outsider).Coord.Put(ctx, key, coordinator.Write{Supersede: true, Op: coordinator.OpSetBit,
		Data: coordinator.BitData(1, 0), W: 3}) // "H" 0x48 -> 0x08
	require.NoError(t, err)
	v, _ = prev.Value()
	require.Equal(t, "Hello Redis", string(v))
	for _, h := range home {
		ss, err := c.Node(h).Store.Get(ctx, key)
		require.NoError(t, err)
		v, _ := ss.Value()
		require.Equal(t, "\x08ello Redis", string(v), h)
		require.Len(t, ss, 1)
		require.NotEqual(t, c.Node(outsider).Store.Actor(), ss[0].Dot.Actor, "a home node coordinated it")
	}
}

// TestCluster_HintTooLargeDoesNotBlockOthers: a hint its transport cannot
// carry (peer.ErrFrameTooLarge) is kept and retried, and the hints for the
// same node after it are delivered meanwhile.
func TestCluster_HintTooLargeDoesNotBlockOthers(t *testing.T) {
	ctx := context.Background()
	cfg := clustertest.Config()
	cfg.NoFallbacks = true // the coordinator keeps the hints itself
	c := clustertest.New(t, 3, cfg)
	big, small := []byte("{h}a-big"), []byte("{h}b-small") // one slot; the big one's hint comes first
	home := c.Home(big)
	c.Kill(home[2])
	for _, k := range [][]byte{big, small} {
		_, err := c.Node(home[0]).Coord.Put(ctx, k, set(string(k)))
		require.NoError(t, err)
	}
	c.Restart(home[2])
	c.Net.SetHook(func(_, to string, req []byte) (time.Duration, error) {
		if to == home[2] && bytes.Contains(req, big) {
			return 0, fmt.Errorf("memnet: %w", peer.ErrFrameTooLarge)
		}
		return 0, nil
	})
	require.Equal(t, 1, c.ReplayHints(ctx), "the small one, past the big one")
	c.Net.SetHook(nil)
	require.Equal(t, 1, c.ReplayHints(ctx), "the big one, kept")
	for _, k := range [][]byte{big, small} {
		ss, err := c.Node(home[2]).Store.Get(ctx, k)
		require.NoError(t, err)
		require.Equal(t, []string{string(k)}, values(ss))
	}
}
