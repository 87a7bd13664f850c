package antientropy

import (
	"context"
	"slices"
	"sync/atomic"

	"github.com/dynkv/dynkv/peer"
	"github.com/dynkv/dynkv/ring"
)

// Ownership handoff: after a ring change (a join or a leave) a node may
// hold records of partitions it no longer replicates. handoff streams them
// to the partition's current home nodes and drops each record once every
// home has acknowledged it. The records still held are the transfer's
// state, so a transfer interrupted by a crash of either side resumes where
// it stopped; it is paced by Config.Rate like repairs.
//
// Dropping a record is forgetting versions, and a node must never forget
// versions its current actor issued: the next write it coordinated on that
// key would reuse their dots (kv679). So before it drops a record whose
// versions name its current actor, the node draws a new actor
// (replica.Store.RotateActor), at most once per such record set.
//
// While a change is under way (r.Next), a node keeps the partitions it
// replicates in either ring: it still serves those it is losing until the
// ring flips (see transfer.go), and it is receiving those it gains. It
// hands off only what it replicates in neither, to the homes of both.

// handoff hands off the records of every partition this node does not
// replicate in r. It returns the records handed off and the partitions
// that still hold records (0: this node holds only data it replicates).
func (s *Syncer) handoff(ctx context.Context, r *ring.Ring) (handed, pending int, err error) {
	self := s.cluster.Self()
	for p := range r.Partitions() {
		homes := s.replicas(r, p)
		if next := r.Next(); next != nil {
			for _, h := range s.replicas(next, p) {
				if !slices.Contains(homes, h) {
					homes = append(homes, h)
				}
			}
		}
		if slices.Contains(homes, self) {
			continue
		}
		n, done, err := s.handoffPartition(ctx, r, p, homes)
		handed += n
		if err != nil {
			if ctx.Err() != nil {
				return handed, pending, ctx.Err()
			}
			s.log.Warn("partition handoff stopped", "partition", p, "err", err)
		}
		if !done {
			pending++
		}
	}
	return handed, pending, nil
}

// handoffPartition hands off the records of partition p to homes, and
// reports whether none is left.
func (s *Syncer) handoffPartition(ctx context.Context, r *ring.Ring, p int, homes []string) (int, bool, error) {
	first, last := r.SlotRange(p)
	handed := 0
	var after []byte
	for {
		recs, err := s.local.Scan(ctx, first, last, after, 256)
		if err != nil {
			return handed, false, err
		}
		if len(recs) == 0 {
			// Records that gained versions meanwhile stayed: look again.
			rest, err := s.local.Scan(ctx, first, last, nil, 1)
			return handed, len(rest) == 0, err
		}
		for _, h := range homes {
			if !s.cluster.Alive(h) {
				return handed, false, nil // resumes when every home is up
			}
		}
		after = recs[len(recs)-1].Key
		// One new actor for the batch, drawn before any of it is dropped.
		for _, rec := range recs {
			if rec.Siblings.Context().Get(s.local.Actor()) > 0 {
				if err := s.local.RotateActor(ctx); err != nil {
					return handed, false, err
				}
				break
			}
		}
		var n atomic.Int64
		err = s.each(ctx, s.moving, len(recs), func(i int) error {
			rec := recs[i]
			for _, h := range homes {
				if err := peer.NewClient(s.tr, h).Merge(ctx, rec.Key, rec.Siblings); err != nil {
					return err
				}
			}
			if _, err := s.local.Drop(ctx, rec.Key, rec.Siblings); err != nil {
				return err
			}
			n.Add(1)
			s.handedOff.Add(1)
			return nil
		})
		handed += int(n.Load())
		if err != nil {
			return handed, false, err
		}
	}
}
