package coordinator

import (
	"context"
	"time"

	"github.com/dynkv/dynkv/version"
)

// ReadOptions are per-request overrides of a read.
type ReadOptions struct {
	R int // replicas that must answer; 0 means Config.R
}

// readResult is one replica's answer.
type readResult struct {
	node, home string
	ss         version.Siblings
	err        error
}

// Get returns the merged siblings of key from R of its replicas: the first
// N healthy nodes of its preference list, a fallback standing in for each
// home node that is down or fails. Values that have expired by the
// coordinator's clock read as tombstones of the same dots
// (version.Siblings.At). Replicas that answer later still count
// for read repair: every home replica found stale is sent the merged set in
// the background.
func (c *Coordinator) Get(ctx context.Context, key []byte, opt ReadOptions) (version.Siblings, error) {
	if c.adm == nil {
		return c.get(ctx, key, opt)
	}
	start := c.now()
	ss, err := c.get(ctx, key, opt)
	c.observe(start)
	return ss, err
}

func (c *Coordinator) get(ctx context.Context, key []byte, opt ReadOptions) (version.Siblings, error) {
	p := c.plan(key)
	r, err := c.quorum(opt.R, c.cfg.R, p)
	if err != nil {
		return nil, err
	}
	if p.localOnly(c.cluster.Self()) {
		ss, err := c.local.Get(ctx, key)
		if err != nil {
			return nil, err
		}
		ss = ss.At(c.now().UnixMilli())
		c.reads.Add(1)
		if len(ss) > 1 && len(ss.Live()) > 1 {
			c.siblingReads.Add(1)
		}
		return ss, nil
	}
	ctx, cancel := c.deadline(ctx)
	defer cancel()
	// Replica reads outlive the request (bounded by Timeout), so that late
	// answers still serve read repair.
	opCtx, opCancel := context.WithTimeout(c.bg, c.cfg.Timeout)
	results := make(chan readResult, len(p.home))
	for _, home := range p.home {
		// Under c.wg: a read may still be asking a fallback after Get
		// returned.
		c.spawn(func() { results <- c.readOne(opCtx, p, home, key) })
	}
	var merged version.Siblings
	var got []readResult
	ok, lastErr := 0, error(nil)
	// A coordinator that is a home node always counts its own replica: it
	// answers at once, and without it R answers from fallbacks (which hold
	// only hints) could hide a write this very node holds.
	self := c.cluster.Self()
	selfPending := p.isHome(self)
wait:
	for len(got) < len(p.home) && (ok < r || selfPending) {
		select {
		case res := <-results:
			if res.home == self {
				selfPending = false
			}
			got = append(got, res)
			if res.err != nil {
				lastErr = res.err
				continue
			}
			merged = version.Sync(merged, res.ss)
			ok++
		case <-ctx.Done():
			lastErr = ctx.Err()
			break wait
		}
	}
	if ok < r {
		opCancel()
		c.log.Debug("read quorum failed", "need", r, "got", ok, "err", lastErr)
		if len(p.home) == 1 && lastErr != nil {
			return nil, lastErr
		}
		return nil, &QuorumError{Op: "read", Need: r, Got: ok}
	}
	c.reads.Add(1)
	view := merged.At(c.now().UnixMilli())
	if len(view.Live()) > 1 {
		c.siblingReads.Add(1)
	}
	// Repair sends what the replicas hold, not this clock's view of it:
	// each replica reclaims by its own clock.
	c.repairAfterRead(key, merged, got, results, len(p.home)-len(got), opCancel)
	return view, nil
}

// readOne reads key for one home node: from it when it is alive and
// answers within its hop deadline (deadline.go), else from the next
// fallback, with the hints held for it.
func (c *Coordinator) readOne(ctx context.Context, p *plan, home string, key []byte) readResult {
	if home == c.cluster.Self() {
		ss, err := c.local.Get(ctx, key)
		return readResult{node: home, home: home, ss: ss, err: err}
	}
	if c.alive(home) {
		if ss, err := c.readFrom(ctx, home, home, key, c.replicaDeadline(home)); err == nil {
			return readResult{node: home, home: home, ss: ss}
		}
	}
	for {
		node := p.nextFallback()
		if node == "" {
			break
		}
		if ss, err := c.readFrom(ctx, node, home, key, c.replicaDeadline(node)); err == nil {
			return readResult{node: node, home: home, ss: ss}
		}
	}
	// The last resort has no node after it: it gets the attempt timeout.
	if c.lastResort(home) {
		if ss, err := c.readFrom(ctx, home, home, key, c.attemptTimeout()); err == nil {
			c.suspects.clear(home)
			return readResult{node: home, home: home, ss: ss}
		}
	}
	return readResult{node: home, home: home, err: ErrQuorum}
}

// readFrom reads key from node (standing in for home when they differ),
// waiting at most wait for another node (attempt).
func (c *Coordinator) readFrom(ctx context.Context, node, home string, key []byte, wait time.Duration) (version.Siblings, error) {
	if node == c.cluster.Self() {
		return c.replicaGet(ctx, node, home, key)
	}
	var got version.Siblings // read only once the call returned in time
	err := c.attempt(ctx, node, replicaHop, wait, func(ctx context.Context) error {
		ss, err := c.replicaGet(ctx, node, home, key)
		got = ss
		return err
	})
	if err != nil {
		return nil, err // a late call may still write got
	}
	return got, nil
}
