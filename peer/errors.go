package peer

import (
	"errors"
	"log/slog"

	"github.com/dynkv/dynkv/errdefs"
)

var (
	// ErrClosed is returned by the transport's methods after Close, and by
	// calls that were in flight when it closed.
	ErrClosed = errdefs.ErrTransportClosed
	// ErrUnreachable reports a node the transport could not reach.
	ErrUnreachable = errors.New("peer: node unreachable")
	// ErrNotSent is wrapped (with ErrUnreachable) by a Call that failed
	// before its request left this node, so the callee cannot have served
	// it: safe to send elsewhere. Any other failure may come after the
	// callee served it.
	ErrNotSent = errors.New("peer: request not sent")
	// ErrBadRequest is returned to a peer whose request does not decode.
	ErrBadRequest = errdefs.ErrBadRequest
	// ErrRemote stands for an error of the remote node that has no code.
	ErrRemote = errdefs.ErrRemote
)

// log returns l, or a logger that discards everything when l is nil.
func log(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
