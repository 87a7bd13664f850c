package bench

import (
	"context"
	"fmt"
	"io"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/dynkv/dynkv/hashslot"
)

// ClusterClientResult is one load of the cluster-client scenario, sent as
// a plain client does (every request to one node) or as a cluster-aware
// client does (each key to the master CLUSTER SLOTS names for it).
type ClusterClientResult struct {
	Case   string      `json:"case"`
	Client string      `json:"client"` // plain or cluster
	Rounds []RunResult `json:"rounds"`
	Median RunResult   `json:"median"`
	Ratio  float64     `json:"ratio"` // cluster: throughput over plain's
}

// clusterClientKeys is the key space of the scenario.
const clusterClientKeys = 10000

// runClusterClient: 3 nodes, N=3 R=2 W=2 (the defaults). A plain client
// sends everything to node 1, which coordinates all of it (forwarding the
// writes of keys it is not a home of, none when N is the cluster's size);
// a cluster-aware client
// (the paper's client-driven coordination) reads CLUSTER SLOTS once and
// sends each key to its first home, spreading the connections over the
// nodes as a cluster client does. Same connections and keys in both;
// A/B/A/B rounds.
func runClusterClient(ctx context.Context, cfg ScenarioConfig, w io.Writer) (any, error) {
	var out []*ClusterClientResult
	spec := TargetSpec{Name: "dynkv-3", Kind: KindDynkv, Nodes: 3, N: 3, R: 2, W: 2}
	err := withTarget(ctx, cfg, spec, func(t *Target) error {
		keys := make([][]byte, clusterClientKeys)
		for i := range keys {
			keys[i] = keyName(nil, 100, i)
		}
		byMaster, err := routeBySlots(ctx, t.Addrs[0], keys)
		if err != nil {
			return err
		}
		dur := cfg.duration(5*time.Second, 2*time.Second)
		cases := []struct {
			name string
			l    Load
		}{
			{"set 100B c48 p1", Load{Workload: WorkSet, Clients: 48}},
			{"get 100B c48 p1", Load{Workload: WorkGet, Clients: 48}},
			{"set 100B open 500/s", Load{Workload: WorkSet, Clients: 12, Rate: 500}},
		}
		rounds := cfg.rounds()
		res := map[string]*ClusterClientResult{}
		for round := range rounds {
			for _, c := range cases {
				for _, client := range []string{"plain", "cluster"} {
					l := c.l
					l.Value, l.Pipeline, l.Duration, l.Requests, l.Seed = 100, 1, dur, cfg.Count, uint64(round+1)
					var st Stats
					cpu := startCPU(t)
					if client == "plain" {
						l.KeyNames = keys
						st, err = Drive(ctx, t.Addrs[:1], l)
					} else {
						st, err = driveRouted(ctx, byMaster, l)
					}
					if err != nil {
						return err
					}
					if err := checkStats("cluster-client "+c.name+" "+client, st); err != nil {
						return err
					}
					k := c.name + "/" + client
					if res[k] == nil {
						res[k] = &ClusterClientResult{Case: c.name, Client: client}
						out = append(out, res[k])
					}
					rr := resultOf(st)
					rr.CPU = cpu.perOp(st.Requests)
					res[k].Rounds = append(res[k].Rounds, rr)
					fmt.Fprintf(cfg.progress(), "round %d/%d %-22s %-8s %s\n", round+1, rounds, c.name, client, progressLine(rr))
				}
			}
		}
		for _, r := range out {
			r.Median = median(r.Rounds)
		}
		for _, r := range out {
			if p := res[r.Case+"/plain"]; r.Client == "cluster" && p.Median.Throughput > 0 {
				r.Ratio = r.Median.Throughput / p.Median.Throughput
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, writeClusterClient(w, out)
}

// routeBySlots asks the node at addr for CLUSTER SLOTS and returns keys
// grouped by the client address of their range's master.
func routeBySlots(ctx context.Context, addr string, keys [][]byte) (map[string][][]byte, error) {
	c, err := dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer c.close()
	_ = c.nc.SetDeadline(time.Now().Add(time.Minute))
	r, err := c.do([]byte("CLUSTER"), []byte("SLOTS"))
	if err != nil {
		return nil, err
	}
	if r.Kind != '*' {
		return nil, fmt.Errorf("bench: CLUSTER SLOTS: %s", replyText(r, "CLUSTER SLOTS"))
	}
	master := make([]string, hashslot.Count)
	for _, rg := range r.Elems {
		if len(rg.Elems) < 3 || len(rg.Elems[2].Elems) < 2 {
			return nil, fmt.Errorf("bench: CLUSTER SLOTS: a malformed range")
		}
		m := fmt.Sprintf("%s:%d", rg.Elems[2].Elems[0].Str, rg.Elems[2].Elems[1].Int)
		for s := rg.Elems[0].Int; s <= rg.Elems[1].Int && s < hashslot.Count; s++ {
			master[s] = m
		}
	}
	out := map[string][][]byte{}
	for _, k := range keys {
		m := master[hashslot.Of(k)]
		if m == "" {
			return nil, fmt.Errorf("bench: CLUSTER SLOTS leaves slot %d of key %q unassigned", hashslot.Of(k), k)
		}
		out[m] = append(out[m], k)
	}
	return out, nil
}

// driveRouted runs l as a cluster client would: the connections (and an
// open loop's rate) split over the masters in proportion to their keys,
// each master driven with its own keys, all at once; the stats merged.
func driveRouted(ctx context.Context, byMaster map[string][][]byte, l Load) (Stats, error) {
	total := 0
	for _, ks := range byMaster {
		total += len(ks)
	}
	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		merged = newStats()
		first  error
	)
	for addr, ks := range byMaster {
		part := l
		part.KeyNames = ks
		part.Clients = max(1, l.Clients*len(ks)/total)
		if l.Rate > 0 {
			part.Rate = max(1, l.Rate*len(ks)/total)
		}
		if l.Requests > 0 {
			part.Requests = max(1, l.Requests*len(ks)/total)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := Drive(ctx, []string{addr}, part)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
			merged.merge(&st)
			merged.Elapsed = max(merged.Elapsed, st.Elapsed)
		}()
	}
	wg.Wait()
	return *merged, first
}

// writeClusterClient writes the cluster-client scenario's table.
func writeClusterClient(w io.Writer, out []*ClusterClientResult) error {
	fmt.Fprintln(w, "cluster-aware client vs plain client: 3 nodes, N=3 R=2 W=2; plain sends everything to node 1,")
	fmt.Fprintln(w, "cluster sends each key to its first home (CLUSTER SLOTS); medians; ratio = cluster / plain throughput;")
	fmt.Fprintln(w, "cpu/req = the three nodes' CPU time (user + system, from /proc) per request.")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "case\tclient\treq/s\tratio\tcpu/req\tp50\tp99\tp99.9\tmax\t")
	for _, r := range out {
		m, ratio := r.Median, "-"
		if r.Ratio > 0 {
			ratio = fmt.Sprintf("%.2fx", r.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Case, r.Client, m.Throughput, ratio,
			fmtCPU(m.CPU), fmtDur(m.P50), fmtDur(m.P99), fmtDur(m.P999), fmtDur(m.Max))
	}
	return tw.Flush()
}
