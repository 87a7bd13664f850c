package bench

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// DivergentResult is the divergent scenario's outcome for one load.
type DivergentResult struct {
	Load     string         `json:"load"`
	Carts    int            `json:"carts"`
	Writers  int            `json:"writers"`
	DGets    uint64         `json:"dgets"`
	Versions map[int]uint64 `json:"versions"` // DGETs by the number of siblings seen
	OneShare float64        `json:"one_version_share"`
}

// runDivergent: concurrent cart writers on a 3-node cluster (N=3 R=2 W=2),
// as the paper's shopping-cart robots; the histogram of how many versions
// each DGET saw. Two loads: many carts with few writers each (the paper's
// setting, where 99.94% of reads saw one version), and a few hot carts
// with many writers each.
func runDivergent(ctx context.Context, cfg ScenarioConfig, w io.Writer) (any, error) {
	loads := []struct {
		name           string
		carts, writers int
		full, quick    time.Duration
	}{
		{"robots", 1000, 10, 30 * time.Second, 5 * time.Second},
		{"hot carts", 10, 50, 30 * time.Second, 5 * time.Second},
	}
	var out []DivergentResult
	spec := TargetSpec{Name: "dynkv-3", Kind: KindDynkv, Nodes: 3, N: 3, R: 2, W: 2}
	err := withTarget(ctx, cfg, spec, func(t *Target) error {
		for _, ld := range loads {
			l := Load{Workload: WorkCart, Value: 100, Keys: ld.carts, Clients: ld.writers, Pipeline: 1,
				Duration: cfg.duration(ld.full, ld.quick), Requests: cfg.Count, Seed: uint64(time.Now().UnixNano())}
			fmt.Fprintf(cfg.progress(), "bench: divergent: %s, %d carts, %d writers, %s\n", ld.name, ld.carts, ld.writers, l.Duration)
			st, err := Drive(ctx, t.Addrs, l)
			if err != nil {
				return err
			}
			if err := checkStats("divergent "+ld.name, st); err != nil {
				return err
			}
			r := DivergentResult{Load: ld.name, Carts: ld.carts, Writers: ld.writers, Versions: st.Versions}
			for _, n := range st.Versions {
				r.DGets += n
			}
			if read := r.DGets - st.Versions[0]; read > 0 {
				r.OneShare = float64(st.Versions[1]) / float64(read)
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(w, "divergent versions: cart writers (DGET, merge, DPUT with the context) on 3 nodes, N=3 R=2 W=2,")
	fmt.Fprintln(w, "writers spread over the nodes; versions each DGET saw (0: a new cart). Paper: 99.94% saw one.")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "load\tcarts\twriters\tDGETs\t0\t1\t2\t3\t4+\tone version (of non-empty)")
	for _, r := range out {
		var more uint64
		for k, n := range r.Versions {
			if k >= 4 {
				more += n
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.2f%%\n", r.Load, r.Carts, r.Writers, r.DGets,
			r.Versions[0], r.Versions[1], r.Versions[2], r.Versions[3], more, 100*r.OneShare)
	}
	return out, tw.Flush()
}
