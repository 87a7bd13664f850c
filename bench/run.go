package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
)

// ToolRedisBenchmark names cases run with redis-benchmark.
const ToolRedisBenchmark = "redis-benchmark"

// Case is one load every target is driven with in every round.
type Case struct {
	Name string // unique in a run
	Tool string // "" (the built-in load generator) or ToolRedisBenchmark
	Load Load   // for redis-benchmark: Keys, Value, Clients, Pipeline, Requests
}

// Config configures Run.
type Config struct {
	Targets   []TargetSpec
	Reference string // name of the target ratios are to; "" means the first redis target
	Cases     []Case
	Rounds    int    // every case runs this many times on every target, A/B/A/B
	Binary    string // the dynkv binary, for dynkv targets
	Out       string // results directory, created; "" writes no files
	Progress  io.Writer
	Log       *slog.Logger
	Command   string // the command line, recorded with the results
}

// Validate reports a configuration Run cannot run.
func (c Config) Validate() error {
	if len(c.Targets) == 0 {
		return errors.New("bench: targets: none")
	}
	if len(c.Cases) == 0 {
		return errors.New("bench: cases: none")
	}
	if c.Rounds < 1 {
		return fmt.Errorf("bench: rounds: must be at least 1, got %d", c.Rounds)
	}
	names := map[string]bool{}
	for _, t := range c.Targets {
		if t.Name == "" || names[t.Name] {
			return fmt.Errorf("bench: targets: name %q empty or repeated", t.Name)
		}
		names[t.Name] = true
	}
	if c.Reference != "" && !names[c.Reference] {
		return fmt.Errorf("bench: reference: no target named %q", c.Reference)
	}
	for _, cs := range c.Cases {
		if err := cs.Load.Validate(); err != nil {
			return fmt.Errorf("bench: case %s: %w", cs.Name, err)
		}
	}
	return nil
}

// RunResult is what one round of a case measured on one target.
type RunResult struct {
	Throughput float64       `json:"throughput"` // requests answered without error per second
	P50        time.Duration `json:"p50_ns"`
	P99        time.Duration `json:"p99_ns"`
	P999       time.Duration `json:"p999_ns"` // 0 when the tool does not report it
	Max        time.Duration `json:"max_ns"`
	Requests   uint64        `json:"requests"`
	Errors     uint64        `json:"errors"`
	FirstError string        `json:"first_error,omitempty"`
	// CPU is the CPU time (user + system) the target's server processes
	// used during the run, in microseconds per request answered: from
	// /proc, to 10 ms in all. 0 when not measured (a target the bench did
	// not start, no /proc) or too short to measure.
	CPU     float64 `json:"cpu_us_per_req"`
	elapsed time.Duration
}

func resultOf(st Stats) RunResult {
	h := st.Latency
	return RunResult{Throughput: st.Throughput(), P50: h.Quantile(0.5), P99: h.Quantile(0.99),
		P999: h.Quantile(0.999), Max: h.Max(), Requests: st.Requests, Errors: st.Errors,
		FirstError: st.FirstError, elapsed: st.Elapsed}
}

// Result is one case on one target over every round.
type Result struct {
	Target   string         `json:"target"`
	Case     string         `json:"case"`
	Tool     string         `json:"tool,omitempty"`
	Workload string         `json:"workload"`
	Value    int            `json:"value_bytes"`
	Keys     int            `json:"keys"`
	Clients  int            `json:"clients"`
	Pipeline int            `json:"pipeline"`
	Rate     int            `json:"rate,omitempty"`
	Rounds   []RunResult    `json:"rounds"`
	Median   RunResult      `json:"median"` // per figure, the median over the rounds; errors summed
	Ratio    float64        `json:"ratio"`  // median throughput over the reference's; 0 when none
	Versions map[int]uint64 `json:"versions,omitempty"`
	hist     *Histogram     // every round's latencies
}

// TargetInfo describes a target of a run.
type TargetInfo struct {
	Name    string   `json:"name"`
	Spec    string   `json:"spec"`
	Addrs   []string `json:"addrs"`
	Version string   `json:"version"`
}

// Report is the outcome of Run.
type Report struct {
	Command   string       `json:"command"`
	Started   time.Time    `json:"started"`
	Elapsed   string       `json:"elapsed"`
	Machine   Machine      `json:"machine"`
	Rounds    int          `json:"rounds"`
	Reference string       `json:"reference"`
	Targets   []TargetInfo `json:"targets"`
	Cases     []Case       `json:"cases"`
	Results   []*Result    `json:"results"`
	Dir       string       `json:"-"` // where the files went
}

// Failed returns the results with errors.
func (r *Report) Failed() []*Result {
	var out []*Result
	for _, res := range r.Results {
		if res.Median.Errors > 0 {
			out = append(out, res)
		}
	}
	return out
}

// Run starts the targets, drives them with every case, round after round
// (A/B/A/B), stops them, and returns the report; with cfg.Out set it also
// writes it there (report.json, results.csv, table.txt, latency.svg). It
// returns an error wrapping ErrFailed, together with the report, when any
// request failed.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	rep := &Report{Command: cfg.Command, Started: time.Now(), Machine: ReadMachine(), Rounds: cfg.Rounds, Cases: cfg.Cases}
	dir, err := os.MkdirTemp("", "dynkv-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	targets, err := startAll(ctx, cfg, Env{Binary: cfg.Binary, Dir: dir, Log: cfg.Log, Progress: progress}, progress)
	defer func() {
		for _, t := range targets {
			if err := t.Close(); err != nil {
				fmt.Fprintf(progress, "bench: %v\n", err)
			}
		}
	}()
	if err != nil {
		return nil, err
	}
	rep.Reference = reference(cfg)
	for _, t := range targets {
		rep.Targets = append(rep.Targets, TargetInfo{Name: t.Spec.Name, Spec: t.Spec.String(), Addrs: t.Addrs, Version: t.Version})
	}
	if err := prefill(ctx, targets, cfg.Cases, progress); err != nil {
		return nil, err
	}
	results, err := runRounds(ctx, cfg, targets, progress)
	if err != nil {
		return nil, err
	}
	rep.Results = summarize(results, cfg, rep.Reference)
	rep.Elapsed = time.Since(rep.Started).Round(time.Second).String()
	if cfg.Out != "" {
		if err := rep.Write(cfg.Out); err != nil {
			return rep, err
		}
	}
	if failed := rep.Failed(); len(failed) > 0 {
		return rep, fmt.Errorf("%w: %d of %d results counted errors, first: %s on %s: %s", ErrFailed,
			len(failed), len(rep.Results), failed[0].Case, failed[0].Target, failed[0].Median.FirstError)
	}
	return rep, nil
}

// reference returns the name of the reference target, or "".
func reference(cfg Config) string {
	if cfg.Reference != "" {
		return cfg.Reference
	}
	for _, t := range cfg.Targets {
		if t.Kind == KindRedis {
			return t.Name
		}
	}
	return ""
}

func startAll(ctx context.Context, cfg Config, env Env, progress io.Writer) ([]*Target, error) {
	var targets []*Target
	for _, spec := range cfg.Targets {
		fmt.Fprintf(progress, "bench: starting %s\n", spec)
		t, err := Start(ctx, spec, env)
		if err != nil {
			return targets, err
		}
		targets = append(targets, t)
	}
	return targets, nil
}

// prefillClients and prefillPipeline shape the prefill's load.
const (
	prefillClients  = 8
	prefillPipeline = 32
)

// prefill writes every key of the key spaces the reading cases use, once
// per target.
func prefill(ctx context.Context, targets []*Target, cases []Case, progress io.Writer) error {
	type space struct{ value, keys int }
	var spaces []space
	for _, c := range cases {
		w := c.Load.Workload
		s := space{c.Load.Value, c.Load.Keys}
		if c.Tool == "" && (w == WorkGet || w == WorkMixed || w == WorkZipf) && !slices.Contains(spaces, s) {
			spaces = append(spaces, s)
		}
	}
	for _, t := range targets {
		for _, s := range spaces {
			fmt.Fprintf(progress, "bench: prefill %s: %d keys of %d bytes\n", t.Spec.Name, s.keys, s.value)
			l := Load{Workload: workFill, Value: s.value, Keys: s.keys, Clients: prefillClients,
				Pipeline: prefillPipeline, Duration: 10 * time.Minute, Seed: 1}
			st, err := Drive(ctx, t.Addrs, l)
			if err != nil {
				return fmt.Errorf("bench: prefill %s: %w", t.Spec.Name, err)
			}
			if st.Errors > 0 {
				return fmt.Errorf("%w: prefill %s: %d errors, first: %s", ErrFailed, t.Spec.Name, st.Errors, st.FirstError)
			}
		}
	}
	return nil
}

// key of a result: target and result name.
type resultKey struct{ target, name string }

// runRounds drives every target with every case, round after round.
func runRounds(ctx context.Context, cfg Config, targets []*Target, progress io.Writer) (map[resultKey]*Result, error) {
	results := map[resultKey]*Result{}
	plain := map[string]bool{}
	for _, t := range targets {
		plain[t.Spec.Name] = !supportsDGet(ctx, t.Addrs[0])
	}
	total, step := cfg.Rounds*len(cfg.Cases)*len(targets), 0
	for round := 1; round <= cfg.Rounds; round++ {
		for _, c := range cfg.Cases {
			for _, t := range targets {
				step++
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				got, st, err := runCase(ctx, c, t, plain[t.Spec.Name], round)
				if err != nil {
					return nil, fmt.Errorf("bench: %s on %s: %w", c.Name, t.Spec.Name, err)
				}
				for name, rr := range got {
					k := resultKey{t.Spec.Name, name}
					res := results[k]
					if res == nil {
						res = newResult(t.Spec.Name, name, c)
						results[k] = res
					}
					res.Rounds = append(res.Rounds, rr)
					if st != nil {
						res.hist.Merge(st.Latency)
						for v, n := range st.Versions {
							res.Versions[v] += n
						}
					}
					fmt.Fprintf(progress, "[%d/%d] round %d/%d %-10s %-32s %s\n", step, total, round, cfg.Rounds,
						t.Spec.Name, name, progressLine(rr))
				}
			}
		}
	}
	return results, nil
}

func newResult(target, name string, c Case) *Result {
	l := c.Load
	return &Result{Target: target, Case: name, Tool: c.Tool, Workload: l.Workload, Value: l.Value, Keys: l.Keys,
		Clients: l.Clients, Pipeline: l.Pipeline, Rate: l.Rate, hist: NewHistogram(), Versions: map[int]uint64{}}
}

func progressLine(r RunResult) string {
	s := fmt.Sprintf("%10.0f req/s  p50 %-8s p99 %-8s max %-8s", r.Throughput, fmtDur(r.P50), fmtDur(r.P99), fmtDur(r.Max))
	if r.Errors > 0 {
		s += fmt.Sprintf("  ERRORS %d (%s)", r.Errors, r.FirstError)
	}
	return s
}

// runCase runs one round of c on t. Built-in cases return their Stats too.
func runCase(ctx context.Context, c Case, t *Target, plainCart bool, round int) (map[string]RunResult, *Stats, error) {
	if c.Tool == ToolRedisBenchmark {
		return runRedisBenchmark(ctx, c, t)
	}
	l := c.Load
	l.PlainCart = plainCart
	l.Seed += uint64(round)
	cpu := startCPU(t)
	st, err := Drive(ctx, t.Addrs, l)
	if err != nil {
		return nil, nil, err
	}
	rr := resultOf(st)
	rr.CPU = cpu.perOp(st.Requests)
	return map[string]RunResult{c.Name: rr}, &st, nil
}

// redisBenchmarkTests are the tests of a redis-benchmark case, run one
// after the other, each by a redis-benchmark of its own so that the
// server's CPU is measured per test.
var redisBenchmarkTests = []string{"set", "get"}

// runRedisBenchmark runs one round of the redis-benchmark case c on t. A
// failed redis-benchmark run is a failed result, not the end of the run.
func runRedisBenchmark(ctx context.Context, c Case, t *Target) (map[string]RunResult, *Stats, error) {
	out := map[string]RunResult{}
	for _, test := range redisBenchmarkTests {
		cpu := startCPU(t)
		r, err := redisBenchmark(ctx, t.Addrs[0], c, test)
		if errors.Is(err, ErrNoTool) || ctx.Err() != nil {
			return nil, nil, err
		}
		if err != nil {
			r = RunResult{Errors: 1, FirstError: err.Error()}
		} else {
			r.Requests = uint64(c.Load.Requests) // redis-benchmark counts no errors
			r.CPU = cpu.perOp(r.Requests)
		}
		out[strings.Replace(c.Name, "set,get", test, 1)] = r
	}
	return out, nil, nil
}

// supportsDGet reports whether the server at addr knows DGET.
func supportsDGet(ctx context.Context, addr string) bool {
	r, err := command(ctx, addr, "DGET", "bench:probe")
	return err == nil && !r.IsError()
}

// summarize computes the medians and ratios, in case order then target
// order.
func summarize(results map[resultKey]*Result, cfg Config, ref string) []*Result {
	var out []*Result
	for _, r := range results {
		r.Median = median(r.Rounds)
		out = append(out, r)
	}
	caseIdx := map[string]int{}
	for i, c := range cfg.Cases {
		caseIdx[c.Name] = i
	}
	targetIdx := map[string]int{}
	for i, t := range cfg.Targets {
		targetIdx[t.Name] = i
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		ca, cb := caseIdx[caseOf(a)], caseIdx[caseOf(b)]
		if ca != cb {
			return ca < cb
		}
		if a.Case != b.Case {
			return a.Case < b.Case
		}
		return targetIdx[a.Target] < targetIdx[b.Target]
	})
	for _, r := range out {
		if refRes := results[resultKey{ref, r.Case}]; refRes != nil && r.Rate == 0 && refRes.Median.Throughput > 0 {
			r.Ratio = r.Median.Throughput / refRes.Median.Throughput
		}
	}
	return out
}

// caseOf returns the case name a result came from.
func caseOf(r *Result) string {
	if r.Tool == ToolRedisBenchmark {
		for _, t := range []string{"set", "get"} {
			if strings.Contains(r.Case, " "+t+" ") {
				return strings.Replace(r.Case, " "+t+" ", " set,get ", 1)
			}
		}
	}
	return r.Case
}

// median returns, figure by figure, the median of the rounds; errors and
// requests are summed.
func median(rs []RunResult) RunResult {
	if len(rs) == 0 {
		return RunResult{}
	}
	f := func(get func(RunResult) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = get(r)
		}
		slices.Sort(v)
		n := len(v)
		if n%2 == 1 {
			return v[n/2]
		}
		return (v[n/2-1] + v[n/2]) / 2
	}
	d := func(get func(RunResult) time.Duration) time.Duration {
		return time.Duration(f(func(r RunResult) float64 { return float64(get(r)) }))
	}
	m := RunResult{
		Throughput: f(func(r RunResult) float64 { return r.Throughput }),
		P50:        d(func(r RunResult) time.Duration { return r.P50 }),
		P99:        d(func(r RunResult) time.Duration { return r.P99 }),
		P999:       d(func(r RunResult) time.Duration { return r.P999 }),
		Max:        d(func(r RunResult) time.Duration { return r.Max }),
		CPU:        f(func(r RunResult) float64 { return r.CPU }),
	}
	for _, r := range rs {
		m.Requests += r.Requests
		m.Errors += r.Errors
		if m.FirstError == "" {
			m.FirstError = r.FirstError
		}
	}
	return m
}
