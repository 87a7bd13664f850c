package coordinator

import (
	"fmt"

	"github.com/dynkv/dynkv/errdefs"
)

var (
	// ErrQuorum is reported (through *QuorumError) when too few replicas
	// answered before the deadline.
	ErrQuorum = errdefs.ErrQuorum
	// ErrBadQuorum reports an R or W override outside 1..N.
	ErrBadQuorum = errdefs.ErrBadQuorum
)

// QuorumError says how many replicas an operation needed and how many
// answered. It reports Is(ErrQuorum).
type QuorumError struct {
	Op   string // "read" or "write"
	Need int
	Got  int
}

func (e *QuorumError) Error() string {
	return fmt.Sprintf("coordinator: %s needed %d replicas, %d answered", e.Op, e.Need, e.Got)
}

// Is reports whether target is ErrQuorum.
func (e *QuorumError) Is(target error) bool { return target == ErrQuorum }
