package peer

import (
	"sync"
	"sync/atomic"
	"time"
)

// The receive budget. Every frame a connection reads is held in memory
// from its header until its last byte: that is what a peer that sends the
// start of large frames and stalls makes a node hold. A TCP therefore has
// one budget of bytes (Config.ReceiveBuffer) for the frames being received
// on all its connections, both directions:
//
//   - A reader reserves a frame's whole declared length (and seal overhead)
//     before it reads the body, and waits, first come first served, while
//     the budget cannot cover it. A reader holds at most one reservation
//     and waits only while it holds none, so readers cannot deadlock one
//     another; a reservation ends when the frame has arrived, failed, or
//     its deadline (Config.FrameTimeout) passed, so a peer that stalls
//     mid-frame holds its share only that long.
//   - The reservation is accounting, not allocation: the body's buffer
//     grows as its bytes arrive (readPayload), so a frame announced and
//     never sent costs at most readStart bytes.
//
// Once read, a frame is its handler's (or its caller's): the budget covers
// frames in flight on the wire, not requests being served.

// budget is a pool of bytes that readers reserve before they receive a
// frame. Safe for concurrent use.
type budget struct {
	held atomic.Int64 // bytes of buffers allocated for frames being received

	mu struct {
		sync.Mutex
		free    int64     // bytes not reserved
		waiters []*waiter // readers waiting, first come first served
	}
	size int64 // the budget; free + reservations == size
}

// waiter is a reader waiting for n bytes; ready is closed once they are
// reserved for it.
type waiter struct {
	n     int64
	ready chan struct{}
}

func newBudget(size int64) *budget {
	b := &budget{size: size}
	b.mu.free = size
	return b
}

// reserve takes n bytes (at most size) from b, waiting while they are not
// free or others wait before it. It returns false, with nothing reserved,
// if done is closed first.
func (b *budget) reserve(done <-chan struct{}, n int64) bool {
	b.mu.Lock()
	if len(b.mu.waiters) == 0 && b.mu.free >= n {
		b.mu.free -= n
		b.mu.Unlock()
		return true
	}
	w := &waiter{n: n, ready: make(chan struct{})}
	b.mu.waiters = append(b.mu.waiters, w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return true
	case <-done:
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-w.ready: // granted meanwhile: hand it back
		b.mu.free += n
	default:
		for i, o := range b.mu.waiters {
			if o == w {
				b.mu.waiters = append(b.mu.waiters[:i], b.mu.waiters[i+1:]...)
				break
			}
		}
	}
	b.grantLocked()
	return false
}

// release returns n reserved bytes to b.
func (b *budget) release(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mu.free += n
	b.grantLocked()
}

// grantLocked reserves for the waiters at the head of the queue whatever
// is free for them, in order.
func (b *budget) grantLocked() {
	for len(b.mu.waiters) > 0 && b.mu.free >= b.mu.waiters[0].n {
		w := b.mu.waiters[0]
		b.mu.waiters = b.mu.waiters[1:]
		b.mu.free -= w.n
		close(w.ready)
	}
}

// reserved returns the bytes reserved now, and how many readers wait.
func (b *budget) reserved() (int64, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.size - b.mu.free, len(b.mu.waiters)
}

// logLimit lets through one log line per interval of one kind, so that a
// peer (or a stranger) that can make a node log cannot fill its logs: what
// it held back is counted and reported with the next line let through.
type logLimit struct {
	interval time.Duration
	now      func() time.Time // nil: time.Now

	mu         sync.Mutex
	next       time.Time // the first time the next line may pass
	suppressed int       // lines held back since the last one let through
}

// allow reports whether a line may be logged now and, if so, how many were
// held back before it.
func (l *logLimit) allow() (ok bool, suppressed int) {
	now := time.Now
	if l.now != nil {
		now = l.now
	}
	t := now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.Before(l.next) {
		l.suppressed++
		return false, 0
	}
	l.next = t.Add(l.interval)
	suppressed, l.suppressed = l.suppressed, 0
	return true, suppressed
}
