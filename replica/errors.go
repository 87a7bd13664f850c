package replica

import "errors"

var (
	// ErrClosed is returned by every Store method after Close.
	ErrClosed = errors.New("replica: closed")
	// ErrInvalidContext reports a causal context that failed to decode.
	ErrInvalidContext = errors.New("replica: invalid context")
	// ErrCorruptRecord reports a stored record that failed to decode or
	// verify. The record is left as it is on disk.
	ErrCorruptRecord = errors.New("replica: corrupt record")
	// ErrTooManyVersions is returned by a write whose versions would exceed
	// the limits a stored record must respect; nothing is written.
	ErrTooManyVersions = errors.New("replica: too many versions")
	// ErrAborted is returned by Update when the update function declines to
	// change the key.
	ErrAborted = errors.New("replica: update aborted")
)
