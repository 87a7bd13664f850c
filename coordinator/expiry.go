package coordinator

import (
	"context"
	"time"
)

// Active expiry. Reads never wait for it: a value whose expiry has passed
// by the coordinator's clock reads as a tombstone of the same dot
// (version.Siblings.At). Reclaiming makes that durable on this node's
// replica, so that the space is freed (by tombstone collection, once
// every replica holds the tombstone) even for keys nobody reads again.
// Every node reclaims its own replica by its own clock; no message is
// sent (see replica/expiry.go).

// ExpiryBatch bounds the records one ReclaimExpired call rewrites.
const ExpiryBatch = 1024

// ReclaimExpired reclaims, on this node's replica, up to ExpiryBatch
// records whose values have expired by the coordinator's clock, and
// returns how many it rewrote and whether more are due. Tests call it
// directly (with an injected clock); RunExpiry calls it on a timer.
func (c *Coordinator) ReclaimExpired(ctx context.Context) (n int, more bool, err error) {
	return c.local.ReclaimExpired(ctx, c.now().UnixMilli(), ExpiryBatch)
}

// RunExpiry calls ReclaimExpired every interval until ctx is done: at most
// ExpiryBatch records per interval, so that a burst of expiries is spread
// over later ticks instead of stalling writes. Redis's active expiry runs
// ten times a second; so does a node's (node.Build passes 100ms).
func (c *Coordinator) RunExpiry(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if n, _, err := c.ReclaimExpired(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("reclaim expired failed", "err", err)
		} else if n > 0 {
			c.log.Debug("expired reclaimed", "count", n)
		}
	}
}
