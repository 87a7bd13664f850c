package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dynkv/dynkv/bench"
)

// benchOptions configure `dynkv bench`.
type benchOptions struct {
	quick          bool
	rounds         int
	duration       time.Duration
	count          int
	clients        int
	pipelines      []int
	values         []int
	workloads      []string
	keys           int
	rate           int
	nodes          int
	n, r, w        int
	targets        []string
	reference      string
	noRedis        bool
	redisBenchmark bool
	out            string
	binary         string
	scenario       string
}

func newBenchCmd(stdout, stderr io.Writer) *cobra.Command {
	o := benchOptions{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure dynkv side by side with redis-server",
		Long: `Measure throughput and latency of dynkv beside redis-server, in one run on one
machine: start a single dynkv node (N=1), a dynkv cluster of --nodes processes
(--n, --r, --w) and a redis-server (appendonly yes, appendfsync everysec) on
loopback, or use running servers (--target), and drive each in turn with the
same load, --rounds times (A/B/A/B); report the medians and the ratios to
redis-server. Everything started is stopped at the end, also on Ctrl-C.

The load: workloads set, get (after a prefill), mixed (50/50), zipf (90% GET
on Zipfian keys) and cart (DGET + DPUT with context, several writers per cart;
GET + SET on redis-server) in closed loops of --clients connections at each
--pipeline depth; an open loop of mixed requests at --rate requests/s, with
latencies counted from the intended send time; and redis-benchmark -t set,get
with the same key space, value size and clients, when installed.

The table goes to standard output, progress to standard error, and
report.json, results.csv, table.txt and latency.svg to --out. A run in which
any request failed exits with status 1.

--scenario runs one of the Dynamo paper's experiments instead: divergent,
balance, durability, forwarding, cluster-client; or single-node, one dynkv
node beside redis-server and a minimal redcon server, the Go front-end
ceiling (see docs/bench.md). --quick and --count apply to every scenario,
--rounds to those that run in rounds.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runBench(ctx, cmd, o, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.quick, "quick", false, "the quick run: 100-byte values, 1 s per case, 2 rounds (< 3 minutes on 2 cores)")
	f.IntVar(&o.rounds, "rounds", 0, "rounds (A/B/A/B); 0: 2 with --quick, else 3")
	f.DurationVar(&o.duration, "duration", 0, "length of each closed-loop case; 0: 1s with --quick, else 3s")
	f.IntVar(&o.count, "count", 0, "when > 0, each case sends this many requests instead (a smoke test of the harness)")
	f.IntVar(&o.clients, "clients", 50, "connections of each case")
	f.IntSliceVar(&o.pipelines, "pipeline", []int{1, 16}, "pipeline depths of the closed loops")
	f.IntSliceVar(&o.values, "values", nil, "value sizes in bytes, the first the main one; default 100 with --quick, else 100,10240")
	f.StringSliceVar(&o.workloads, "workloads", bench.Workloads, "workloads: "+strings.Join(bench.Workloads, ","))
	f.IntVar(&o.keys, "keys", 0, "key space of 100-byte values; 0: 10000 with --quick, else 100000 (1000 with --count)")
	f.IntVar(&o.rate, "rate", 500, "requests/s of the open-loop case; 0: none")
	f.IntVar(&o.nodes, "nodes", 3, "processes of the dynkv cluster")
	f.IntVar(&o.n, "n", 3, "replicas of each key in the cluster")
	f.IntVar(&o.r, "r", 2, "read quorum of the cluster")
	f.IntVar(&o.w, "w", 2, "write quorum of the cluster")
	f.StringArrayVar(&o.targets, "target", nil, "a running server to measure instead, name=host:port[,host:port...] (repeatable)")
	f.StringVar(&o.reference, "reference", "", "target the ratios are to; default: the redis-server started")
	f.BoolVar(&o.noRedis, "no-redis", false, "do not start a redis-server")
	f.BoolVar(&o.redisBenchmark, "redis-benchmark", true, "also run redis-benchmark, when installed")
	f.StringVar(&o.out, "out", "", "results directory; default bench-results/<timestamp>; \"-\" writes none")
	f.StringVar(&o.binary, "binary", "", "dynkv binary the bench starts; default this one")
	f.StringVar(&o.scenario, "scenario", "", "run an experiment: "+strings.Join(bench.Scenarios, ", "))
	f.SortFlags = false
	return cmd
}

// runBench runs dynkv bench.
func runBench(ctx context.Context, cmd *cobra.Command, o benchOptions, stdout, stderr io.Writer) error {
	if o.binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("bench: the dynkv binary: %w (give --binary)", err)
		}
		o.binary = exe
	}
	out := o.out
	if out == "" {
		out = filepath.Join("bench-results", time.Now().Format("20060102-150405"))
	}
	if out == "-" {
		out = ""
	}
	command := "dynkv " + strings.Join(os.Args[1:], " ")
	if o.scenario != "" {
		sc := bench.ScenarioConfig{Name: o.scenario, Binary: o.binary, Out: out, Quick: o.quick,
			Count: o.count, Rounds: o.rounds, Progress: stderr, Command: command}
		err := bench.RunScenario(ctx, sc, stdout)
		if errors.Is(err, bench.ErrUnknownScenario) {
			return usageError{err}
		}
		return err
	}
	cfg, err := benchConfig(cmd, o)
	if err != nil {
		return usageError{err}
	}
	cfg.Out, cfg.Progress, cfg.Command = out, stderr, command
	rep, err := bench.Run(ctx, cfg)
	if rep != nil {
		if terr := rep.WriteTable(stdout); terr != nil {
			return terr
		}
	}
	return err
}

// benchConfig turns the flags into the bench's configuration.
func benchConfig(cmd *cobra.Command, o benchOptions) (bench.Config, error) {
	m := bench.FullMatrix()
	rounds := 3
	if o.quick {
		m, rounds = bench.QuickMatrix(), 2
	}
	if o.rounds > 0 {
		rounds = o.rounds
	}
	if o.duration > 0 {
		m.Duration = o.duration
	}
	if len(o.values) > 0 {
		m.Values = o.values
	}
	switch {
	case o.keys > 0:
		m.Keys = o.keys
	case o.count > 0:
		m.Keys = 1000 // a smoke test: a small prefill
	}
	m.Workloads, m.Pipelines, m.Clients, m.Rate, m.Requests = o.workloads, o.pipelines, o.clients, o.rate, o.count
	_, rbErr := exec.LookPath("redis-benchmark")
	m.RedisBenchmark = o.redisBenchmark && rbErr == nil
	cfg := bench.Config{Cases: m.Cases(), Rounds: rounds, Binary: o.binary, Reference: o.reference}
	if len(o.targets) > 0 {
		for _, t := range o.targets {
			name, addrs, ok := strings.Cut(t, "=")
			if !ok || name == "" || addrs == "" {
				return cfg, fmt.Errorf("--target: %q is not name=host:port[,host:port...]", t)
			}
			cfg.Targets = append(cfg.Targets, bench.TargetSpec{Name: name, Kind: bench.KindExternal, Addrs: strings.Split(addrs, ",")})
		}
		return cfg, cfg.Validate()
	}
	_, rsErr := exec.LookPath("redis-server")
	cfg.Targets = bench.StandardTargets(o.nodes, o.n, o.r, o.w, !o.noRedis && rsErr == nil)
	return cfg, cfg.Validate()
}

// newBenchRedconCmd is the hidden `dynkv bench-redcon`: the minimal redcon
// server (bench.ServeRedcon), which dynkv bench starts as a process of its
// own for its redcon targets, so that the server's CPU can be read from
// /proc and it shares no Go runtime with the load generator.
func newBenchRedconCmd() *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:    "bench-redcon",
		Short:  "Serve the minimal redcon server (dynkv bench's Go front-end ceiling)",
		Args:   cobra.NoArgs,
		Hidden: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return usageError{fmt.Errorf("--listen: %w", err)}
			}
			return bench.ServeRedcon(ctx, ln)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:6380", "address to serve on, host:port")
	return cmd
}
