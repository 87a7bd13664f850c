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
	// DW is how many of the replicas that acknowledge a write must have
	// fsynced it first (Riak's DW), unless the write says (Write.DW); W is
	// raised to it. 0 (the default): an acknowledging replica has the
	// durability of its node (durability, process by default).
	DW int
	// NoFallbacks disables the sloppy quorum: reads and writes use only a
	// key's home nodes. For tests and strict deployments. Default false.
	NoFallbacks bool
	// Timeout bounds one operation when the caller's ctx has no earlier
	// deadline. Default 5s.
	Timeout time.Duration
	// HopFloor is the least time a call to a peer within an operation is
	// waited for before the operation moves on to another node, however
	// fast the peer usually answers (see deadline.go), so that a
	// scheduler hiccup or a GC pause on a busy machine does not trip a
	// healthy peer. A forwarded write gets twice it. 0 means
	// DefaultHopFloor (20ms).
	HopFloor time.Duration
	// HopFactor is the margin of a hop's deadline over the peer's
	// estimated round trip (srtt + 4·rttvar): the deadline is
	// max(HopFloor, HopFactor × estimate), at most a quarter of Timeout.
	// 0 means DefaultHopFactor (2).
	HopFactor float64
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
	return Config{N: 3, R: 2, W: 2, Timeout: 5 * time.Second, HopFloor: DefaultHopFloor, HopFactor: DefaultHopFactor}
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
	case c.DW < 0 || c.DW > c.N:
		return fmt.Errorf("coordinator: dw: must be between 0 and n (%d), got %d", c.N, c.DW)
	case c.Timeout <= 0:
		return fmt.Errorf("coordinator: timeout: must be positive, got %s", c.Timeout)
	case c.HopFloor < 0:
		return fmt.Errorf("coordinator: hop-deadline-floor: must not be negative, got %s", c.HopFloor)
	case c.HopFactor != 0 && !(c.HopFactor >= 1 && c.HopFactor <= 100):
		return fmt.Errorf("coordinator: hop-deadline-factor: must be between 1 and 100, got %g", c.HopFactor)
	case c.MaxSiblingsSize < 0:
		return fmt.Errorf("coordinator: max-siblings-size: must not be negative, got %d", c.MaxSiblingsSize)
	case c.HandoffRate < 0:
		return fmt.Errorf("coordinator: handoff rate: must not be negative, got %d", c.HandoffRate)
	}
	return nil
}
