package history

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Outcome is how an operation ended, as its client saw it.
type Outcome uint8

const (
	// OK: acknowledged. It must never be lost.
	OK Outcome = iota
	// Failed: the operation returned an error. A Dynamo write that missed
	// its quorum may still have reached some replicas.
	Failed
	// Indeterminate: no answer in time (deadline, broken connection): the
	// write's fate is unknown.
	Indeterminate
)

// String returns the outcome's name: ok, failed or indeterminate.
func (o Outcome) String() string {
	switch o {
	case OK:
		return "ok"
	case Failed:
		return "failed"
	case Indeterminate:
		return "indeterminate"
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// Workload names how clients write.
type Workload string

// The workloads.
const (
	// Cart reads the siblings with their context and writes their union
	// plus a new item with that context: concurrent adds become siblings
	// and the next read merges them. It must lose nothing.
	Cart Workload = "cart"
	// Keys writes each item as a new key with a plain SET. It must lose
	// nothing.
	Keys Workload = "keys"
	// LWW is the control: the cart's read-modify-write done with the
	// last-writer-wins value only (GET, add, SET). Concurrent adds
	// overwrite each other; a checker that sees no loss here proves nothing.
	LWW Workload = "lww"
	// Expiry writes each item as a new key with SET … PX ttl, some with a
	// short TTL (they expire during the run), the others with a TTL longer
	// than the run. No key may be read after its expiry, and an
	// acknowledged key that has not expired must not be lost.
	Expiry Workload = "expiry"
)

// Op is one operation: an add of Item to the cart at Key, or a write of
// Item as the value of the new Key.
type Op struct {
	Workload Workload
	Client   int    // the client that ran it
	Key      string // the key written
	Item     string // the item added or the value written; unique in a run
	Node     string // the node the client sent it to
	Start    time.Time
	End      time.Time
	Sent     bool // the write was sent (for carts: the read before it succeeded)
	// TTL is the expiry the write gave its key, from when the node received
	// it (between Start and End); 0 for none.
	TTL     time.Duration
	Outcome Outcome
	Err     string // the error, for failed and indeterminate operations
}

// Overlaps reports whether op was in flight at some time in [start, end).
func (op Op) Overlaps(start, end time.Time) bool {
	return op.Start.Before(end) && op.End.After(start)
}

// History records the operations of many clients. It is safe for
// concurrent use.
type History struct {
	progress chan struct{} // signalled (without blocking) after each Record

	mu struct {
		sync.Mutex
		ops []Op // in the order recorded
	}
}

// New returns an empty history.
func New() *History { return &History{progress: make(chan struct{}, 1)} }

// Record appends op. It does not block.
func (h *History) Record(op Op) {
	h.mu.Lock()
	h.mu.ops = append(h.mu.ops, op)
	h.mu.Unlock()
	select {
	case h.progress <- struct{}{}:
	default:
	}
}

// Len returns the number of operations recorded so far.
func (h *History) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.mu.ops)
}

// Ops returns a copy of the recorded operations, in the order recorded.
func (h *History) Ops() []Op {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.mu.ops)
}

// Progress returns a channel that receives (at least once, coalesced)
// after operations are recorded: a waiter for a number of operations
// selects on it and checks Len.
func (h *History) Progress() <-chan struct{} { return h.progress }
