package engine

import (
	"io"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// Pebble is the engine on disk: a pebble LSM tree, opened by the caller
// with the options it wants (its merge operator among them).
type Pebble struct {
	db *pebble.DB
}

// NewPebble returns db as an Engine. Close closes db.
func NewPebble(db *pebble.DB) *Pebble { return &Pebble{db: db} }

// DB returns the pebble instance, for what only pebble has (metrics).
func (p *Pebble) DB() *pebble.DB { return p.db }

func writeOptions(sync bool) *pebble.WriteOptions {
	if sync {
		return pebble.Sync
	}
	return pebble.NoSync
}

// Get implements Engine.
func (p *Pebble) Get(key []byte) ([]byte, io.Closer, error) { return p.db.Get(key) }

// NewIter implements Engine.
func (p *Pebble) NewIter(lower, upper []byte) (Iterator, error) {
	// pebble copies the bounds into a buffer it reuses across iterators,
	// and an empty, non-nil bound comes out as no bound or as an empty one
	// depending on that reuse (and panics in its invariant builds): here it
	// is no bound, as in Memory.
	if len(lower) == 0 {
		lower = nil
	}
	if len(upper) == 0 {
		upper = nil
	}
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, err
	}
	return pebbleIter{it}, nil
}

// NewBatch implements Engine.
func (p *Pebble) NewBatch() Batch {
	b := batchPool.Get().(*pebbleBatch)
	b.b = p.db.NewBatch()
	return b
}

// batchPool saves the allocation of a wrapper per batch: the store's
// committer makes one per group of writes.
var batchPool = sync.Pool{New: func() any { return new(pebbleBatch) }}

// Set implements Engine.
func (p *Pebble) Set(key, value []byte, sync bool) error {
	return p.db.Set(key, value, writeOptions(sync))
}

// Delete implements Engine.
func (p *Pebble) Delete(key []byte, sync bool) error { return p.db.Delete(key, writeOptions(sync)) }

// DeleteRange implements Engine.
func (p *Pebble) DeleteRange(start, end []byte, sync bool) error {
	return p.db.DeleteRange(start, end, writeOptions(sync))
}

// Merge implements Engine.
func (p *Pebble) Merge(key, value []byte, sync bool) error {
	return p.db.Merge(key, value, writeOptions(sync))
}

// Sync implements Engine: an empty synced WAL record fsyncs the WAL, and
// with it every write before.
func (p *Pebble) Sync() error { return p.db.LogData(nil, pebble.Sync) }

// Flush implements Engine.
func (p *Pebble) Flush() (<-chan struct{}, error) { return p.db.AsyncFlush() }

// DiskSpaceUsage implements Engine.
func (p *Pebble) DiskSpaceUsage() uint64 { return p.db.Metrics().DiskSpaceUsage() }

// Close implements Engine.
func (p *Pebble) Close() error { return p.db.Close() }

// pebbleBatch keeps the first error of the batch's writes (pebble refuses
// a batch past 4 GB) and returns it from Commit instead of committing.
type pebbleBatch struct {
	b   *pebble.Batch
	err error
}

func (b *pebbleBatch) note(err error) {
	if b.err == nil {
		b.err = err
	}
}

func (b *pebbleBatch) Set(key, value []byte)   { b.note(b.b.Set(key, value, nil)) }
func (b *pebbleBatch) Delete(key []byte)       { b.note(b.b.Delete(key, nil)) }
func (b *pebbleBatch) Merge(key, value []byte) { b.note(b.b.Merge(key, value, nil)) }
func (b *pebbleBatch) DeleteRange(start, end []byte) {
	b.note(b.b.DeleteRange(start, end, nil))
}

func (b *pebbleBatch) Commit(sync bool) error {
	if b.err != nil {
		return b.err
	}
	return b.b.Commit(writeOptions(sync))
}

func (b *pebbleBatch) Close() error {
	if b.b == nil {
		return nil // closed before; Close is for once: the wrapper may serve another batch after it
	}
	err := b.b.Close()
	*b = pebbleBatch{}
	batchPool.Put(b)
	return err
}

type pebbleIter struct{ *pebble.Iterator }
