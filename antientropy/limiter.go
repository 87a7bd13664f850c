package antientropy

import (
	"context"
	"sync"
	"time"
)

// limiter paces work to a rate of units per second with no burst: each
// wait reserves the next n/rate seconds after the previous reservation.
type limiter struct {
	rate float64 // units per second; 0: no limit
	now  func() time.Time

	mu struct {
		sync.Mutex
		next time.Time // when the next reservation may start
	}
}

// wait blocks until n units may proceed, or ctx is done.
func (l *limiter) wait(ctx context.Context, n int) error {
	if l.rate <= 0 || n <= 0 {
		return ctx.Err()
	}
	l.mu.Lock()
	now := l.now()
	if l.mu.next.Before(now) {
		l.mu.next = now
	}
	at := l.mu.next
	l.mu.next = at.Add(time.Duration(float64(n) / l.rate * float64(time.Second)))
	l.mu.Unlock()
	d := at.Sub(now)
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
