// Package engine is the local persistence of a replica.Store behind one
// interface — the Dynamo paper's "pluggable local persistence engine" —
// and its two engines: Pebble (an LSM tree on disk, the default) and
// Memory (an ordered tree in memory, for caches and tests, which keeps
// nothing but a few metadata keys across restarts).
//
// The interface is the part of pebble the store uses: point reads,
// ordered iteration over a key range as of one moment, atomic batches of
// sets, deletes, range deletes and merges, and a sync that makes every
// write so far survive a crash of the machine.
package engine

import (
	"errors"
	"io"

	"github.com/cockroachdb/pebble/v2"
	"github.com/dynkv/dynkv/errdefs"
)

// ErrNotFound is returned by Get for a key the engine does not hold. It is
// pebble's, so that errors.Is holds whichever engine answered.
var ErrNotFound = pebble.ErrNotFound

// ErrNotDurable refuses Sync on an engine that keeps its data in memory
// only: no write it holds survives the process.
var ErrNotDurable = errdefs.ErrNotDurable

// ErrClosed refuses every call after Close.
var ErrClosed = errors.New("engine: closed")

// Engine is an ordered key-value store. All methods are safe for
// concurrent use. Keys and values passed in may be reused by the caller
// once the call returns.
type Engine interface {
	// Get returns key's value, which stays valid and must not be modified
	// until closer.Close. It returns ErrNotFound for a key not held.
	Get(key []byte) (value []byte, closer io.Closer, err error)
	// NewIter iterates over the keys in [lower, upper) in order, as they
	// were when NewIter returned: later writes are not seen. A nil or
	// empty bound is no bound (as pebble has it).
	NewIter(lower, upper []byte) (Iterator, error)
	// NewBatch starts a batch of writes that Commit applies atomically:
	// readers see all of them or none.
	NewBatch() Batch
	// Set, Delete, DeleteRange and Merge are batches of one write. With
	// sync the write survives a crash of the machine (on engines that
	// keep anything).
	Set(key, value []byte, sync bool) error
	Delete(key []byte, sync bool) error
	DeleteRange(start, end []byte, sync bool) error
	// Merge combines value into key's current value with the engine's
	// merge function (see Options).
	Merge(key, value []byte, sync bool) error
	// Sync makes every write the engine acknowledged so far survive a
	// crash of the machine. Memory refuses it (ErrNotDurable).
	Sync() error
	// Flush writes what the engine holds in memory to its files; the
	// channel is closed once that is done.
	Flush() (<-chan struct{}, error)
	// DiskSpaceUsage is the bytes the engine's files take (0 in memory).
	DiskSpaceUsage() uint64
	// Close releases the engine. Writes synced before are kept.
	Close() error
}

// Batch is a set of writes applied by Commit in the order they were
// added. A batch is used by one goroutine, and closed once committed.
type Batch interface {
	Set(key, value []byte)
	Delete(key []byte)
	DeleteRange(start, end []byte)
	Merge(key, value []byte)
	// Commit applies the batch; with sync it survives a crash of the
	// machine.
	Commit(sync bool) error
	Close() error
}

// Iterator walks a key range in order. Key and Value are valid until the
// next call that moves the iterator.
type Iterator interface {
	First() bool
	Next() bool
	Valid() bool
	Key() []byte
	Value() []byte
	Error() error
	Close() error
}

// MergeFunc returns the value of a key whose value was old (nil if none)
// after merging operand into it. It must not modify old or operand.
type MergeFunc func(old, operand []byte) []byte
