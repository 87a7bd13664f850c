package coordinator

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/dynkv/dynkv/replica"
)

// Local is the coordinating node's own replica. It assigns the actor of the
// writes this node coordinates and runs them atomically per key.
// *replica.Store implements it.
type Local interface {
	Actor() replica.Actor
	Get(ctx context.Context, key []byte) (replica.Siblings, error)
	Update(ctx context.Context, key []byte, fn func(cur replica.Siblings) (replica.Siblings, error)) (replica.Siblings, error)
}

var _ Local = (*replica.Store)(nil)

// Clock returns the current time. Tests inject their own.
type Clock func() time.Time

// Coordinator runs reads and writes over a key's replicas.
type Coordinator struct {
	cfg   Config
	local Local
	now   Clock
	log   *slog.Logger

	reads  atomic.Int64
	writes atomic.Int64
	// siblingReads counts reads that found more than one live sibling.
	siblingReads atomic.Int64
}

// New returns a Coordinator over the local replica. A nil clock means
// time.Now; a nil logger discards.
func New(cfg Config, local Local, clock Clock, log *slog.Logger) (*Coordinator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if clock == nil {
		clock = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Coordinator{cfg: cfg, local: local, now: clock, log: log}, nil
}

// ReadOptions are per-request overrides of a read.
type ReadOptions struct {
	R int // replicas that must answer; 0 means Config.R
}

// Write describes one write.
type Write struct {
	// Context lists the versions the write supersedes (what the client
	// read). Ignored when Supersede is set.
	Context replica.VV
	// Supersede makes the write supersede every version the coordinator
	// holds for the key, as plain SET and DEL do.
	Supersede bool
	// Value computes the new version from the siblings the coordinator
	// holds, under the key's lock: the value, or a tombstone. An error
	// aborts the write with nothing written, and Put returns it.
	Value func(cur replica.Siblings) (value []byte, tombstone bool, err error)
	// W is the number of replicas that must acknowledge; 0 means Config.W.
	W int
}

// Value returns a Write.Value function that always writes v.
func Value(v []byte) func(replica.Siblings) ([]byte, bool, error) {
	return func(replica.Siblings) ([]byte, bool, error) { return v, false, nil }
}

// Tombstone returns a Write.Value function that always deletes.
func Tombstone() func(replica.Siblings) ([]byte, bool, error) {
	return func(replica.Siblings) ([]byte, bool, error) { return nil, true, nil }
}

// Get returns the merged siblings of key from R replicas.
func (c *Coordinator) Get(ctx context.Context, key []byte, opt ReadOptions) (replica.Siblings, error) {
	if _, err := c.quorum(opt.R, c.cfg.R); err != nil {
		return nil, err
	}
	ctx, cancel := c.deadline(ctx)
	defer cancel()
	c.reads.Add(1)
	ss, err := c.local.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if len(ss.Live()) > 1 {
		c.siblingReads.Add(1)
	}
	return ss, nil
}

// Put performs w on key and returns the siblings the coordinator held
// before it (what SET GET, GETSET and DEL report).
func (c *Coordinator) Put(ctx context.Context, key []byte, w Write) (prev replica.Siblings, err error) {
	if _, err := c.quorum(w.W, c.cfg.W); err != nil {
		return nil, err
	}
	ctx, cancel := c.deadline(ctx)
	defer cancel()
	actor, ts := c.local.Actor(), c.now().UnixNano()
	_, err = c.local.Update(ctx, key, func(cur replica.Siblings) (replica.Siblings, error) {
		prev = cur
		value, tomb, err := w.Value(cur)
		if err != nil {
			return nil, err
		}
		vctx := w.Context
		if w.Supersede {
			vctx = cur.Context()
		}
		return replica.Update(cur, actor, vctx, ts, value, tomb), nil
	})
	if err != nil {
		return nil, err
	}
	c.writes.Add(1)
	return prev, nil
}

// quorum resolves a per-request override against the default and checks it
// against N. The result is capped to the replicas that exist.
func (c *Coordinator) quorum(override, def int) (int, error) {
	q := def
	if override != 0 {
		q = override
	}
	if q < 1 || q > c.cfg.N {
		return 0, ErrBadQuorum
	}
	return min(q, c.replicas()), nil
}

// replicas is the length of a preference list: the nodes a key lives on.
func (c *Coordinator) replicas() int { return 1 }

func (c *Coordinator) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) < c.cfg.Timeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.cfg.Timeout)
}

// Stats are a Coordinator's counters.
type Stats struct {
	Reads        int64 // Get calls that reached replicas
	Writes       int64 // Put calls that wrote
	SiblingReads int64 // reads that found more than one live sibling
	N, R, W      int   // configured
	Replicas     int   // the replicas a key has now (N capped to the cluster)
}

// Stats returns the coordinator's counters.
func (c *Coordinator) Stats() Stats {
	return Stats{
		Reads: c.reads.Load(), Writes: c.writes.Load(), SiblingReads: c.siblingReads.Load(),
		N: c.cfg.N, R: c.cfg.R, W: c.cfg.W, Replicas: c.replicas(),
	}
}
