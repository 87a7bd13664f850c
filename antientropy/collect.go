package antientropy

import (
	"context"
	"slices"
	"time"

	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/peer"
	"github.com/dynkv/dynkv/replica"
	"github.com/dynkv/dynkv/ring"
	"github.com/dynkv/dynkv/version"
)

// maxCandidates bounds the tombstones remembered between verifications,
// over all partitions; more wait for a later round.
const maxCandidates = 100_000

// candidate is a tombstone verified once on every replica.
type candidate struct {
	hash uint64    // merkle.VersionHash of the tombstones verified
	at   time.Time // when they were first verified
}

// collect verifies the tombstones of partition p held here and collects
// those verified twice, TombstoneGrace apart. Every node of the ring must be
// alive (a node that is down may hold a hint for the key), no ring change
// may be under way (a node receiving the partition may not hold the
// tombstone yet), and every node that left must have handed off its data
// (what it holds could bring an older version back). It returns how many tombstones this node collected.
func (s *Syncer) collect(ctx context.Context, r *ring.Ring, p int, homes []string) (int, error) {
	if r.Next() != nil || len(r.Undrained()) > 0 {
		return 0, nil
	}
	for _, n := range r.Nodes() {
		if !s.cluster.Alive(n.ID) {
			return 0, nil
		}
	}
	first, last := r.SlotRange(p)
	s.mu.Lock()
	prev := s.mu.candidates[p]
	room := maxCandidates // what the other partitions leave
	for q, m := range s.mu.candidates {
		if q != p {
			room -= len(m)
		}
	}
	s.mu.Unlock()
	next := map[string]candidate{}
	defer func() {
		s.mu.Lock()
		s.mu.candidates[p] = next
		s.mu.Unlock()
	}()
	collected := 0
	var after []byte
	for {
		recs, err := s.local.Tombstones(ctx, first, last, after, 256)
		if err != nil || len(recs) == 0 {
			return collected, err
		}
		after = recs[len(recs)-1].Key
		for _, rec := range recs {
			if err := s.lim.Wait(ctx, 1); err != nil {
				return collected, err
			}
			ok, err := s.verify(ctx, r, homes, rec)
			if err != nil {
				return collected, err
			}
			if !ok {
				continue
			}
			h := merkle.VersionHash(rec.Key, rec.Siblings)
			c, seen := prev[string(rec.Key)]
			if !seen || c.hash != h {
				if len(next) < room {
					next[string(rec.Key)] = candidate{hash: h, at: s.now()}
				}
				continue
			}
			if s.now().Sub(c.at) < s.cfg.TombstoneGrace {
				next[string(rec.Key)] = c
				continue
			}
			done, err := s.collectKey(ctx, homes, rec)
			if err != nil {
				return collected, err
			}
			if done {
				collected++
				s.collected.Add(1)
			}
		}
	}
}

// verify reports whether every home of rec's key holds exactly its
// tombstones and no node of the ring holds a hint for the key, for any
// node.
func (s *Syncer) verify(ctx context.Context, r *ring.Ring, homes []string, rec replica.Record) (bool, error) {
	self := s.cluster.Self()
	for _, h := range homes {
		if h == self {
			continue
		}
		ss, err := peer.NewClient(s.tr, h).Get(ctx, rec.Key, "")
		if err != nil {
			return false, err
		}
		if !version.SameVersions(ss, rec.Siblings) {
			return false, nil
		}
	}
	// A hint for any node, a member or one that left (whose hints go to
	// the key's homes), could carry an older version.
	members := r.Members()
	for _, n := range members {
		for _, h := range append(slices.Clone(members), r.Departed()...) {
			var ss version.Siblings
			var err error
			if n == self {
				ss, err = s.local.GetHint(ctx, h, rec.Key)
			} else {
				ss, err = peer.NewClient(s.tr, n).GetHint(ctx, h, rec.Key)
			}
			if err != nil {
				return false, err
			}
			if len(ss) > 0 {
				return false, nil
			}
		}
	}
	return true, nil
}

// collectKey asks every home of rec's key to delete it if it still holds
// exactly rec's tombstones, the others first, and reports whether this
// node did.
func (s *Syncer) collectKey(ctx context.Context, homes []string, rec replica.Record) (bool, error) {
	self := s.cluster.Self()
	for _, h := range homes {
		if h == self {
			continue
		}
		if _, err := peer.NewClient(s.tr, h).Collect(ctx, rec.Key, rec.Siblings); err != nil {
			return false, err
		}
	}
	left, err := s.local.Collect(ctx, rec.Key, rec.Siblings)
	if err != nil {
		return false, err
	}
	return len(left) == 0, nil
}
