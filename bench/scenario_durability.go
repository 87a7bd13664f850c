package bench

import (
	"context"
	"fmt"
	"io"
	"time"
)

// runDurability: write latency and throughput of one dynkv node with each
// durability mode (none, process: the default, fsync), A/B/A/B. The paper
// saw a 5x lower p99.9 from its in-memory write buffer than from writing
// through to disk; here fsync is the write-through and process/none the
// buffered modes. The table's ratios are to the default, process.
func runDurability(ctx context.Context, cfg ScenarioConfig, w io.Writer) (any, error) {
	var targets []TargetSpec
	for _, d := range []string{"process", "fsync", "none"} {
		targets = append(targets, TargetSpec{Name: "dynkv-" + d, Kind: KindDynkv, Nodes: 1, N: 1, R: 1, W: 1, Durability: d})
	}
	dur := cfg.duration(10*time.Second, 3*time.Second)
	base := Load{Workload: WorkSet, Value: 100, Keys: 100000, Pipeline: 1, Duration: dur, Requests: cfg.Count, Seed: 1}
	open, closed1, closed50 := base, base, base
	open.Clients, open.Rate = 10, 500
	closed1.Clients = 1
	closed50.Clients = 50
	rounds := cfg.rounds()
	bc := Config{Targets: targets, Reference: "dynkv-process", Rounds: rounds, Binary: cfg.Binary, Out: cfg.Out,
		Progress: cfg.Progress, Command: cfg.Command, Cases: []Case{
			{Name: "set 100B open 500/s", Load: open},
			{Name: "set 100B c1 p1", Load: closed1},
			{Name: "set 100B c50 p1", Load: closed50},
		}}
	rep, err := Run(ctx, bc)
	if rep == nil {
		return nil, err
	}
	fmt.Fprintln(w, "durability vs latency: SET on one node per mode; ratios = throughput / process (the default).")
	fmt.Fprintln(w, "Paper: p99.9 of writes 5x lower with its write buffer than writing through.")
	if terr := rep.WriteTable(w); terr != nil {
		return nil, terr
	}
	var p999 = map[string]time.Duration{}
	for _, r := range rep.Results {
		if r.Rate > 0 {
			p999[r.Target] = r.Median.P999
		}
	}
	if p999["dynkv-process"] > 0 && p999["dynkv-none"] > 0 {
		fmt.Fprintf(w, "p99.9 at 500 writes/s: fsync/process %.1fx, fsync/none %.1fx\n",
			float64(p999["dynkv-fsync"])/float64(p999["dynkv-process"]), float64(p999["dynkv-fsync"])/float64(p999["dynkv-none"]))
	}
	return nil, err // Run wrote its report to cfg.Out
}
