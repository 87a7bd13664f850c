package coordinator

import (
	"context"
	"errors"
	"time"

	"github.com/dynkv/dynkv/peer"
	"github.com/dynkv/dynkv/replica"
	"github.com/dynkv/dynkv/version"
)

// ReplayHints hands every hint this node holds for a live node to it, and
// deletes each once its node has acknowledged it. It returns how many hints
// were delivered. Hints for nodes that are down, or that fail, stay; they
// are not even read, so a long outage costs nothing per round.
// Deliveries are paced to Config.HandoffRate times the share the node's
// admission controller grants background work: hint replay yields to
// foreground requests like anti-entropy.
func (c *Coordinator) ReplayHints(ctx context.Context) (int, error) {
	delivered := 0
	members := c.cluster.Ring().Members()
	for _, id := range members {
		if id != c.cluster.Self() && !c.cluster.Alive(id) {
			continue
		}
		d, err := c.replayTo(ctx, id)
		delivered += d
		if err != nil {
			return delivered, err
		}
	}
	d, err := c.replayOrphans(ctx)
	return delivered + d, err
}

// replayOrphans hands the hints held for nodes that have left the ring
// (ring.Ring.Departed) to the homes their keys have now, and deletes each
// once every one of those homes has acknowledged it: a write a departed
// node missed still reaches N replicas. Only the departed nodes' hints are
// read.
func (c *Coordinator) replayOrphans(ctx context.Context) (int, error) {
	const batch = 256
	delivered := 0
	for _, gone := range c.cluster.Ring().Departed() {
		var after *replica.Hint
		for {
			hs, err := c.local.Hints(ctx, gone, after, batch)
			if err != nil || len(hs) == 0 {
				if err != nil {
					return delivered, err
				}
				break
			}
			after = &hs[len(hs)-1]
			for _, h := range hs {
				if err := c.handoff.Wait(ctx, 1); err != nil {
					return delivered, err
				}
				if !c.deliverToHomes(ctx, h.Key, h.Siblings) {
					continue // a home is down or failed: next round
				}
				if err := c.local.DeleteHint(ctx, h.Node, h.Key, h.Siblings); err != nil {
					return delivered, err
				}
				delivered++
				c.handedOff.Add(1)
			}
		}
	}
	return delivered, nil
}

// deliverToHomes merges ss into every home key has in the target ring and
// reports whether all of them acknowledged it.
func (c *Coordinator) deliverToHomes(ctx context.Context, key []byte, ss version.Siblings) bool {
	r := c.cluster.Ring().Target()
	for _, home := range r.Homes(r.PartitionOf(key), c.cfg.N) {
		var err error
		if home == c.cluster.Self() {
			_, err = c.local.Merge(ctx, key, ss)
		} else if !c.cluster.Alive(home) {
			return false
		} else {
			hctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
			err = c.peer(home).Merge(hctx, key, ss)
			cancel()
		}
		if err != nil {
			c.log.Debug("orphan hint delivery failed", "node", home, "err", err)
			return false
		}
	}
	return true
}

// replayTo hands the hints held for node to it (to this node's own store
// when node is this node: it is home again).
func (c *Coordinator) replayTo(ctx context.Context, node string) (int, error) {
	const batch = 256
	delivered := 0
	var after *replica.Hint
	for {
		hs, err := c.local.Hints(ctx, node, after, batch)
		if err != nil || len(hs) == 0 {
			return delivered, err
		}
		for _, h := range hs {
			if err := c.handoff.Wait(ctx, 1); err != nil {
				return delivered, err
			}
			if node == c.cluster.Self() {
				_, err = c.local.Merge(ctx, h.Key, h.Siblings)
			} else {
				hctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout) // a hung node must not stall the rest
				err = c.peer(node).Merge(hctx, h.Key, h.Siblings)
				cancel()
			}
			if errors.Is(err, peer.ErrFrameTooLarge) {
				// Siblings that met here from coordinators cut off from
				// each other, more than one frame holds (docs/design.md,
				// Peer limits): kept, retried every round, and not in
				// the way of the hints after it.
				c.log.Debug("hint too large to deliver", "node", node, "err", err)
				continue
			}
			if err != nil {
				c.log.Debug("hint delivery failed", "node", node, "err", err)
				return delivered, nil // try again next round
			}
			if err := c.local.DeleteHint(ctx, node, h.Key, h.Siblings); err != nil {
				return delivered, err
			}
			delivered++
			c.handedOff.Add(1)
		}
		after = &hs[len(hs)-1]
	}
}

// RunHandoff replays hints every interval until ctx is done.
func (c *Coordinator) RunHandoff(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	var backlog int64
	for {
		if n, err := c.ReplayHints(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("hint replay failed", "err", err)
		} else if n > 0 {
			c.log.Info("hints handed off", "count", n)
		}
		// Log the backlog when it changes by a power of two or empties, so
		// an operator sees it grow without a line per hint.
		if held := c.local.Stats().Hints; held != backlog && (held == 0 || bitsLen(held) != bitsLen(backlog)) {
			c.log.Info("hint backlog", "held", held)
			backlog = held
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func bitsLen(n int64) int {
	l := 0
	for ; n > 0; n >>= 1 {
		l++
	}
	return l
}
