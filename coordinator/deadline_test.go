package coordinator_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/internal/clustertest"
)

// hopConfig is the test profile with a long Timeout, so that waiting out an
// attempt timeout (a quarter of it, what a silent peer cost before hop
// deadlines) is far from waiting out a hop deadline.
func hopConfig() coordinator.Config {
	cfg := clustertest.Config()
	cfg.Timeout = 10 * time.Second
	return cfg
}

// attemptTimeout mirrors coordinator.attemptTimeout: what a silent peer
// would cost without a measured latency.
func attemptTimeout(cfg coordinator.Config) time.Duration { return cfg.Timeout / 4 }

// TestCluster_SilentPeerCostsAHopDeadline: a home node that stops
// answering (its calls hang, as a paused process's or a silent partition's
// do) while gossip still calls it alive costs an operation that needs it
// its hop deadline, the floor for a peer that answered fast until then,
// and then a fallback or the next home stands in; not the attempt timeout
// nor the operation's Timeout. The deadline is asserted on (the peer's
// measured latency gives the floor), and the operation's time only against
// a bound far below the attempt timeout.
func TestCluster_SilentPeerCostsAHopDeadline(t *testing.T) {
	ctx := context.Background()
	cfg := hopConfig()
	slack := 500 * time.Millisecond // scheduling on a busy machine under -race
	for _, tc := range []struct {
		name string
		// silent returns the nodes that stop answering and the node that
		// coordinates (or forwards) the operation.
		silent func(home, others []string) (silent []string, coord string)
		op     func(co *coordinator.Coordinator, key []byte, i int) error
		// forward: the operation is forwarded (its deadline is the
		// forward's).
		forward bool
	}{
		{
			name:   "write W=2 with two homes silent",
			silent: func(home, _ []string) ([]string, string) { return home[1:], home[0] },
			op:     writeW(2),
		},
		{
			name:   "write W=3 with one home silent",
			silent: func(home, _ []string) ([]string, string) { return home[1:2], home[0] },
			op:     writeW(3),
		},
		{
			name:   "read R=3 with one home silent",
			silent: func(home, _ []string) ([]string, string) { return home[1:2], home[0] },
			op: func(co *coordinator.Coordinator, key []byte, _ int) error {
				_, err := co.Get(ctx, key, coordinator.ReadOptions{R: 3})
				return err
			},
		},
		{
			name:    "forwarded set with the first home silent",
			silent:  func(home, others []string) ([]string, string) { return home[:1], others[0] },
			op:      writeW(2),
			forward: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := clustertest.New(t, 5, cfg)
			key := []byte("silent")
			home := c.Home(key)
			silent, coordID := tc.silent(home, c.Others(home...))
			co := c.Node(coordID).Coord
			for i := range 20 { // every peer answers: their latencies are measured
				require.NoError(t, tc.op(co, key, i))
			}
			deadline, floor := co.ReplicaDeadline(silent[0]), cfg.HopFloor
			if tc.forward {
				deadline, floor = co.ForwardDeadline(silent[0]), 2*cfg.HopFloor
			}
			// memnet answers in microseconds: the floor, unless -race on
			// a loaded machine made some calls take milliseconds.
			require.GreaterOrEqual(t, deadline, floor)
			require.Less(t, deadline, attemptTimeout(cfg)/10, "measured, not the attempt timeout")

			for _, id := range silent {
				c.Net.Delay(id, time.Hour)
			}
			start := time.Now()
			require.NoError(t, tc.op(co, key, 100))
			took := time.Since(start)
			t.Logf("took %s with a hop deadline of %s", took, deadline)
			require.Less(t, took, deadline+slack, "the operation waited past the silent peer's hop deadline")
			require.Less(t, deadline+slack, attemptTimeout(cfg)/2, "the bound is far below the attempt timeout")
			var misses int64
			for _, id := range silent {
				misses += co.HopMisses(id)
			}
			// With two silent homes, W=2 is met once the first of them
			// missed its deadline and a fallback stood in.
			require.Positive(t, misses, "a silent peer missed its deadline")
			require.Positive(t, co.Stats().Suspected, "and is suspected")
		})
	}
}

func writeW(w int) func(co *coordinator.Coordinator, key []byte, i int) error {
	return func(co *coordinator.Coordinator, key []byte, i int) error {
		_, err := co.Put(context.Background(), key, coordinator.Write{Supersede: true, Data: fmt.Appendf(nil, "v%d", i), W: w})
		return err
	}
}

// TestCluster_SteadyHighLatencyPeerIsNotTripped: a peer that answered in
// microseconds and then steadily takes 30 ms (a loaded machine, more than
// the 20 ms floor) misses its hop deadline at most twice: its late reply is
// measured and lifts its suspicion, its deadline moves above its latency,
// and from then on operations that need it wait for it (no miss) however
// many there are. TestHopDeadline_AdaptsToSteadyHighLatency plays the same
// without a clock.
func TestCluster_SteadyHighLatencyPeerIsNotTripped(t *testing.T) {
	ctx := context.Background()
	cfg := hopConfig()
	c := clustertest.New(t, 5, cfg)
	key := []byte("slow")
	home := c.Home(key)
	co := c.Node(home[0]).Coord
	w3 := writeW(3)
	for i := range 20 {
		require.NoError(t, w3(co, key, i))
	}
	const latency = 30 * time.Millisecond
	t.Logf("deadline %s before the peer slows down", co.ReplicaDeadline(home[1])) // the floor, unless -race on a loaded machine

	c.Net.Delay(home[1], latency)
	// Adapting: the first calls at the new latency may miss the floor; a
	// late reply lifts the suspicion.
	for i := range 5 {
		require.NoError(t, w3(co, key, 100+i))
	}
	require.Eventually(t, func() bool { return co.Stats().Suspected == 0 }, 5*time.Second, time.Millisecond, "%+v", co.Stats())
	require.LessOrEqual(t, co.HopMisses(home[1]), int64(2))
	require.GreaterOrEqual(t, co.Stats().LateReplies, co.HopMisses(home[1]), "every miss was answered late, and lifted")
	adapted := co.ReplicaDeadline(home[1])
	t.Logf("deadline %s after %d misses", adapted, co.HopMisses(home[1]))
	require.Greater(t, adapted, latency)

	misses := co.HopMisses(home[1])
	for i := range 20 {
		require.NoError(t, w3(co, key, 200+i))
		_, err := co.Get(ctx, key, coordinator.ReadOptions{R: 3})
		require.NoError(t, err)
	}
	t.Logf("deadline now %s", co.ReplicaDeadline(home[1]))
	require.Equal(t, misses, co.HopMisses(home[1]), "the slow but steady peer was not tripped")
}

// TestCluster_LateReplicaStillCounts: on three nodes (no fallback), a
// write that needs every replica gets one whose calls miss their hop
// deadline and then succeed: the replica is tried again as the last
// resort, whether or not its late success has already lifted its
// suspicion, and every write succeeds (a healthy, slow cluster answered
// NOREPLICAS before).
func TestCluster_LateReplicaStillCounts(t *testing.T) {
	cfg := hopConfig()
	c := clustertest.New(t, 3, cfg)
	key := []byte("late")
	home := c.Home(key)
	co := c.Node(home[0]).Coord
	w3 := writeW(3)
	for i := range 20 {
		require.NoError(t, w3(co, key, i))
	}
	c.Net.Delay(home[1], coordinator.DefaultHopFloor+5*time.Millisecond)
	for i := range 20 {
		require.NoError(t, w3(co, key, 100+i), "write %d", i)
	}
	require.Positive(t, co.HopMisses(home[1]), "the calls missed their deadline")
}
