package chaos

import "errors"

var (
	// ErrDropped is the error of a peer message the drop fault discards.
	ErrDropped = errors.New("chaos: message dropped")
	// ErrNotSettled is reported when the cluster does not reach a state a
	// step of the run waits for (no hints held, replicas equal) in time.
	ErrNotSettled = errors.New("chaos: cluster did not settle")
)
