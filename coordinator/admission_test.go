package coordinator_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/admission"
	"github.com/dynkv/dynkv/internal/clustertest"
)

// TestCluster_BackgroundYieldsToSlowForeground: a node's coordinator tells
// the node's admission controller how long its reads and writes take, and
// both its hint replay and its anti-entropy take their rate from that one
// controller: the full rate while the coordinator is fast, the floor once
// its p99 is over the target, the full rate again once it is fast. The
// latency is injected: while slow, every peer call moves the cluster's
// clock 20ms (the target is 10ms), so each write takes at least 20ms by
// the clock the controller reads, whatever the machine does.
func TestCluster_BackgroundYieldsToSlowForeground(t *testing.T) {
	ctx := context.Background()
	cfg := clustertest.Config()
	ae := clustertest.AEConfig(cfg)
	ae.Rate = 1000
	adm := admission.DefaultConfig()
	adm.Window = 2 * time.Second // about 50 writes a window while slow
	c := clustertest.NewAdmitted(t, 3, cfg, ae, adm)
	var slow atomic.Bool
	c.Net.SetHook(func(from, to string, req []byte) (time.Duration, error) {
		if slow.Load() {
			c.Advance(20 * time.Millisecond)
		}
		return 0, nil
	})
	nd := c.Node("node-0")
	rates := func(share float64) {
		t.Helper()
		st := nd.AE.Stats()
		require.Equal(t, share, st.Admission.Share)
		require.Equal(t, float64(ae.Rate)*share, st.RateNow, "anti-entropy")
		require.Equal(t, float64(ae.Rate)*share, nd.Coord.Stats().HandoffRate, "hint replay")
	}
	write := func(n int, prefix string) {
		t.Helper()
		for i := range n {
			_, err := nd.Coord.Put(ctx, fmt.Appendf(nil, "%s:%d", prefix, i), set("v"))
			require.NoError(t, err)
		}
	}

	write(100, "fast")
	rates(1)

	slow.Store(true)
	write(400, "slow") // at least 8s of the clock: 4 windows, 4 halvings to 1/16, then the floor
	rates(adm.Floor)
	st := nd.AE.Stats().Admission
	require.Greater(t, st.ForegroundP99, adm.Target)
	require.GreaterOrEqual(t, st.Observed, int64(400), "the writes of the windows folded so far")
	t.Logf("slow: foreground p99 %s, share %.2f after %d cuts", st.ForegroundP99, st.Share, st.Cuts)

	slow.Store(false)
	c.Advance(time.Minute) // the slow writes decay away; every window after adds a step
	write(10, "fast-again")
	rates(1)

	t.Run("hint-replay-at-a-rate-delivers-every-hint", func(t *testing.T) {
		c.Kill("node-2")
		write(20, "missed")
		require.Eventually(t, func() bool { return c.HintsHeld(ctx) >= 20 }, 5*time.Second, time.Millisecond)
		c.Restart("node-2")
		before := nd.Coord.Stats().HandoffThrottled
		require.GreaterOrEqual(t, c.ReplayHints(ctx), 20)
		require.Zero(t, c.HintsHeld(ctx))
		t.Logf("hint replay waited %s on its rate", nd.Coord.Stats().HandoffThrottled-before)
	})
}
