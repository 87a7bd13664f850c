package coordinator

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/dynkv/dynkv/replica"
)

// FLUSHALL: the keyspace walk (keyspace.go) from the start, deleting every
// live key it finds as DEL would, with a tombstone that covers exactly the
// versions the walk read (a coordinator Put with their context, not
// Supersede):
//
//   - every key present when the flush starts is found by the walk (from
//     the merged answers of its home replicas, see Scan) and deleted on
//     every replica through the normal write path: a home that is down
//     gets the tombstone as a hint (sloppy quorum) or by anti-entropy, and
//     since the tombstone covers the versions it holds (replicas are
//     causally closed), it never brings them back;
//   - a write the walk did not read (made to a key after the walk passed
//     it, or concurrent with the key's delete) is not covered: it survives.
//     The tombstone is dated as early as version.Write allows (just after
//     the versions it covers, EarliestTimestamp), so a write that superseded
//     those versions is later and wins plain reads too; a write that
//     never saw them stays visible to DGET as a sibling.
//
// The flush is not atomic: a write made after FLUSHALL was sent, to a key
// the walk has not reached yet, is deleted too. SYNC returns once the walk
// is done; a write made after it returns is never touched.

// EarliestTimestamp is the Write.Timestamp of a delete that should lose
// plain reads to any write concurrent with it (FLUSHALL's and RENAME's
// tombstones): version.Write dates it just after the versions it covers,
// and a concurrent write that superseded the same versions is later.
const EarliestTimestamp = 1

// flushWorkers bounds the deletes a flush has in flight.
const flushWorkers = 16

// flushBatch is the count of each walk step of a flush.
const flushBatch = 512

// Flush deletes every key the walk finds, as above, and returns how many
// keys it deleted. It returns when the walk is done and every delete is
// acknowledged (by W replicas, hints included); a delete that fails makes
// Flush fail after the walk, with the keys it could not delete left as
// they were. It runs to the end even if ctx is cancelled (a client that
// disconnects does not leave a flush half done); only Close stops it.
func (c *Coordinator) Flush(ctx context.Context) (int, error) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(c.bg, cancel)
	defer stop()
	var (
		deleted atomic.Int64
		mu      sync.Mutex
		first   error
		wg      sync.WaitGroup
	)
	work := make(chan replica.Record)
	for range flushWorkers {
		wg.Go(func() {
			for rec := range work {
				ok, err := c.flushKey(ctx, rec)
				if ok {
					deleted.Add(1)
				}
				if err != nil {
					mu.Lock()
					first = cmpErr(first, err)
					mu.Unlock()
				}
			}
		})
	}
	var cursor uint64
	var walkErr error
	for {
		recs, next, err := c.Scan(ctx, cursor, flushBatch)
		if err != nil {
			walkErr = err
			break
		}
		for _, rec := range recs {
			work <- rec
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	close(work)
	wg.Wait()
	if walkErr != nil {
		return int(deleted.Load()), walkErr
	}
	return int(deleted.Load()), first
}

// cmpErr keeps the first error.
func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// flushKey deletes the versions of rec.
func (c *Coordinator) flushKey(ctx context.Context, rec replica.Record) (bool, error) {
	_, err := c.Put(ctx, rec.Key, Write{Op: OpDelete, Context: rec.Siblings.Context(), Timestamp: EarliestTimestamp})
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return false, ctx.Err()
	}
	return err == nil, err
}

// flusher runs FLUSHALL ASYNC: at most one flush at a time per node;
// requests that arrive while one runs are folded into one more run.
type flusher struct {
	mu struct {
		sync.Mutex
		running bool
		again   bool // a run was asked for while one runs
	}
}

// FlushAsync starts a flush in the background and returns at once. Errors are logged; a failed flush is not
// retried (FLUSHALL SYNC reports them).
func (c *Coordinator) FlushAsync() {
	f := &c.flusher
	f.mu.Lock()
	if f.mu.running {
		f.mu.again = true
		f.mu.Unlock()
		return
	}
	f.mu.running = true
	f.mu.Unlock() // spawn may run the loop here, which takes f.mu
	c.spawn(func() {
		for {
			n, err := c.Flush(c.bg)
			if err != nil {
				c.log.Warn("flush failed", "deleted", n, "err", err)
			} else {
				c.log.Info("flush done", "deleted", n)
			}
			f.mu.Lock()
			if !f.mu.again || c.bg.Err() != nil {
				f.mu.running = false
				f.mu.Unlock()
				return
			}
			f.mu.again = false
			f.mu.Unlock()
		}
	})
}

// Flushing reports whether a FLUSHALL ASYNC is running on this node.
func (c *Coordinator) Flushing() bool {
	c.flusher.mu.Lock()
	defer c.flusher.mu.Unlock()
	return c.flusher.mu.running
}
