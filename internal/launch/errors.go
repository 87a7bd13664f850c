package launch

import "errors"

var (
	// ErrKilled is reported by Stop when the process did not exit after
	// SIGTERM before the caller's context was done, and was killed.
	ErrKilled = errors.New("launch: killed after SIGTERM")
	// ErrUnsupported is returned by Pause and Resume where processes cannot
	// be stopped and continued.
	ErrUnsupported = errors.New("launch: not supported on this system")
)
