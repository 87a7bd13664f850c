package bench

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"time"
)

// Targets of the single-node scenario.
const (
	singleRedis  = "redis"
	singleRedcon = "redcon"
	singleDynkv  = "dynkv-1"
	singleMemory = "dynkv-1-memory"
)

// runSingleNode: issue 15's one-node comparison. redis-benchmark -t
// set,get -c 50 -d 100 -r 100000 at pipeline depths 1 and 16 against
// redis-server (the reference), the minimal redcon server (the Go
// front-end ceiling: what any Go server on redcon could reach) and one
// dynkv node (N=1 R=1 W=1, the default durability) on each storage
// engine, pebble and memory, A/B/A/B; medians,
// ratios to redis-server and the servers' CPU per request, then dynkv's
// figures over the ceiling's.
func runSingleNode(ctx context.Context, cfg ScenarioConfig, w io.Writer) (any, error) {
	if _, err := exec.LookPath("redis-benchmark"); err != nil {
		return nil, fmt.Errorf("%w: redis-benchmark", ErrNoTool)
	}
	bc := Config{Targets: []TargetSpec{
		{Name: singleRedis, Kind: KindRedis},
		{Name: singleRedcon, Kind: KindRedcon},
		{Name: singleDynkv, Kind: KindDynkv, Nodes: 1, N: 1, R: 1, W: 1},
		{Name: singleMemory, Kind: KindDynkv, Nodes: 1, N: 1, R: 1, W: 1, Args: []string{"--storage", "memory"}},
	}, Reference: singleRedis, Cases: singleNodeMatrix(cfg).Cases(), Rounds: cfg.rounds(), Binary: cfg.Binary, Out: cfg.Out,
		Progress: cfg.Progress, Command: cfg.Command}
	rep, err := Run(ctx, bc)
	if rep == nil {
		return nil, err
	}
	fmt.Fprintln(w, "one node: redis-benchmark -t set,get -c 50 -d 100 -r 100000 against redis-server, the minimal")
	fmt.Fprintln(w, "redcon server (the Go front-end ceiling) and one dynkv node (N=1 R=1 W=1, default durability;")
	fmt.Fprintln(w, "dynkv-1-memory: storage memory);")
	fmt.Fprintln(w, "cpu/req = the server's CPU time (user + system, from /proc) per request.")
	dir := rep.Dir
	rep.Dir = "" // the table's "results in" line goes last, below the ceiling's
	if terr := rep.WriteTable(w); terr != nil {
		return nil, terr
	}
	writeCeiling(w, rep)
	if dir != "" {
		fmt.Fprintf(w, "results in %s\n", dir)
	}
	return nil, err // Run wrote its report to cfg.Out
}

// singleNodeMatrix returns the cases of the single-node scenario: only
// redis-benchmark, -n 200000, 50000 with Quick, Count with Count.
func singleNodeMatrix(cfg ScenarioConfig) Matrix {
	m := Matrix{Values: []int{100}, Pipelines: []int{1, 16}, Clients: 50, Keys: 100000,
		RedisBenchmark: true, RedisBenchmarkRequests: 200000, Requests: cfg.Count,
		Duration: 10 * time.Minute} // a cap only: redis-benchmark runs -n requests
	if cfg.Quick {
		m.RedisBenchmarkRequests = 50000
	}
	return m
}

// writeCeiling writes, per case, dynkv's throughput and CPU per request
// over the redcon server's.
func writeCeiling(w io.Writer, rep *Report) {
	ceiling := map[string]RunResult{}
	for _, r := range rep.Results {
		if r.Target == singleRedcon {
			ceiling[r.Case] = r.Median
		}
	}
	for _, r := range rep.Results {
		c, ok := ceiling[r.Case]
		if (r.Target != singleDynkv && r.Target != singleMemory) || !ok || c.Throughput <= 0 {
			continue
		}
		line := fmt.Sprintf("%s: %s / redcon: throughput %.2fx", r.Case, r.Target, r.Median.Throughput/c.Throughput)
		if c.CPU > 0 && r.Median.CPU > 0 {
			line += fmt.Sprintf(", CPU per request %.1fx", r.Median.CPU/c.CPU)
		}
		fmt.Fprintln(w, line)
	}
}
