package antientropy

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dynkv/dynkv/admin"
	"github.com/dynkv/dynkv/ring"
)

// Receiving a ring change. When a join or leave is committed, the
// partitions keep their homes (the active ring) until every node that
// gains one has its data (ring.State.Active). transfer is the gaining
// side: for each partition this node gains, it runs an exchange with every
// current replica — the data of the partition flows to it as repairs of a
// replica that lacks it, paced by Config.Rate — and once all are done it
// records readiness (Readier), which lets the ring flip. Writes made
// meanwhile reach it too: coordinators send them to the next ring's homes
// as well.
//
// A current replica that is down holds the transfer back unless it is
// leaving the ring: a departed node's records reach their new homes by
// ownership handoff (ownership_handoff.go) when it is back. What a transfer has
// done is in the stores themselves (the exchange compares trees), so a
// crash of either side costs the partitions in flight only: after a
// restart the exchanges of the partitions already received find equal
// trees.

// transferState is a Syncer's progress on the change under way.
type transferState struct {
	stamp    uint64 // the change it works towards; 0: none
	digest   uint64 // the ring it works towards (ring.Ring.Digest)
	total    int
	done     map[int]bool
	keys     int64
	started  time.Time
	finished time.Time // when done reached total; zero before
	ready    bool
}

// transfer receives what this node gains in the change r is moving
// towards, and reports the keys it received.
func (s *Syncer) transfer(ctx context.Context, r *ring.Ring) (int, error) {
	next := r.Next()
	if next == nil {
		return 0, nil // the last transfer's figures stay for Stats
	}
	s.mu.Lock()
	self, stamp, digest := s.cluster.Self(), r.NextStamp(), next.Digest()
	inbound := r.Inbound(next, self, s.cfg.N)
	ts := &s.mu.transfer
	if ts.stamp != stamp || ts.digest != digest {
		// A new target (a change, or two merged): partitions received
		// for another ring are received again (their trees are equal by
		// now, so that costs little).
		*ts = transferState{stamp: stamp, digest: digest, total: len(inbound), done: map[int]bool{}, started: s.now()}
	}
	ts.total = len(inbound)
	todo := slices.DeleteFunc(slices.Clone(inbound), func(p int) bool { return ts.done[p] })
	s.mu.Unlock()

	// Partitions are received several at once: an exchange is mostly
	// round trips (the tree descent, then the keys), so a transfer is
	// bound by latency; the keys it repairs are paced by the rate limit.
	var got atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, transferParallel)
	for _, p := range todo {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			n, ok := s.receive(ctx, r, next, p)
			got.Add(int64(n))
			s.mu.Lock()
			if s.mu.transfer.stamp == stamp && s.mu.transfer.digest == digest {
				s.mu.transfer.keys += int64(n)
				if ok {
					s.mu.transfer.done[p] = true
				}
			}
			s.mu.Unlock()
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return int(got.Load()), err
	}
	s.mu.Lock()
	ts = &s.mu.transfer
	complete := ts.stamp == stamp && ts.digest == digest
	for _, p := range inbound {
		complete = complete && ts.done[p]
	}
	if complete && ts.finished.IsZero() {
		ts.finished = s.now()
	}
	s.mu.Unlock()
	if complete && len(inbound) > 0 {
		rd, ok := s.cluster.(Readier)
		if ok {
			rd.Ready(stamp, digest)
			s.mu.Lock()
			if s.mu.transfer.stamp == stamp && s.mu.transfer.digest == digest {
				s.mu.transfer.ready = true
			}
			s.mu.Unlock()
		}
		if got.Load() > 0 || ok {
			s.log.Info("transfer received", "stamp", stamp, "partitions", len(inbound), "keys", got.Load())
		}
	}
	return int(got.Load()), nil
}

// transferParallel is how many partitions a node receives at once.
const transferParallel = 8

// receive pulls partition p from its current replicas and reports the
// keys it received and whether every replica it needs answered.
func (s *Syncer) receive(ctx context.Context, r, next *ring.Ring, p int) (int, bool) {
	self := s.cluster.Self()
	got, ok := 0, true
	for _, h := range s.replicas(r, p) {
		if h == self {
			continue
		}
		if !s.cluster.Alive(h) {
			if next.Has(h) {
				ok = false // it stays a member: wait for it
			}
			continue
		}
		res, err := s.Exchange(ctx, p, h)
		got += res.Repaired
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("transfer exchange failed", "partition", p, "peer", h, "err", err)
			}
			ok = false
		}
	}
	return got, ok
}

// transferStats reports the progress of the change under way or, when
// none is, of the last one this node received data for.
func (s *Syncer) transferStats() admin.TransferStats {
	r := s.cluster.Ring()
	s.mu.Lock()
	ts := s.mu.transfer
	done := len(ts.done) // the map is shared: read its size under the lock
	s.mu.Unlock()
	out := admin.TransferStats{Pending: r != nil && r.Next() != nil}
	if out.Pending && (ts.stamp != r.NextStamp() || ts.digest != r.Next().Digest()) {
		out.Stamp = r.NextStamp() // not started here yet
		return out
	}
	out.Stamp, out.Total, out.Done, out.Keys, out.Started, out.Ready = ts.stamp, ts.total, done, ts.keys, ts.started, ts.ready
	end := ts.finished
	if end.IsZero() {
		end = s.now()
	}
	if d := end.Sub(ts.started).Seconds(); d > 0 {
		out.KeysPerSecond = float64(ts.keys) / d
	}
	return out
}
