package coordinator

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Per-hop deadlines. A call to a peer within an operation (a replica's
// Get, Merge or hint, a forwarded write) is waited for only as long as
// that peer usually takes, not for the operation's whole Timeout: a node
// that went silent (paused, partitioned, a hung disk) is then passed over
// for the next home or a fallback within milliseconds, as the paper's
// coordinators do, instead of after an attempt timeout of seconds. The
// call itself is not cancelled: a late reply is still measured, and lifts
// the suspicion that missing the deadline put the peer under; a late
// acknowledgement counts for nothing (the operation has moved on and a
// hint stands in for it).
//
// Each peer has a round-trip estimator per kind of call (rtt): the
// replica calls, and forwarded writes, which are two hops deep (the home
// node replicates before it answers). A hop's deadline is
//
//	max(floor, factor × (srtt + 4·rttvar)), at most attemptTimeout
//
// (hopDeadline), and the operation's own deadline still bounds it. srtt +
// 4·rttvar is TCP's retransmission timeout (RFC 6298): above nearly every
// round trip of a peer whose latency is steady, however high, and wider
// as it varies, so a busy but healthy peer moves its own deadline up. The
// floor (Config.HopFloor) keeps a fast, steady peer from being tripped by
// a scheduler hiccup or a GC pause on a busy machine; the factor
// (Config.HopFactor) is the margin over the estimate. A peer never
// measured yet gets attemptTimeout, as every call did before.

// errHopDeadline reports a call that missed its hop deadline.
var errHopDeadline = errors.New("coordinator: peer missed its hop deadline")

// Defaults of Config.HopFloor and Config.HopFactor.
const (
	DefaultHopFloor  = 20 * time.Millisecond
	DefaultHopFactor = 2.0
)

// rtt estimates the round-trip time of one peer and one kind of call as
// TCP does (Jacobson and Karels): srtt, an exponentially weighted moving
// average of the samples (gain 1/8), and rttvar, one of their deviation
// from it (gain 1/4). Both sit in one atomic word updated by
// compare-and-swap, so the request path takes no lock. Safe for concurrent
// use.
type rtt struct {
	v atomic.Uint64 // srtt in µs << 32 | rttvar in µs; srtt ≥ 1 once a sample was taken, 0 before
}

const (
	rttMask = 1<<32 - 1
	rttMax  = rttMask // µs: about 71 minutes
)

// observe adds a round trip of d.
func (r *rtt) observe(d time.Duration) {
	us := min(max(uint64(d.Microseconds()), 1), rttMax)
	for {
		old := r.v.Load()
		srtt, rttvar := us, us/2 // the first sample (RFC 6298, 2.2)
		if old != 0 {
			s, v := old>>32, old&rttMask
			diff := max(s, us) - min(s, us)
			rttvar = (3*v + diff) / 4
			srtt = max((7*s+us)/8, 1)
		}
		if r.v.CompareAndSwap(old, srtt<<32|rttvar) {
			return
		}
	}
}

// estimate returns srtt + 4·rttvar, the bound nearly every round trip
// stays under, and whether any round trip was measured.
func (r *rtt) estimate() (time.Duration, bool) {
	v := r.v.Load()
	if v == 0 {
		return 0, false
	}
	us := v>>32 + 4*(v&rttMask)
	return time.Duration(us) * time.Microsecond, true
}

// hopDeadline returns how long to wait for a call whose round trips are
// estimated at p (measured: whether there is an estimate at all): factor
// times the estimate, at least floor and at most ceiling; ceiling while
// nothing was measured.
func hopDeadline(p time.Duration, measured bool, floor time.Duration, factor float64, ceiling time.Duration) time.Duration {
	if !measured {
		return ceiling
	}
	return min(max(time.Duration(float64(p)*factor), floor), ceiling)
}

// hopKind is the kind of a call to a peer, each with its estimator.
type hopKind uint8

const (
	replicaHop hopKind = iota // Get, Merge, PutHint
	forwardHop                // a forwarded write
)

// peerRTT holds one peer's estimators.
type peerRTT struct {
	replica rtt // Get, Merge, PutHint
	forward rtt // forwarded writes

	misses atomic.Int64 // calls that missed their hop deadline
}

// of returns the estimator of kind.
func (p *peerRTT) of(kind hopKind) *rtt {
	if kind == forwardHop {
		return &p.forward
	}
	return &p.replica
}

// latencies maps peers to their estimators. Safe for concurrent use.
type latencies struct {
	mu struct {
		sync.RWMutex
		peers map[string]*peerRTT
	}
}

// of returns node's estimators, adding them on first use.
func (l *latencies) of(node string) *peerRTT {
	l.mu.RLock()
	p := l.mu.peers[node]
	l.mu.RUnlock()
	if p != nil {
		return p
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if p = l.mu.peers[node]; p == nil {
		if l.mu.peers == nil {
			l.mu.peers = map[string]*peerRTT{}
		}
		p = &peerRTT{}
		l.mu.peers[node] = p
	}
	return p
}

// hopFloor and hopFactor return the configured floor and factor, or their
// defaults.
func (c *Coordinator) hopFloor() time.Duration {
	if c.cfg.HopFloor > 0 {
		return c.cfg.HopFloor
	}
	return DefaultHopFloor
}

func (c *Coordinator) hopFactor() float64 {
	if c.cfg.HopFactor > 0 {
		return c.cfg.HopFactor
	}
	return DefaultHopFactor
}

// replicaDeadline returns how long a replica call to node may take before
// the operation moves on.
func (c *Coordinator) replicaDeadline(node string) time.Duration {
	p, ok := c.rtts.of(node).replica.estimate()
	return hopDeadline(p, ok, c.hopFloor(), c.hopFactor(), c.attemptTimeout())
}

// forwardDeadline returns how long a forwarded write to node may take
// before the next home is asked: twice a replica call's floor and ceiling,
// since the home replicates the write before it answers.
func (c *Coordinator) forwardDeadline(node string) time.Duration {
	p, ok := c.rtts.of(node).forward.estimate()
	return hopDeadline(p, ok, 2*c.hopFloor(), c.hopFactor(), 2*c.attemptTimeout())
}

// attempt runs call to node on a goroutine of its own and waits for it for
// at most wait, or until ctx is done. It returns call's error;
// errHopDeadline when wait passed first, and node is then suspected; ctx's
// error when ctx ended first. The call runs under the coordinator's
// lifetime with ctx's deadline, not under ctx: one that did not end in
// time runs on (a write already sent is not withdrawn), and if it succeeds
// its round trip (at most twice wait: a reply from a node that was paused
// says little of its usual latency) goes to node's estimator of kind all
// the same, and it lifts node's suspicion, since node answers. Its result
// is dropped: call must not write what the caller reads unless attempt
// returned nil. Round trips are measured on the monotonic clock, as the
// timer measures wait.
func (c *Coordinator) attempt(ctx context.Context, node string, kind hopKind, wait time.Duration, call func(context.Context) error) error {
	pr := c.rtts.of(node)
	est := pr.of(kind)
	// The call and the waiter meet in state: the first to get there
	// decides whether the waiter takes the result (done) or the call is
	// late. A late success must lift the suspicion after it was set, never
	// before: the waiter suspects, then marks suspected; whichever of the
	// two sees the other's mark lifts it (both may).
	const (
		finished  = 1 << iota // the call returned
		succeeded             // … without an error
		gaveUp                // the waiter stopped waiting (missed or ctx done)
		missed                // … because the hop deadline passed
		suspected             // node was suspected for missing it
	)
	var state atomic.Int32
	done := make(chan error, 1)
	callCtx, cancel := c.detach(ctx)
	c.spawn(func() {
		defer cancel()
		start := time.Now()
		err := call(callCtx)
		mark := int32(finished)
		if err == nil {
			est.observe(min(time.Since(start), 2*wait))
			mark |= succeeded
		}
		old := state.Or(mark)
		if old&gaveUp == 0 {
			done <- err
			return
		}
		if err == nil && old&missed != 0 {
			c.lateReplies.Add(1)
			if old&suspected != 0 {
				c.suspects.clear(node)
			}
		}
	})
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		if state.Or(gaveUp|missed)&finished != 0 {
			return <-done // answered as the timer fired
		}
		pr.misses.Add(1)
		c.timedOut(node)
		if state.Or(suspected)&succeeded != 0 {
			c.suspects.clear(node) // answered meanwhile
		}
		return errHopDeadline
	case <-ctx.Done():
		// The operation is over: nobody waits for the call any more, and
		// that says nothing of node.
		if state.Or(gaveUp)&finished != 0 {
			return <-done
		}
		return ctx.Err()
	}
}

// detach returns a context under the coordinator's lifetime with ctx's
// deadline (or Timeout from now), for calls that may outlive ctx.
func (c *Coordinator) detach(ctx context.Context) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok {
		d = time.Now().Add(c.cfg.Timeout)
	}
	return context.WithDeadline(c.bg, d)
}
