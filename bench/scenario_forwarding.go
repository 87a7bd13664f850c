package bench

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dynkv/dynkv/hashslot"
	"github.com/dynkv/dynkv/ring"
)

// ForwardingResult is one load of the forwarding scenario, sent to a key's
// home node (direct) or to a node that must forward (forwarded).
type ForwardingResult struct {
	Case   string      `json:"case"`
	Route  string      `json:"route"` // direct or forwarded
	Rounds []RunResult `json:"rounds"`
	Median RunResult   `json:"median"`
	Ratio  float64     `json:"ratio"` // forwarded: throughput over direct's
}

// forwardKeys is how many keys of each kind the scenario finds (a few
// with --count).
const forwardKeys = 100

// runForwarding: 3 nodes with N=1 (R=1, W=1), so a key has one home node.
// The keys are sorted by asking node 1 where they live (RING KEY). Node 1
// is then driven with keys it is home
// of (the paper's client-driven coordination: the client sends to the
// right node) and with keys it must forward (server-driven: any node takes
// the request and forwards it), A/B/A/B. Reads are not forwarded, but with
// N=1 a read of a key homed elsewhere asks that node: the same extra hop.
func runForwarding(ctx context.Context, cfg ScenarioConfig, w io.Writer) (any, error) {
	var out []*ForwardingResult
	spec := TargetSpec{Name: "dynkv-3-n1", Kind: KindDynkv, Nodes: 3, N: 1, R: 1, W: 1}
	err := withTarget(ctx, cfg, spec, func(t *Target) error {
		direct, forwarded, err := probeForwarding(ctx, t.Addrs[0], spec.N, cfg.forwardKeys())
		if err != nil {
			return err
		}
		dur := cfg.duration(5*time.Second, 2*time.Second)
		base := Load{Value: 100, Pipeline: 1, Duration: dur, Requests: cfg.Count, Seed: 1}
		cases := []struct {
			name string
			l    Load
		}{
			{"set 100B c50 p1", Load{Workload: WorkSet, Clients: 50}},
			{"get 100B c50 p1", Load{Workload: WorkGet, Clients: 50}},
			{"set 100B c1 p1", Load{Workload: WorkSet, Clients: 1}},
			{"set 100B open 500/s", Load{Workload: WorkSet, Clients: 10, Rate: 500}},
		}
		rounds := cfg.rounds()
		res := map[string]*ForwardingResult{}
		for round := range rounds {
			for _, c := range cases {
				for _, route := range []string{"direct", "forwarded"} {
					l := c.l
					l.Value, l.Pipeline, l.Duration, l.Requests, l.Seed = base.Value, base.Pipeline, base.Duration, base.Requests, uint64(round+1)
					l.KeyNames = direct
					if route == "forwarded" {
						l.KeyNames = forwarded
					}
					cpu := startCPU(t)
					st, err := Drive(ctx, t.Addrs[:1], l)
					if err != nil {
						return err
					}
					if err := checkStats("forwarding "+c.name+" "+route, st); err != nil {
						return err
					}
					k := c.name + "/" + route
					if res[k] == nil {
						res[k] = &ForwardingResult{Case: c.name, Route: route}
						out = append(out, res[k])
					}
					rr := resultOf(st)
					rr.CPU = cpu.perOp(st.Requests)
					res[k].Rounds = append(res[k].Rounds, rr)
					fmt.Fprintf(cfg.progress(), "round %d/%d %-22s %-9s %s\n", round+1, rounds, c.name, route, progressLine(rr))
				}
			}
		}
		forwardingRatios(out, res)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, writeForwarding(w, out)
}

// writeForwarding writes the forwarding scenario's table.
func writeForwarding(w io.Writer, out []*ForwardingResult) error {
	fmt.Fprintln(w, "forwarding cost: 3 nodes, N=1 R=1 W=1; all load sent to node 1, with keys homed on node 1 (direct)")
	fmt.Fprintln(w, "or on another node (forwarded); medians; ratio = forwarded / direct throughput;")
	fmt.Fprintln(w, "cpu/req = the three nodes' CPU time (user + system, from /proc) per request.")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "case\troute\treq/s\tratio\tcpu/req\tp50\tp99\tp99.9\tmax\t")
	for _, r := range out {
		m, ratio := r.Median, "-"
		if r.Ratio > 0 {
			ratio = fmt.Sprintf("%.2fx", r.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Case, r.Route, m.Throughput, ratio,
			fmtCPU(m.CPU), fmtDur(m.P50), fmtDur(m.P99), fmtDur(m.P999), fmtDur(m.Max))
	}
	return tw.Flush()
}

func (c ScenarioConfig) forwardKeys() int {
	if c.Count > 0 {
		return 10
	}
	return forwardKeys
}

// forwardingRatios sets the medians, and the ratios of the forwarded
// results to the direct ones (res: by case/route).
func forwardingRatios(out []*ForwardingResult, res map[string]*ForwardingResult) {
	for _, r := range out {
		r.Median = median(r.Rounds)
	}
	for _, r := range out {
		if d := res[r.Case+"/direct"]; r.Route == "forwarded" && d.Median.Throughput > 0 {
			r.Ratio = r.Median.Throughput / d.Median.Throughput
		}
	}
}

// probeForwarding asks the node at addr where candidate keys live (RING
// KEY: the key's preference list, whose first n are its home nodes) and
// sorts them into keys the node is a home of and keys it must forward: up
// to want keys of each kind. Keys of one partition share a preference list,
// so RING KEY is asked once per partition (computed here from the key's slot
// and INFO cluster's partitions), not once per key.
func probeForwarding(ctx context.Context, addr string, n, want int) (direct, forwarded [][]byte, err error) {
	c, err := dial(ctx, addr)
	if err != nil {
		return nil, nil, err
	}
	defer c.close()
	_ = c.nc.SetDeadline(time.Now().Add(2 * time.Minute))
	self, err := selfID(c)
	if err != nil {
		return nil, nil, err
	}
	q, err := infoInt(c, "cluster", "partitions")
	if err != nil || q < 1 || ring.Slots%q != 0 {
		return nil, nil, fmt.Errorf("bench: INFO cluster partitions: %d %v", q, err)
	}
	homeOf := map[int]bool{} // partition → whether self is a home of it
	for i := 0; (len(direct) < want || len(forwarded) < want) && i < 100*want; i++ {
		key := keyName(nil, 100, i)
		p := hashslot.Of(key) / (ring.Slots / q)
		home, ok := homeOf[p]
		if !ok {
			if home, err = isHome(c, key, self, n); err != nil {
				return nil, nil, err
			}
			homeOf[p] = home
		}
		switch {
		case home && len(direct) < want:
			direct = append(direct, key)
		case !home && len(forwarded) < want:
			forwarded = append(forwarded, key)
		}
	}
	if len(direct) == 0 || len(forwarded) == 0 {
		return nil, nil, fmt.Errorf("bench: found %d direct and %d forwarded keys: is N smaller than the nodes?", len(direct), len(forwarded))
	}
	return direct, forwarded, nil
}

// isHome reports whether self is among the first n of key's preference
// list, by RING KEY.
func isHome(c *conn, key []byte, self string, n int) (bool, error) {
	r, err := c.do([]byte("RING"), []byte("KEY"), key)
	if err != nil {
		return false, err
	}
	if r.Kind != '*' || len(r.Elems) != 3 || len(r.Elems[2].Elems) < n {
		return false, fmt.Errorf("bench: RING KEY: %s", replyText(r, "RING KEY"))
	}
	for _, id := range r.Elems[2].Elems[:n] {
		if string(id.Str) == self {
			return true, nil
		}
	}
	return false, nil
}

// infoInt returns an integer field of an INFO section.
func infoInt(c *conn, section, field string) (int, error) {
	r, err := c.do([]byte("INFO"), []byte(section))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(r.Str), "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, fmt.Errorf("bench: INFO %s has no %s", section, field)
}

// selfID returns the ID of the node c is connected to, from RING.
func selfID(c *conn) (string, error) {
	r, err := c.do([]byte("RING"))
	if err != nil {
		return "", err
	}
	for _, m := range r.Elems {
		if len(m.Elems) >= 6 && m.Elems[5].Int == 1 { // RING appends fields; the first six stay
			return string(m.Elems[0].Str), nil
		}
	}
	return "", fmt.Errorf("bench: RING names no member as this node: %s", replyText(r, "RING"))
}
