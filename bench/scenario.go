package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Scenarios lists the experiments RunScenario knows: the paper's, and
// single-node, issue 15's comparison of one node with redis-server and the
// Go front-end ceiling.
var Scenarios = []string{"divergent", "balance", "durability", "forwarding", "cluster-client", "single-node"}

// ErrUnknownScenario reports a scenario name not in Scenarios.
var ErrUnknownScenario = errors.New("bench: unknown scenario")

// ScenarioConfig configures RunScenario.
type ScenarioConfig struct {
	Name     string    // of Scenarios
	Binary   string    // the dynkv binary
	Out      string    // results directory; "" writes none
	Quick    bool      // shorter
	Count    int       // when > 0, requests per load instead of durations (a smoke test)
	Rounds   int       // when > 0, the A/B rounds instead of the scenario's own
	Progress io.Writer // nil: discard
	Command  string    // recorded with the results
}

// duration returns how long each load of the scenario runs: full, or
// quick with Quick; with Count a cap only.
func (c ScenarioConfig) duration(full, quick time.Duration) time.Duration {
	switch {
	case c.Count > 0:
		return 10 * time.Minute
	case c.Quick:
		return quick
	}
	return full
}

// rounds returns the A/B rounds of a scenario: Rounds when set, else 3, 2
// with Quick, 1 with Count.
func (c ScenarioConfig) rounds() int {
	switch {
	case c.Rounds > 0:
		return c.Rounds
	case c.Count > 0:
		return 1
	case c.Quick:
		return 2
	}
	return 3
}

func (c ScenarioConfig) progress() io.Writer {
	if c.Progress == nil {
		return io.Discard
	}
	return c.Progress
}

// RunScenario runs one scenario, writes its findings to w and, with
// cfg.Out, its figures to cfg.Out/<name>.json. It stops everything it
// started before it returns.
func RunScenario(ctx context.Context, cfg ScenarioConfig, w io.Writer) error {
	var (
		res any
		err error
	)
	switch cfg.Name {
	case "divergent":
		res, err = runDivergent(ctx, cfg, w)
	case "balance":
		res, err = runBalance(ctx, cfg, w)
	case "durability":
		res, err = runDurability(ctx, cfg, w)
	case "forwarding":
		res, err = runForwarding(ctx, cfg, w)
	case "cluster-client":
		res, err = runClusterClient(ctx, cfg, w)
	case "single-node":
		res, err = runSingleNode(ctx, cfg, w)
	default:
		return fmt.Errorf("%w: %q is not one of %v", ErrUnknownScenario, cfg.Name, Scenarios)
	}
	if res != nil && cfg.Out != "" {
		if werr := writeScenario(cfg, res); werr != nil {
			return errors.Join(err, werr)
		}
		fmt.Fprintf(w, "results in %s\n", cfg.Out)
	}
	return err
}

func writeScenario(cfg ScenarioConfig, res any) error {
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(map[string]any{
		"scenario": cfg.Name, "command": cfg.Command, "machine": ReadMachine(), "quick": cfg.Quick,
		"count": cfg.Count, "results": res,
	}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(cfg.Out, cfg.Name+".json"), append(b, '\n'), 0o644)
}

// withTarget starts spec in a temporary directory, calls fn with it and
// stops it.
func withTarget(ctx context.Context, cfg ScenarioConfig, spec TargetSpec, fn func(*Target) error) (err error) {
	dir, err := os.MkdirTemp("", "dynkv-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintf(cfg.progress(), "bench: starting %s\n", spec)
	t, err := Start(ctx, spec, Env{Binary: cfg.Binary, Dir: dir, Progress: cfg.progress()})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, t.Close()) }()
	return fn(t)
}

// checkStats turns counted errors into ErrFailed.
func checkStats(what string, st Stats) error {
	if st.Errors > 0 {
		return fmt.Errorf("%w: %s: %d errors, first: %s", ErrFailed, what, st.Errors, st.FirstError)
	}
	return nil
}
