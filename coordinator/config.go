package coordinator

import (
	"fmt"
	"time"
)

// Config configures a Coordinator.
type Config struct {
	// N is the number of replicas of each key. Default 3.
	N int
	// R is the number of replicas that must answer a read. Default 2.
	R int
	// W is the number of replicas that must acknowledge a write. Default 2.
	W int
	// NoFallbacks disables the sloppy quorum: reads and writes use only a
	// key's home nodes. For tests and strict deployments. Default false.
	NoFallbacks bool
	// Timeout bounds one operation when the caller's ctx has no earlier
	// deadline. Default 5s.
	Timeout time.Duration
	// MaxSiblingsSize bounds a key's siblings, in bytes of their record
	// (version.Siblings.RecordSize: values and versions): a write that
	// would leave the key with a larger record is refused with
	// version.ErrTooManyVersions, nothing written, so that a client must
	// resolve the siblings (read them, write with their context) before it
	// adds one. Merges of versions already acknowledged are never refused
	// (replica.Store.Merge), so a key may hold more when isolated
	// coordinators each took writes; see docs/design.md. 0 means no bound.
	// A node derives it from max-value-size (conf.Config.MaxSiblingsSize).
	// Default 0.
	MaxSiblingsSize int64
	// HandoffRate bounds the hints replayed per second (hinted handoff),
	// times the share the node's admission controller grants background
	// work. A node sets it to antientropy.rate. Default 0: no limit.
	HandoffRate int
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{N: 3, R: 2, W: 2, Timeout: 5 * time.Second}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.N < 1:
		return fmt.Errorf("coordinator: n: must be at least 1, got %d", c.N)
	case c.R < 1 || c.R > c.N:
		return fmt.Errorf("coordinator: r: must be between 1 and n (%d), got %d", c.N, c.R)
	case c.W < 1 || c.W > c.N:
		return fmt.Errorf("coordinator: w: must be between 1 and n (%d), got %d", c.N, c.W)
	case c.Timeout <= 0:
		return fmt.Errorf("coordinator: timeout: must be positive, got %s", c.Timeout)
	case c.MaxSiblingsSize < 0:
		return fmt.Errorf("coordinator: max-siblings-size: must not be negative, got %d", c.MaxSiblingsSize)
	case c.HandoffRate < 0:
		return fmt.Errorf("coordinator: handoff rate: must not be negative, got %d", c.HandoffRate)
	}
	return nil
}
