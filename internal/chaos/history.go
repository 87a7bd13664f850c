package chaos

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dynkv/dynkv/internal/jepsen"
)

// Outcome is how one add ended, as its client saw it: the same outcomes
// the process-level checker (internal/jepsen) records.
type Outcome = jepsen.Outcome

// The outcomes.
const (
	// OK: the write was acknowledged. Its item must never be lost.
	OK = jepsen.OK
	// Failed: the read or the write returned an error. A failed write may
	// still have reached some replicas.
	Failed = jepsen.Failed
	// Indeterminate: the client's deadline passed during the write.
	Indeterminate = jepsen.Indeterminate
)

// Op is one add of one item to one cart.
type Op struct {
	Client  int
	Cart    int
	Item    string
	Node    string    // the node the client sent the operation to
	Start   time.Time // invocation
	End     time.Time // completion
	Sent    bool      // the write was sent (the read succeeded)
	Outcome Outcome
	Err     string // the error, for failed and indeterminate ops
}

// history records operations from many clients. It is safe for concurrent
// use.
type history struct {
	progress chan struct{} // signalled (without blocking) after each record

	mu struct {
		sync.Mutex
		ops []Op
	}
}

func newHistory() *history { return &history{progress: make(chan struct{}, 1)} }

func (h *history) record(op Op) {
	h.mu.Lock()
	h.mu.ops = append(h.mu.ops, op)
	h.mu.Unlock()
	select {
	case h.progress <- struct{}{}:
	default:
	}
}

// count returns the number of operations recorded so far.
func (h *history) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.mu.ops)
}

// ops returns a copy of the recorded operations.
func (h *history) ops() []Op {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.mu.ops)
}

// itemName names the seq-th item of a client: unique across the run.
func itemName(client, seq int) string { return fmt.Sprintf("c%d-%d", client, seq) }

// cartKey is the key of cart i.
func cartKey(i int) []byte { return fmt.Appendf(nil, "cart:%d", i) }

// parseItems splits a stored cart value (a comma-separated item list) into
// the set s.
func parseItems(s map[string]bool, value []byte) {
	for it := range strings.SplitSeq(string(value), ",") {
		if it != "" {
			s[it] = true
		}
	}
}

// formatItems is the stored form of a set of items: sorted, comma-separated.
func formatItems(s map[string]bool) []byte {
	items := make([]string, 0, len(s))
	for it := range s {
		items = append(items, it)
	}
	slices.Sort(items)
	return []byte(strings.Join(items, ","))
}
