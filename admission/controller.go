package admission

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/dynkv/dynkv/admin"
)

// quantileWatched is the percentile of foreground latency the controller
// compares with Config.Target.
const quantileWatched = 0.99

// minWeight is the least decayed weight of observations (about twice a
// window's count, at a half-life of one window) from which a p99 is read.
// Below it the node has too little foreground traffic for background work
// to hurt much, and a percentile of a handful of operations is their
// maximum: the share recovers as under target.
const minWeight = 20

// Controller sets the share of its rate that background work may use from
// the latency of foreground operations. See the package documentation.
type Controller struct {
	cfg Config
	now func() time.Time

	cur  [buckets]atomic.Int64 // observations since the last fold
	next atomic.Int64          // unix nanoseconds of mu.next, read without the lock by Since

	mu struct {
		sync.Mutex
		hist     [buckets]float64 // decayed weights of the folded observations
		share    float64          // in [cfg.Floor, 1]
		next     time.Time        // end of the current window
		p99      time.Duration    // at the last fold; 0: too few observations
		observed int64            // observations folded so far
		cuts     int64            // windows that halved the share
	}
}

// New returns a Controller whose windows are timed by clock (nil:
// time.Now). It starts at the full share.
func New(cfg Config, clock func() time.Time) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if clock == nil {
		clock = time.Now
	}
	c := &Controller{cfg: cfg, now: clock}
	c.mu.share = 1
	c.mu.next = clock().Add(cfg.Window)
	c.next.Store(c.mu.next.UnixNano())
	return c, nil
}

// Since records a foreground operation that started at start (by the
// controller's clock) and ends now; the first operation to end after a
// window did folds it, so that a window's observations are judged as that
// window's. It does not block (a fold under way elsewhere is left to
// finish there) and does not allocate.
func (c *Controller) Since(start time.Time) {
	if c.cfg.Target == 0 {
		return
	}
	end := c.now()
	c.cur[bucketOf(end.Sub(start))].Add(1)
	if end.UnixNano() >= c.next.Load() && c.mu.TryLock() {
		c.advanceLocked(end)
		c.mu.Unlock()
	}
}

// Observe records the latency of one foreground operation without
// reading the clock: it is folded at the next Since, Share or Stats after
// the current window. It does not block, takes no lock and does not
// allocate.
func (c *Controller) Observe(d time.Duration) {
	if c.cfg.Target == 0 {
		return
	}
	c.cur[bucketOf(d)].Add(1)
}

// Share returns the share of their rate background tasks may use now, in
// [Config.Floor, 1] (1 when the controller is off). It folds the
// observations of the windows that ended since the last fold.
func (c *Controller) Share() float64 {
	if c.cfg.Target == 0 {
		return 1
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advanceLocked(c.now())
	return c.mu.share
}

// Stats returns the controller's state after folding the windows that
// ended.
func (c *Controller) Stats() admin.AdmissionStats {
	if c.cfg.Target == 0 {
		return admin.AdmissionStats{Share: 1}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advanceLocked(c.now())
	return admin.AdmissionStats{Target: c.cfg.Target, Share: c.mu.share, ForegroundP99: c.mu.p99,
		Observed: c.mu.observed, Cuts: c.mu.cuts}
}

// maxDecays is how many windows a fold decays one by one: by then the
// weights are below 2^-maxDecays of what they were, too few for a
// percentile, and every later window is a step up.
const maxDecays = 64

// advanceLocked folds the observations made since the last fold once the
// current window has ended at now, and judges every window that ended:
// the first holds those observations, the others none (a foreground
// operation that ended in them would have folded, see Since). Each window
// decays the histogram by half and halves the share if its p99 exceeds
// the target, else adds a step.
// REQUIRES: c.mu held.
func (c *Controller) advanceLocked(now time.Time) {
	if now.Before(c.mu.next) {
		return
	}
	ended := 1 + int64(now.Sub(c.mu.next)/c.cfg.Window)
	c.mu.next = c.mu.next.Add(time.Duration(ended) * c.cfg.Window)
	c.next.Store(c.mu.next.UnixNano())
	for i := range c.mu.hist {
		n := c.cur[i].Swap(0)
		c.mu.observed += n
		c.mu.hist[i] = c.mu.hist[i]/2 + float64(n)
	}
	c.judgeLocked()
	for w := int64(1); w < ended; w++ {
		if w == maxDecays {
			clear(c.mu.hist[:])
			c.mu.p99 = 0
			c.mu.share = min(1, c.mu.share+float64(ended-w)*c.cfg.Step)
			return
		}
		for i := range c.mu.hist {
			c.mu.hist[i] /= 2
		}
		c.judgeLocked()
	}
}

// judgeLocked reads the p99 of the histogram and halves the share if it
// exceeds the target, else adds a step. REQUIRES: c.mu held.
func (c *Controller) judgeLocked() {
	total := 0.0
	for _, x := range c.mu.hist {
		total += x
	}
	c.mu.p99 = 0
	if total >= minWeight {
		c.mu.p99 = quantile(&c.mu.hist, total, quantileWatched)
	}
	if c.mu.p99 > c.cfg.Target {
		c.mu.share = max(c.cfg.Floor, c.mu.share/2)
		c.mu.cuts++
		return
	}
	c.mu.share = min(1, c.mu.share+c.cfg.Step)
}
