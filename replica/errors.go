package replica

import (
	"errors"

	"github.com/dynkv/dynkv/errdefs"
)

var (
	// ErrClosed is returned by every Store method after Close.
	ErrClosed = errdefs.ErrStoreClosed
	// ErrAborted is returned by Update when the update function declines to
	// change the key.
	ErrAborted = errors.New("replica: update aborted")
	// ErrBadRequest reports a call whose arguments are out of range (or a
	// peer request that does not decode); nothing was changed.
	ErrBadRequest = errdefs.ErrBadRequest
	// ErrDiskFull is returned by every write while the store's disk is
	// full; nothing was stored (see health.go).
	ErrDiskFull = errdefs.ErrDiskFull
	// ErrDiskIO is returned by every write while the store's disk fails
	// with an I/O error other than a full disk; nothing was stored.
	ErrDiskIO = errdefs.ErrDiskIO
)
