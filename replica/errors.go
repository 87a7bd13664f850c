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
)
