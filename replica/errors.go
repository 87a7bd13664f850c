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
)
