package antientropy

import (
	"fmt"
	"log/slog"
	"time"
)

// Config configures a Syncer.
type Config struct {
	// N is the number of replicas of each key, as the coordinator's N.
	// Default 3.
	N int
	// Interval is the pause between two rounds. Key antientropy.interval.
	// Default 10s. 0 disables the background loop (Run returns at once).
	Interval time.Duration
	// Rate bounds the keys an exchange repairs (transfers and ownership
	// handoff included), and the tombstones collection checks, per second,
	// at the full share of the node's admission controller; it is cut
	// while foreground requests are slow (see New). Key antientropy.rate.
	// Default 2000. 0 means no limit (and no admission control).
	Rate int
	// TombstoneGrace is the least time between the two verifications that
	// every replica holds a tombstone before it is collected. Key
	// antientropy.tombstone-grace. Default 1m; must exceed the
	// coordinator's timeout.
	TombstoneGrace time.Duration
	// TransferPoll is how often, between rounds, a node receives the data
	// of a ring change under way and hands off what it no longer
	// replicates. Default 1s.
	TransferPoll time.Duration
	// Seed seeds the choice of peers; 0 draws one.
	Seed uint64
	// Logger receives the syncer's logs; nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{N: 3, Interval: 10 * time.Second, Rate: 2000, TombstoneGrace: time.Minute, TransferPoll: time.Second}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.N < 1:
		return fmt.Errorf("antientropy: n: must be at least 1, got %d", c.N)
	case c.Interval < 0:
		return fmt.Errorf("antientropy: antientropy.interval: must not be negative, got %s", c.Interval)
	case c.Rate < 0:
		return fmt.Errorf("antientropy: antientropy.rate: must not be negative, got %d", c.Rate)
	case c.Interval > 0 && c.TransferPoll <= 0:
		return fmt.Errorf("antientropy: transfer poll: must be positive, got %s", c.TransferPoll)
	case c.TombstoneGrace < 0:
		return fmt.Errorf("antientropy: antientropy.tombstone-grace: must not be negative, got %s", c.TombstoneGrace)
	}
	return nil
}
