package admission

import (
	"fmt"
	"time"
)

// Config configures a Controller.
type Config struct {
	// Target is the foreground latency background work yields to: while
	// the p99 of foreground operations exceeds it, the share of
	// background work halves every Window. Key antientropy.latency-target.
	// Default 10ms. 0 turns the controller off: the share is always 1.
	Target time.Duration
	// Floor is the least share, in (0, 1]: background work never stops.
	// Default 0.05.
	Floor float64
	// Step is the share regained at each Window whose p99 is under
	// Target, in (0, 1]. Default 0.05: from the floor to full in about
	// five seconds.
	Step float64
	// Window is how often the controller reads the foreground p99 and
	// adjusts the share. Default 250ms.
	Window time.Duration
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{Target: 10 * time.Millisecond, Floor: 0.05, Step: 0.05, Window: 250 * time.Millisecond}
}

// Validate reports the first invalid field. With a Target of 0 (off) the
// other fields are not used and not checked.
func (c Config) Validate() error {
	switch {
	case c.Target < 0:
		return fmt.Errorf("admission: antientropy.latency-target: must not be negative, got %s", c.Target)
	case c.Target == 0:
		return nil
	case !(c.Floor > 0 && c.Floor <= 1):
		return fmt.Errorf("admission: floor: must be in (0, 1], got %g", c.Floor)
	case !(c.Step > 0 && c.Step <= 1):
		return fmt.Errorf("admission: step: must be in (0, 1], got %g", c.Step)
	case c.Window <= 0:
		return fmt.Errorf("admission: window: must be positive, got %s", c.Window)
	}
	return nil
}
