package replica

import "errors"

var (
	// ErrClosed is returned by every Store method after Close.
	ErrClosed = errors.New("replica: closed")
	// ErrAborted is returned by Update when the update function declines to
	// change the key.
	ErrAborted = errors.New("replica: update aborted")
)
