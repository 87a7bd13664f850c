package antientropy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/admission"
	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/internal/clustertest"
)

// BenchmarkLatency_AntiEntropy measures GET and SET latency through the
// coordinators of a 5-node in-process cluster (memnet, pebble in memory)
// while every node runs its anti-entropy loop with a round every 100ms
// (the default is 10s):
//
//   - off: no anti-entropy (the baseline);
//   - idle: the replicas agree, rounds only compare roots;
//   - busy: node-1 missed 30,000 writes (down, no hints replayed) and
//     anti-entropy repairs it during the measurement at the default rate
//     limit (2,000 keys/s per node);
//   - busy-unlimited: the same with no rate limit;
//   - busy-20k: the same at 20,000 keys/s per node, about what unlimited
//     repair reaches here, with no admission control;
//   - busy-20k-admitted: the same with each node's admission controller
//     at the default target (antientropy.latency-target, 10ms): the rate
//     is cut while the node's coordinator sees a p99 above it.
//
// It reports p50 and p99 of each, the keys anti-entropy repaired while
// measuring, and (admitted) the share of the rate node-0 was granted at
// the end and how many windows cut it. Run:
//
//	go test ./antientropy -run XXX -bench Latency -benchtime 1x
func BenchmarkLatency_AntiEntropy(b *testing.B) {
	for _, tc := range []struct {
		name   string
		miss   int
		rate   int
		target time.Duration // admission.Config.Target; 0: off
	}{
		{"off", 0, -1, 0},
		{"idle", 0, 2000, 0},
		{"busy", 30_000, 2000, 0},
		{"busy-unlimited", 30_000, 0, 0},
		{"busy-20k", 30_000, 20_000, 0},
		{"busy-20k-admitted", 30_000, 20_000, admission.DefaultConfig().Target},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				measureLatency(b, tc.miss, tc.rate, tc.target)
			}
		})
	}
}

func measureLatency(b *testing.B, miss, rate int, target time.Duration) {
	ctx := context.Background()
	cfg := clustertest.Config()
	cfg.NoFallbacks = true
	ae := clustertest.AEConfig(cfg)
	ae.Rate, ae.Interval = max(rate, 0), 100*time.Millisecond
	if rate < 0 {
		ae.Interval = 0 // Run returns at once
	}
	adm := admission.DefaultConfig()
	adm.Target = target
	c := clustertest.NewAdmitted(b, 5, cfg, ae, adm)
	base := writeKeys(b, c, "base", 10_000)
	if miss > 0 {
		c.Kill("node-1")
		writeKeys(b, c, "missed", miss)
		c.Restart("node-1")
	} else {
		for len(c.Diverged(ctx)) > 0 {
			c.AntiEntropyRound(ctx)
		}
	}
	before := repairedTotal(c)

	aeCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, id := range c.IDs() {
		syncer := c.Node(id).AE
		wg.Go(func() { _ = syncer.Run(aeCtx) })
	}
	const clients, perClient = 4, 1500
	lat := make([][2][]time.Duration, clients) // per client: GET, SET
	runtime.GC()                               // not the loading's garbage
	b.ResetTimer()
	var cw sync.WaitGroup
	for w := range clients {
		cw.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range perClient {
				co := c.Node(fmt.Sprintf("node-%d", r.IntN(5))).Coord
				k := base[r.IntN(len(base))]
				start := time.Now()
				var err error
				op := i % 2
				if op == 0 {
					_, err = co.Get(ctx, k, coordinator.ReadOptions{})
				} else {
					_, err = co.Put(ctx, k, set("v2"))
				}
				lat[w][op] = append(lat[w][op], time.Since(start))
				require.NoError(b, err)
			}
		})
	}
	cw.Wait()
	b.StopTimer()
	repaired := repairedTotal(c) - before
	stop()
	wg.Wait()
	for op, name := range []string{"get", "set"} {
		var all []time.Duration
		for w := range clients {
			all = append(all, lat[w][op]...)
		}
		slices.Sort(all)
		b.ReportMetric(float64(all[len(all)/2].Microseconds()), name+"-p50-µs")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), name+"-p99-µs")
	}
	b.ReportMetric(float64(repaired), "keys-repaired")
	if target > 0 {
		st := c.Node("node-0").AE.Stats().Admission
		b.ReportMetric(st.Share, "node0-share")
		b.ReportMetric(float64(st.Cuts), "node0-cuts")
	}
}

func repairedTotal(c *clustertest.Cluster) int64 {
	var n int64
	for _, id := range c.IDs() {
		n += c.Node(id).AE.Stats().KeysRepaired
	}
	return n
}
