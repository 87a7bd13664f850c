package antientropy

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dynkv/dynkv/admin"
	"github.com/dynkv/dynkv/admission"
	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/peer"
	"github.com/dynkv/dynkv/replica"
	"github.com/dynkv/dynkv/ring"
	"github.com/dynkv/dynkv/version"
)

// Cluster is what anti-entropy needs of membership: who it is, the current
// ring, and which nodes are alive. *ring.Membership implements it.
type Cluster interface {
	Self() string
	Ring() *ring.Ring
	Alive(node string) bool
}

// Readier is implemented by a Cluster whose ring changes in two steps
// (ring.State.Active): Ready records that this node holds the data of
// every partition it replicates in the ring of stamp with digest. Drained
// records that this node, having left the ring, holds no records and no
// hints (ring.Ring.Undrained). *ring.Membership implements it. A Syncer
// over a Cluster without it never marks a transfer complete.
type Readier interface {
	Ready(stamp, digest uint64)
	Drained()
}

// Local is this node's store. *replica.Store implements it.
type Local interface {
	Get(ctx context.Context, key []byte) (version.Siblings, error)
	Merge(ctx context.Context, key []byte, ss version.Siblings) (version.Siblings, error)
	GetHint(ctx context.Context, node string, key []byte) (version.Siblings, error)
	Collect(ctx context.Context, key []byte, ss version.Siblings) (version.Siblings, error)
	TreeNodes(ctx context.Context, lo, hi, span int, idx []int) ([]uint64, error)
	LeafKeys(ctx context.Context, leaves []int) ([]merkle.KeyHash, error)
	Tombstones(ctx context.Context, first, last int, after []byte, limit int) ([]replica.Record, error)
	Scan(ctx context.Context, first, last int, after []byte, limit int) ([]replica.Record, error)
	Drop(ctx context.Context, key []byte, ss version.Siblings) (version.Siblings, error)
	HintCount(ctx context.Context) (map[string]int, error)
	Actor() version.Actor
	RotateActor(ctx context.Context) error
}

var _ Local = (*replica.Store)(nil)

// Clock returns the current time. Tests inject their own.
type Clock func() time.Time

// Syncer runs anti-entropy for one node.
type Syncer struct {
	cfg     Config
	local   Local
	cluster Cluster
	tr      *counting
	now     Clock
	log     *slog.Logger
	adm     *admission.Controller // nil: no admission control
	lim     *admission.Limiter    // Config.Rate scaled by adm
	// moving is Config.Rate unscaled: a ring change (a join, a leave)
	// moves data at the configured rate whatever the foreground latency,
	// since under a saturating load the controller would hold it near its
	// floor and the change would take twenty times as long.
	moving *admission.Limiter

	rounds     atomic.Int64
	exchanges  atomic.Int64
	failures   atomic.Int64 // exchanges that failed
	compared   atomic.Int64 // keys listed from differing leaves, both sides
	repaired   atomic.Int64 // keys whose versions differed and were synced
	collected  atomic.Int64 // tombstones collected here
	handedOff  atomic.Int64 // records handed to the new homes of their partition and dropped here
	pending    atomic.Int64 // partitions not replicated here that still held records after the last round
	lastRoundN atomic.Int64 // unix nanoseconds of the end of the last round; 0: none yet

	mu struct {
		sync.Mutex
		rng        *rand.Rand
		partitions map[int]admin.PartitionStats
		candidates map[int]map[string]candidate // partition → key → tombstone verified once
		transfer   transferState
	}
}

// New returns a Syncer for node cluster.Self(), over its local store,
// reaching the other replicas through tr. Its work is paced to
// Config.Rate times the share adm grants (the node's admission
// controller, shared with its other background work; nil: always the full
// rate). A nil clock means time.Now.
func New(cfg Config, local Local, cluster Cluster, tr peer.Transport, clock Clock, adm *admission.Controller) (*Syncer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if clock == nil {
		clock = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	s := &Syncer{cfg: cfg, local: local, cluster: cluster, tr: &counting{tr: tr}, now: clock, log: log,
		adm: adm, lim: admission.NewLimiter(cfg.Rate, adm, clock), moving: admission.NewLimiter(cfg.Rate, nil, clock)}
	s.mu.rng = rand.New(rand.NewPCG(seed, seed^0x5bd1e995))
	s.mu.partitions = map[int]admin.PartitionStats{}
	s.mu.candidates = map[int]map[string]candidate{}
	return s, nil
}

// Stats returns the syncer's counters.
func (s *Syncer) Stats() admin.AntiEntropyStats {
	st := admin.AntiEntropyStats{
		Rounds: s.rounds.Load(), Exchanges: s.exchanges.Load(), Failures: s.failures.Load(),
		KeysCompared: s.compared.Load(), KeysRepaired: s.repaired.Load(), TombstonesCollected: s.collected.Load(),
		HandedOff: s.handedOff.Load(), HandoffPending: s.pending.Load(),
		BytesSent: s.tr.sent.Load(), BytesReceived: s.tr.received.Load(),
	}
	if n := s.lastRoundN.Load(); n != 0 {
		st.LastRound = time.Unix(0, n)
	}
	s.mu.Lock()
	for _, p := range s.mu.partitions {
		st.Partitions = append(st.Partitions, p)
	}
	s.mu.Unlock()
	slices.SortFunc(st.Partitions, func(a, b admin.PartitionStats) int { return a.Partition - b.Partition })
	st.Transfer = s.transferStats()
	if s.adm != nil {
		st.Admission = s.adm.Stats()
	}
	st.RateNow, st.Throttled = s.lim.Rate(), s.lim.Waited()+s.moving.Waited()
	return st
}

// replicas returns the home nodes of partition p in ring r.
func (s *Syncer) replicas(r *ring.Ring, p int) []string {
	pl := r.PreferenceList(p)
	return pl[:min(s.cfg.N, len(pl))]
}

// Round is the outcome of one round.
type Round struct {
	Exchanges   int // exchanges completed
	Failures    int // exchanges that failed
	Repaired    int // keys repaired
	Collected   int // tombstones collected
	HandedOff   int // records handed off to new homes after a ring change
	Pending     int // partitions not replicated here whose records are not all handed off
	Transferred int // keys received for partitions this node gains in a change under way
}

// RunRound exchanges every partition this node replicates with one other
// live replica of it, picked at random, then collects the tombstones of
// the partitions whose replicas are all alive, and hands off the records of
// the partitions it no longer replicates (see handoff). A failed exchange is logged
// and counted and the round goes on; RunRound returns an error only when
// ctx is done.
func (s *Syncer) RunRound(ctx context.Context) (Round, error) {
	var rd Round
	refused := 0 // exchanges failed because a store (here or the peer's) refuses writes
	defer func() {
		if refused > 0 {
			s.log.Warn("anti-entropy exchanges failed: a replica refuses writes (disk full or failing)", "partitions", refused)
		}
	}()
	r, self := s.cluster.Ring(), s.cluster.Self()
	for p := range r.Partitions() {
		if err := ctx.Err(); err != nil {
			return rd, err
		}
		homes := s.replicas(r, p)
		if !slices.Contains(homes, self) {
			continue
		}
		var peers []string
		for _, h := range homes {
			if h != self && s.cluster.Alive(h) {
				peers = append(peers, h)
			}
		}
		if len(peers) == 0 {
			continue
		}
		s.mu.Lock()
		peer := peers[s.mu.rng.IntN(len(peers))]
		s.mu.Unlock()
		res, err := s.Exchange(ctx, p, peer)
		rd.Repaired += res.Repaired
		if err != nil {
			if ctx.Err() != nil {
				return rd, ctx.Err()
			}
			rd.Failures++
			if errors.Is(err, replica.ErrDiskFull) || errors.Is(err, replica.ErrDiskIO) {
				// Every partition would fail alike: one line for the round.
				refused++
				continue
			}
			s.log.Warn("anti-entropy exchange failed", "partition", p, "peer", peer, "err", err)
			continue
		}
		rd.Exchanges++
		if len(peers) == len(homes)-1 {
			n, err := s.collect(ctx, r, p, homes)
			rd.Collected += n
			if err != nil && ctx.Err() != nil {
				return rd, ctx.Err()
			}
			if err != nil {
				s.log.Warn("tombstone collection failed", "partition", p, "err", err)
			}
		}
	}
	got, err := s.transfer(ctx, r)
	rd.Transferred = got
	if err != nil {
		return rd, err
	}
	n, pending, err := s.handoff(ctx, r)
	rd.HandedOff, rd.Pending = n, pending
	if err != nil {
		return rd, err
	}
	s.drained(ctx, r, pending)
	s.pending.Store(int64(pending))
	s.rounds.Add(1)
	s.lastRoundN.Store(s.now().UnixNano())
	if rd.Repaired > 0 || rd.Collected > 0 || rd.Failures > 0 || rd.HandedOff > 0 || rd.Pending > 0 || rd.Transferred > 0 {
		s.log.Info("anti-entropy round", "exchanges", rd.Exchanges, "failures", rd.Failures,
			"repaired", rd.Repaired, "tombstones_collected", rd.Collected, "handed_off", rd.HandedOff,
			"handoff_pending", rd.Pending, "transferred", rd.Transferred)
	} else {
		s.log.Debug("anti-entropy round", "exchanges", rd.Exchanges)
	}
	return rd, nil
}

// Run runs a round every Config.Interval until ctx is done. While a ring
// change is under way, after the ring changed, or while records are left
// to hand off, it also receives and hands off every TransferPoll between
// rounds, so that a change
// completes without waiting for the next round. With an Interval of 0 it
// returns at once.
func (s *Syncer) Run(ctx context.Context) error {
	if s.cfg.Interval == 0 {
		return nil
	}
	poll := min(s.cfg.Interval, s.cfg.TransferPoll)
	t := time.NewTimer(poll)
	defer t.Stop()
	last := s.now()
	var seen *ring.Ring // the ring of the last move round
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if s.now().Sub(last) >= s.cfg.Interval {
			if _, err := s.RunRound(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("anti-entropy round failed", "err", err)
			}
			last = s.now()
		} else if r := s.cluster.Ring(); r != nil && (r != seen || r.Next() != nil || s.pending.Load() > 0) {
			// A flip leaves records to hand off: a new ring is reason enough.
			if err := s.moveRound(ctx, r); err != nil && ctx.Err() == nil {
				s.log.Warn("transfer round failed", "err", err)
			}
			seen = r
		}
		t.Reset(poll)
	}
}

// moveRound receives the partitions this node gains in the change under
// way and hands off those it no longer replicates: a round without the
// exchanges of the partitions it keeps.
func (s *Syncer) moveRound(ctx context.Context, r *ring.Ring) error {
	if _, err := s.transfer(ctx, r); err != nil {
		return err
	}
	_, pending, err := s.handoff(ctx, r)
	if err == nil {
		s.pending.Store(int64(pending))
		s.drained(ctx, r, pending)
	}
	return err
}

// drained records, on a node that has left the ring (it is in neither the
// active nor the target ring) and has handed off every record (pending 0),
// that it holds no data any more, once it holds no hints either: the
// cluster may collect tombstones again (ring.Ring.Undrained).
func (s *Syncer) drained(ctx context.Context, r *ring.Ring, pending int) {
	rd, ok := s.cluster.(Readier)
	if !ok || pending > 0 || slices.Contains(r.Members(), s.cluster.Self()) || !slices.Contains(r.Undrained(), s.cluster.Self()) {
		return
	}
	hints, err := s.local.HintCount(ctx)
	if err != nil || len(hints) > 0 {
		return // its coordinator replays them; next round
	}
	rd.Drained()
}

// Roots returns the root hash of every partition this node replicates in
// its active ring, in partition order: replicas that agree have equal
// roots (the process-level checker compares them across nodes).
func (s *Syncer) Roots(ctx context.Context) ([]admin.PartitionRoot, error) {
	r, self := s.cluster.Ring(), s.cluster.Self()
	if r == nil {
		return nil, nil
	}
	var out []admin.PartitionRoot
	for p := range r.Partitions() {
		if !slices.Contains(s.replicas(r, p), self) {
			continue
		}
		first, last := r.SlotRange(p)
		lo, hi := merkle.LeafRange(first, last)
		h, err := s.local.TreeNodes(ctx, lo, hi, hi-lo, []int{0})
		if err != nil {
			return nil, err
		}
		out = append(out, admin.PartitionRoot{Partition: p, Root: h[0]})
	}
	return out, nil
}
