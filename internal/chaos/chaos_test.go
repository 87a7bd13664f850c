package chaos_test

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/internal/chaos"
	"github.com/dynkv/dynkv/internal/clustertest"
	"github.com/dynkv/dynkv/internal/history"
)

var (
	flagSeed     = flag.Uint64("chaos.seed", 0, "run only this seed (0: the fixed CI seeds; with -chaos.long: a random seed)")
	flagLong     = flag.Bool("chaos.long", false, "run TestCart_Long: the cart workload for -chaos.duration")
	flagDuration = flag.Duration("chaos.duration", 5*time.Minute, "how long TestCart_Long runs its workload")
	flagFaults   = flag.String("chaos.faults", "", "comma-separated fault kinds to draw from (default: all)")
	flagOps      = flag.Int("chaos.ops", 0, "adds per run (0: the test's default)")
)

// ciSeeds are the seeds every CI run checks.
var ciSeeds = []uint64{1, 2, 3, 4, 5}

func seeds() []uint64 {
	if *flagSeed != 0 {
		return []uint64{*flagSeed}
	}
	return ciSeeds
}

func config(t *testing.T, seed uint64, w history.Workload) chaos.Config {
	cfg := chaos.DefaultConfig()
	cfg.Seed, cfg.Workload = seed, w
	if *flagOps != 0 {
		cfg.Ops = *flagOps
	}
	if *flagFaults != "" {
		ks, err := chaos.ParseKinds(*flagFaults)
		require.NoError(t, err)
		cfg.Kinds = ks
	}
	return cfg
}

func run(t *testing.T, cfg chaos.Config) *chaos.Result {
	t.Helper()
	t.Logf("seed %d (replay with -chaos.seed=%d)", cfg.Seed, cfg.Seed)
	c := clustertest.New(t, cfg.Nodes, cfg.Coordinator)
	res, err := chaos.Run(context.Background(), c, cfg)
	require.NoError(t, err)
	t.Log(res.Summary())
	return res
}

// requireNoLoss fails t with the details if res lost or invented an
// acknowledged add, or the replicas did not converge.
func requireNoLoss(t *testing.T, res *chaos.Result) {
	t.Helper()
	if len(res.Lost) > 0 || len(res.Unexpected) > 0 || !res.Converged || len(res.Problems) > 0 {
		t.Fatalf("seed %d: lost=%d unexpected=%d converged=%v problems=%d\n%s\nfaults:\n%s",
			res.Seed, len(res.Lost), len(res.Unexpected), res.Converged, len(res.Problems), res.Explain(), res.Schedule())
	}
	require.Positive(t, res.OK, "nothing was acknowledged: the run checked nothing")
}

// TestCart_NoAcknowledgedAddLost: with every fault kind on a seeded
// schedule, the cart workload (read siblings and context, write the union)
// loses no acknowledged add, invents none, and every cart's replicas
// converge once the faults heal.
func TestCart_NoAcknowledgedAddLost(t *testing.T) {
	for _, seed := range seeds() {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			res := run(t, config(t, seed, history.Cart))
			requireNoLoss(t, res)
			require.NotEmpty(t, res.Faults, "no fault was injected")
		})
	}
}

// TestLWW_LosesAdds: the control. Plain last-writer-wins read-modify-write
// of the same carts loses acknowledged adds, which the checker must see.
func TestLWW_LosesAdds(t *testing.T) {
	total := 0
	for _, seed := range seeds() {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			res := run(t, config(t, seed, history.LWW))
			require.Empty(t, res.Unexpected)
			require.NotEmpty(t, res.Lost, "last-writer-wins read-modify-write lost nothing: can the checker see loss?")
			total += len(res.Lost)
		})
	}
	t.Logf("lww: %d acknowledged adds lost over %d seeds", total, len(seeds()))
	require.Positive(t, total)
}

// TestCart_Long is the long randomized run for manual use:
//
//	go test ./internal/chaos -run TestCart_Long -chaos.long -chaos.duration 30m -v
func TestCart_Long(t *testing.T) {
	if !*flagLong {
		t.Skip("long run: pass -chaos.long (and -chaos.duration)")
	}
	seed := *flagSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	cfg := config(t, seed, history.Cart)
	cfg.Ops, cfg.Duration = *flagOps, *flagDuration
	res := run(t, cfg)
	t.Logf("faults:\n%s", res.Schedule())
	requireNoLoss(t, res)
}
