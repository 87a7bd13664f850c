// Package errdefs defines the errors that cross from one node to another,
// or between layers that may not import each other (resp tells a closing
// store or transport from other failures without importing them).
// A node reports a failure to its peer as a code of the peer protocol's
// one table (peer/codes.go), and the peer turns the code back into the same
// sentinel, so errors.Is holds for an error that came from another node.
// The packages whose operations return these errors export them under
// their own names (replica.ErrClosed is ErrStoreClosed, coordinator.ErrQuorum
// is ErrQuorum); callers use those names. It is a leaf: it imports nothing
// of dynkv.
package errdefs

import "errors"

var (
	// ErrStoreClosed is returned by every store method after Close.
	ErrStoreClosed = errors.New("replica: closed")
	// ErrTransportClosed is returned by the peer transport after Close, and
	// by calls that were in flight when it closed.
	ErrTransportClosed = errors.New("peer: closed")
	// ErrHintsFull is returned by a store asked to keep a hint beyond its
	// limit.
	ErrHintsFull = errors.New("replica: hint store full")
	// ErrBadRequest reports a request (a store call's arguments, a peer
	// message) that is malformed or out of range; nothing was changed.
	ErrBadRequest = errors.New("replica: bad peer request")
	// ErrDiskFull is returned by a store that cannot store a write because
	// its disk is full (ENOSPC, EDQUOT). Nothing was stored; reads still
	// work, and writes are refused until the store recovers.
	ErrDiskFull = errors.New("replica: disk full")
	// ErrDiskIO is returned by a store that cannot store a write because of
	// an I/O error other than a full disk. Nothing was stored; reads still
	// work, and writes are refused until the store recovers.
	ErrDiskIO = errors.New("replica: disk i/o error")
	// ErrNotDurable is returned by a store asked to make writes survive a
	// crash of the machine (DW) when it keeps its data in memory only
	// (storage memory).
	ErrNotDurable = errors.New("replica: storage memory keeps no data on disk")
	// ErrRemote stands for an error of another node that has no code.
	ErrRemote = errors.New("replica: remote error")

	// ErrQuorum is reported when too few replicas answered before the
	// deadline.
	ErrQuorum = errors.New("coordinator: not enough replicas")
	// ErrBadQuorum reports an R or W override outside 1..N.
	ErrBadQuorum = errors.New("coordinator: quorum out of range")
	// ErrCondition reports a conditional write whose condition did not
	// hold; nothing was written.
	ErrCondition = errors.New("coordinator: condition not met")
	// ErrTooLarge reports a write whose new value would exceed its limit;
	// nothing was written.
	ErrTooLarge = errors.New("coordinator: value too large")
	// ErrForwardUnknown reports a forwarded write whose home node did not
	// answer after the request may have reached it: it may or may not have
	// been applied.
	ErrForwardUnknown = errors.New("coordinator: forwarded write outcome unknown")
)
