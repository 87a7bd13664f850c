package coordinator

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dynkv/dynkv/admin"
	"github.com/dynkv/dynkv/admission"
	"github.com/dynkv/dynkv/peer"
	"github.com/dynkv/dynkv/replica"
	"github.com/dynkv/dynkv/ring"
	"github.com/dynkv/dynkv/version"
)

// Local is the coordinating node's own replica. It assigns the actor of the
// writes this node coordinates, runs them atomically per key, and keeps the
// hints for other nodes. *replica.Store implements it.
type Local interface {
	Actor() version.Actor
	// NextCounter returns the counter of the next dot the actor issues, at
	// least atLeast and never one handed out before.
	NextCounter(atLeast uint64) (uint64, error)
	Get(ctx context.Context, key []byte) (version.Siblings, error)
	Update(ctx context.Context, key []byte, fn func(cur version.Siblings) (version.Siblings, error)) (version.Siblings, error)
	Merge(ctx context.Context, key []byte, ss version.Siblings) (version.Siblings, error)
	// Sync makes every write acknowledged so far survive a crash of the
	// machine (a write with DW).
	Sync(ctx context.Context) error
	PutHint(ctx context.Context, node string, key []byte, ss version.Siblings) error
	GetHint(ctx context.Context, node string, key []byte) (version.Siblings, error)
	Hints(ctx context.Context, node string, after *replica.Hint, limit int) ([]replica.Hint, error)
	DeleteHint(ctx context.Context, node string, key []byte, delivered version.Siblings) error
	// KeysFrom returns the keys of a range of the key space from a
	// position on, with their versions and no values (see keyspace.go).
	KeysFrom(ctx context.Context, from replica.Position, last, limit int) ([]replica.Record, replica.Position, bool, error)
	// ReclaimExpired turns up to limit records' values expired by nowMs
	// (unix ms) into tombstones of the same dots (active expiry).
	ReclaimExpired(ctx context.Context, nowMs int64, limit int) (n int, more bool, err error)
	Stats() admin.StoreStats
}

var _ Local = (*replica.Store)(nil)

// Clock returns the current time. Tests inject their own.
type Clock func() time.Time

// Coordinator runs reads and writes over a key's replicas. Background work
// (read repair, hints for stragglers) runs under its lifetime and is waited
// for by Close.
type Coordinator struct {
	cfg     Config
	local   Local
	cluster Cluster
	tr      peer.Transport // nil in a one-node deployment
	now     Clock
	log     *slog.Logger
	adm     *admission.Controller // learns foreground latency; nil: not measured
	handoff *admission.Limiter    // paces hint replay: cfg.HandoffRate scaled by adm

	// solo: a one-node deployment, whose every key has this node as its
	// only home (soloHome); reads and writes skip the fan-out machinery.
	solo     bool
	soloHome []string

	bg     context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // background goroutines; see spawn
	// spawnMu orders spawn's wg.Add before Close's wg.Wait: closing is set
	// under it, and a spawn that sees it runs its function inline.
	spawnMu sync.RWMutex
	closing bool // guarded by spawnMu

	reads        atomic.Int64
	writes       atomic.Int64
	siblingReads atomic.Int64 // reads that found more than one live sibling
	repairs      atomic.Int64 // read repairs sent
	hinted       atomic.Int64 // hints written (here or on a fallback)
	handedOff    atomic.Int64 // hints delivered to their node
	forwarded    atomic.Int64 // writes forwarded to a home node
	suspicions   atomic.Int64 // attempts that timed out, putting a node under suspicion
	lateReplies  atomic.Int64 // calls that succeeded after their hop deadline

	suspects suspicion
	rtts     latencies // per peer, for hop deadlines; see deadline.go
	flusher  flusher   // FLUSHALL ASYNC; see flush.go
}

// localDurable reports whether the local store can make a write survive
// a crash of the machine (Sync): all can but one that says otherwise
// (replica.Store with storage memory).
func (c *Coordinator) localDurable() bool {
	d, ok := c.local.(interface{ Durable() bool })
	return !ok || d.Durable()
}

// New returns a Coordinator for a one-node deployment over the local
// replica. A nil clock means time.Now; a nil logger discards.
func New(cfg Config, local Local, clock Clock, log *slog.Logger) (*Coordinator, error) {
	r, err := ring.New(1, ring.Node{ID: "local", Weight: 1})
	if err != nil {
		return nil, err
	}
	c, err := NewCluster(cfg, local, single{r: r, self: "local"}, nil, clock, nil, log)
	if err != nil {
		return nil, err
	}
	c.solo, c.soloHome = true, []string{"local"}
	return c, nil
}

// NewCluster returns a Coordinator for node cluster.Self(), which reaches
// the other nodes through tr. It tells adm, the node's admission
// controller (nil: none), how long each read and write it coordinates
// takes, and paces hint replay to Config.HandoffRate times the share adm
// grants.
func NewCluster(cfg Config, local Local, cluster Cluster, tr peer.Transport, clock Clock, adm *admission.Controller, log *slog.Logger) (*Coordinator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if clock == nil {
		clock = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Coordinator{cfg: cfg, local: local, cluster: cluster, tr: tr, now: clock, log: log,
		adm: adm, handoff: admission.NewLimiter(cfg.HandoffRate, adm, clock)}
	c.bg, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// Close stops background work and waits for it. The local store is the
// caller's to close, after Close returns.
func (c *Coordinator) Close() error {
	c.cancel()
	c.spawnMu.Lock()
	c.closing = true
	c.spawnMu.Unlock()
	c.wg.Wait()
	return nil
}

// spawn runs fn in a goroutine that Close waits for. Once Close has begun
// it runs fn in the caller's goroutine instead: a WaitGroup's Add must not
// race its Wait, and a request may still be running (a test's caller, a
// handler) when Close starts. c.bg is cancelled by then, so fn, whose
// calls run under it, returns at once.
func (c *Coordinator) spawn(fn func()) {
	c.spawnMu.RLock()
	if c.closing {
		c.spawnMu.RUnlock()
		fn()
		return
	}
	c.wg.Add(1)
	c.spawnMu.RUnlock()
	go func() {
		defer c.wg.Done()
		fn()
	}()
}

// observe tells the admission controller that a foreground operation
// started at start (by c.now, the clock the node gives both) has ended.
func (c *Coordinator) observe(start time.Time) { c.adm.Since(start) }

// peer returns another node's store.
func (c *Coordinator) peer(node string) Peer { return peer.NewClient(c.tr, node) }

// background runs fn under the coordinator's lifetime.
func (c *Coordinator) background(fn func(ctx context.Context)) {
	c.spawn(func() {
		ctx, cancel := context.WithTimeout(c.bg, c.cfg.Timeout)
		defer cancel()
		fn(ctx)
	})
}

// quorum resolves a per-request override against the default, checks it
// against N and caps it to the replicas the key has.
func (c *Coordinator) quorum(override, def int, p *plan) (int, error) {
	q := def
	if override != 0 {
		q = override
	}
	if q < 1 || q > c.cfg.N {
		return 0, ErrBadQuorum
	}
	return min(q, len(p.home)), nil
}

// durableQuorum returns how many acknowledgements of a write must be
// fsynced: override (Write.DW: 0 the default, DWNone none) or def, at most
// the key's homes.
func (c *Coordinator) durableQuorum(override, def int, p *plan) (int, error) {
	q := def
	switch {
	case override == DWNone:
		q = 0
	case override != 0:
		q = override
	}
	if q < 0 || q > c.cfg.N {
		return 0, ErrBadQuorum
	}
	return min(q, len(p.home)), nil
}

func (c *Coordinator) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) < c.cfg.Timeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.cfg.Timeout)
}

// replicaGet reads key from node (standing in for home when they differ).
func (c *Coordinator) replicaGet(ctx context.Context, node, home string, key []byte) (version.Siblings, error) {
	if node == c.cluster.Self() {
		ss, err := c.local.Get(ctx, key)
		if err != nil || node == home {
			return ss, err
		}
		// This node stands in for home: add what it holds as hints for it.
		h, err := c.local.GetHint(ctx, home, key)
		return version.Sync(ss, h), err
	}
	hintFor := ""
	if node != home {
		hintFor = home
	}
	return c.peer(node).Get(ctx, key, hintFor)
}

// Stats are a Coordinator's counters.
type Stats struct {
	Reads        int64 // Get calls that reached replicas
	Writes       int64 // Put calls that wrote
	SiblingReads int64 // reads that found more than one live sibling
	ReadRepairs  int64 // stale replicas repaired by reads
	Hinted       int64 // writes a home node missed, kept as hints
	HandedOff    int64 // hints delivered to their node
	Forwarded    int64 // writes forwarded to a home node
	Suspicions   int64 // attempts that timed out and put their node under suspicion
	LateReplies  int64 // calls that succeeded after their hop deadline (lifting the suspicion)
	Suspected    int   // nodes under suspicion now
	// HandoffRate is the hints per second hint replay may deliver now:
	// Config.HandoffRate times the share the admission controller grants;
	// 0: no limit.
	HandoffRate float64
	// HandoffThrottled is how long hint replay has waited on that rate,
	// in total.
	HandoffThrottled time.Duration
	N, R, W          int // configured
	Replicas         int // the replicas a key has now (N capped to the ring)
	Members          int // ring members
}

// Stats returns the coordinator's counters.
func (c *Coordinator) Stats() Stats {
	members := len(c.cluster.Ring().Nodes())
	return Stats{
		Reads: c.reads.Load(), Writes: c.writes.Load(), SiblingReads: c.siblingReads.Load(),
		ReadRepairs: c.repairs.Load(), Hinted: c.hinted.Load(), HandedOff: c.handedOff.Load(), Forwarded: c.forwarded.Load(),
		Suspicions: c.suspicions.Load(), LateReplies: c.lateReplies.Load(), Suspected: c.suspects.count(c.now()),
		HandoffRate: c.handoff.Rate(), HandoffThrottled: c.handoff.Waited(),
		N: c.cfg.N, R: c.cfg.R, W: c.cfg.W, Replicas: min(c.cfg.N, members), Members: members,
	}
}

func (c *Coordinator) String() string { return fmt.Sprintf("coordinator(%s)", c.cluster.Self()) }
