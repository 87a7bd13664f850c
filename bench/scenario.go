package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Scenarios lists the paper's experiments RunScenario knows.
var Scenarios = []string{"divergent", "balance", "durability", "forwarding"}

// ErrUnknownScenario reports a scenario name not in Scenarios.
var ErrUnknownScenario = errors.New("bench: unknown scenario")

// ScenarioConfig configures RunScenario.
type ScenarioConfig struct {
	Name     string    // of Scenarios
	Binary   string    // the dynkv binary
	Out      string    // results directory; "" writes none
	Quick    bool      // shorter
	Count    int       // when > 0, requests per load instead of durations (a smoke test)
	Progress io.Writer // nil: discard
	Command  string    // recorded with the results
}

// RunScenario runs one scenario and writes its findings to w.
func RunScenario(ctx context.Context, cfg ScenarioConfig, w io.Writer) error {
	return fmt.Errorf("%w: %q is not one of %v", ErrUnknownScenario, cfg.Name, Scenarios)
}
