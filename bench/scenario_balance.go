package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"text/tabwriter"

	"github.com/dynkv/dynkv/ring"
)

// BalanceResult is the load-balance scenario's outcome for one ring and
// one window size.
type BalanceResult struct {
	Nodes           int     `json:"nodes"`
	Partitions      int     `json:"partitions"`
	OwnedMin        int     `json:"owned_min"` // partitions owned (first of the preference list)
	OwnedMax        int     `json:"owned_max"`
	OwnedMean       float64 `json:"owned_mean"`
	OwnedOff        float64 `json:"owned_off_share"` // share of nodes owning > 15% off the mean
	Keys            string  `json:"keys"`            // key popularity: uniform or zipf
	Window          int     `json:"window_requests"` // requests per window
	Windows         int     `json:"windows"`
	RequestsOff     float64 `json:"requests_off_share"` // share of nodes > 15% off the mean request load, over the windows
	MaxRequestRatio float64 `json:"max_request_ratio"`  // most loaded node's requests over the mean, worst window
}

// balanceN is the replication of the simulated rings: a request counts at
// each of the N nodes of its key's preference list.
const balanceN = 3

// offMean is the paper's threshold of imbalance: a node whose load is more
// than 15% above or below the mean is out of balance.
const offMean = 0.15

// runBalance simulates rings of 16 and 64 nodes with the ring package (the
// default partitions, nodes of equal weight joining one by one) and
// measures the balance of partition ownership, and of requests in windows
// of several sizes with uniform and Zipfian (θ = 0.99) key popularity
// over a million keys; the paper found 10-20% of nodes out of balance at
// low load and fewer as load grows.
func runBalance(ctx context.Context, cfg ScenarioConfig, w io.Writer) (any, error) {
	const keys = 1000000
	windows := []int{1000, 10000, 100000, 1000000}
	budget := 4000000 // requests per ring and popularity
	switch {
	case cfg.Count > 0:
		windows, budget = []int{1000, 10000}, 20000
	case cfg.Quick:
		windows, budget = []int{1000, 10000, 100000}, 400000
	}
	z := newZipf(keys, zipfTheta)
	var out []BalanceResult
	for _, nodes := range []int{16, 64} {
		var ns []ring.Node
		for i := range nodes {
			ns = append(ns, ring.Node{ID: fmt.Sprintf("node-%02d", i), Weight: 1})
		}
		r, err := ring.New(ring.DefaultPartitions, ns...)
		if err != nil {
			return nil, err
		}
		idx := map[string]int{}
		for i, n := range r.Nodes() {
			idx[n.ID] = i
		}
		owned := make([]float64, nodes)
		prefs := make([][]int, r.Partitions())
		for p := range prefs {
			owned[idx[r.Owner(p)]]++
			for _, id := range r.PreferenceList(p)[:balanceN] {
				prefs[p] = append(prefs[p], idx[id])
			}
		}
		omin, omax, omean, ooff := spread(owned)
		for _, pop := range []string{"uniform", "zipf"} {
			for _, win := range windows {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				res := BalanceResult{Nodes: nodes, Partitions: r.Partitions(), OwnedMin: int(omin), OwnedMax: int(omax),
					OwnedMean: omean, OwnedOff: ooff, Keys: pop, Window: win, Windows: max(budget/win, 1)}
				var zz *zipf
				if pop == "zipf" {
					zz = z
				}
				simulateWindows(&res, r, prefs, keys, zz)
				out = append(out, res)
			}
		}
	}
	return out, writeBalance(w, out)
}

// writeBalance writes the balance scenario's table.
func writeBalance(w io.Writer, out []BalanceResult) error {
	fmt.Fprintf(w, "load balance: simulated rings (ring package, %d partitions, equal weights, N=%d: a request counts at\n", ring.DefaultPartitions, balanceN)
	fmt.Fprintln(w, "each of its key's N nodes), 1,000,000 keys; share of nodes more than 15% off the mean. Paper: 10-20% at low load, fewer at high load.")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "nodes\tpartitions owned min/mean/max\towned off\tkeys\twindow (requests)\twindows\tnodes off (requests)\tmax/mean")
	for _, r := range out {
		fmt.Fprintf(tw, "%d\t%d/%.1f/%d\t%.1f%%\t%s\t%d\t%d\t%.1f%%\t%.2f\n", r.Nodes, r.OwnedMin, r.OwnedMean, r.OwnedMax,
			100*r.OwnedOff, r.Keys, r.Window, r.Windows, 100*r.RequestsOff, r.MaxRequestRatio)
	}
	return tw.Flush()
}

// simulateWindows draws res.Windows windows of res.Window requests over
// keys keys (uniform, or by z when not nil), counts each at the nodes of
// prefs of its key's partition, and records the windows' imbalance in res.
func simulateWindows(res *BalanceResult, r *ring.Ring, prefs [][]int, keys int, z *zipf) {
	rng := rand.New(rand.NewPCG(uint64(res.Nodes), uint64(res.Window)))
	var key []byte
	load := make([]float64, res.Nodes)
	for range res.Windows {
		clear(load)
		for range res.Window {
			k := rng.IntN(keys)
			if z != nil {
				k = z.next(rng)
			}
			key = keyName(key[:0], 100, k)
			for _, n := range prefs[r.PartitionOf(key)] {
				load[n]++
			}
		}
		_, lmax, lmean, off := spread(load)
		res.RequestsOff += off / float64(res.Windows)
		res.MaxRequestRatio = math.Max(res.MaxRequestRatio, lmax/lmean)
	}
}

// spread returns the min, max and mean of xs and the share of them more
// than offMean off the mean.
func spread(xs []float64) (lo, hi, mean, off float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi, mean = math.Min(lo, x), math.Max(hi, x), mean+x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		if math.Abs(x-mean) > offMean*mean {
			off++
		}
	}
	return lo, hi, mean, off / float64(len(xs))
}
