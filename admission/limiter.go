package admission

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Limiter paces background work to a rate of units per second times its
// Controller's share, with no burst: each Wait reserves the next
// n/(rate × share) seconds after the previous reservation, the share asked
// at that moment. Reservations already made keep their place when the
// share changes.
type Limiter struct {
	rate float64     // units per second at the full share; 0: no limit
	ctl  *Controller // nil: the full share always
	now  func() time.Time

	waited atomic.Int64 // nanoseconds: the sum of the waits Reserve returned

	mu struct {
		sync.Mutex
		next time.Time // when the next reservation may start
	}
}

// NewLimiter returns a Limiter of rate units per second (0 or less: no
// limit) scaled by ctl (nil: never scaled), timed by clock (nil:
// time.Now).
func NewLimiter(rate int, ctl *Controller, clock func() time.Time) *Limiter {
	if clock == nil {
		clock = time.Now
	}
	return &Limiter{rate: float64(max(rate, 0)), ctl: ctl, now: clock}
}

// Rate returns the units per second the limiter allows now: its rate
// times the controller's share; 0 means no limit.
func (l *Limiter) Rate() float64 {
	if l.ctl == nil || l.rate == 0 {
		return l.rate
	}
	return l.rate * l.ctl.Share()
}

// Reserve reserves n units and returns how long the caller must wait
// before it uses them (0: at once). It does not block.
func (l *Limiter) Reserve(n int) time.Duration {
	rate := l.Rate() // asked before l.mu: see the lock order
	if rate <= 0 || n <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.mu.next.Before(now) {
		l.mu.next = now
	}
	at := l.mu.next
	l.mu.next = at.Add(time.Duration(float64(n) / rate * float64(time.Second)))
	d := at.Sub(now)
	l.waited.Add(int64(d))
	return d
}

// Waited returns the sum of the waits Reserve (and so Wait) has returned:
// how long the limiter has held background work back.
func (l *Limiter) Waited() time.Duration { return time.Duration(l.waited.Load()) }

// Wait blocks until n units may proceed, or ctx is done.
func (l *Limiter) Wait(ctx context.Context, n int) error {
	d := l.Reserve(n)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Backlog returns how far past now the reservations made so far reach:
// how long a Reserve now would wait, before its own units.
func (l *Limiter) Backlog() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return max(0, l.mu.next.Sub(l.now()))
}
