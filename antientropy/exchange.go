package antientropy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/dynkv/dynkv/admission"

	"github.com/dynkv/dynkv/admin"
	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/peer"
	"github.com/dynkv/dynkv/version"
)

// treeSide is one side of a comparison: the local store or a peer.
type treeSide interface {
	TreeNodes(ctx context.Context, lo, hi, span int, idx []int) ([]uint64, error)
	LeafKeys(ctx context.Context, leaves []int) ([]merkle.KeyHash, error)
}

// Result is the outcome of one exchange.
type Result struct {
	Leaves   int // leaves whose hashes differed
	Compared int // keys listed from those leaves, both sides
	Repaired int // keys whose versions differed, synced on both sides
}

// Exchange compares partition p with node and syncs the keys whose
// versions differ, both ways. Both must be replicas of p in the current
// ring, or one of them a replica of p in the ring a change under way leads
// to (a transfer). It returns what it did, also when it fails part way (the repairs
// done so far stay: each is a monotone merge).
func (s *Syncer) Exchange(ctx context.Context, p int, node string) (Result, error) {
	r := s.cluster.Ring()
	if p < 0 || p >= r.Partitions() {
		return Result{}, fmt.Errorf("antientropy: partition %d: %w", p, ErrNotReplica)
	}
	homes := s.replicas(r, p)
	if next := r.Next(); next != nil {
		// A node gaining p in the change under way pulls it from the
		// current replicas.
		for _, h := range s.replicas(next, p) {
			if !slices.Contains(homes, h) {
				homes = append(homes, h)
			}
		}
	}
	if node == s.cluster.Self() || !slices.Contains(homes, node) || !slices.Contains(homes, s.cluster.Self()) {
		return Result{}, fmt.Errorf("antientropy: partition %d with %s: %w", p, node, ErrNotReplica)
	}
	first, last := r.SlotRange(p)
	lo, hi := merkle.LeafRange(first, last)
	remote := peer.NewClient(s.tr, node)
	leaves, err := s.diffLeaves(ctx, remote, lo, hi)
	res := Result{Leaves: len(leaves)}
	if err != nil {
		s.failures.Add(1)
		return res, err
	}
	for c := range slices.Chunk(leaves, merkle.MaxLeafKeys) {
		keys, n, err := s.diffKeys(ctx, remote, c)
		res.Compared += n
		if err != nil {
			s.failures.Add(1)
			return res, err
		}
		var repaired atomic.Int64
		lim := s.lim
		if r.Next() != nil {
			lim = s.moving // a transfer, or repairs during one
		}
		err = s.each(ctx, lim, len(keys), func(i int) error {
			changed, err := s.repair(ctx, remote, keys[i])
			if changed {
				repaired.Add(1)
				s.repaired.Add(1)
			}
			return err
		})
		res.Repaired += int(repaired.Load())
		if err != nil {
			if ctx.Err() == nil {
				s.failures.Add(1)
			}
			return res, err
		}
	}
	s.exchanges.Add(1)
	s.mu.Lock()
	s.mu.partitions[p] = admin.PartitionStats{Partition: p, Peer: node, At: s.now(), Repaired: int64(res.Repaired)}
	s.mu.Unlock()
	return res, nil
}

// diffHalves is diffKeys of each half of leaves: their keys are disjoint.
func (s *Syncer) diffHalves(ctx context.Context, remote treeSide, leaves []int) ([][]byte, int, error) {
	a, na, err := s.diffKeys(ctx, remote, leaves[:len(leaves)/2])
	if err != nil {
		return nil, na, err
	}
	b, nb, err := s.diffKeys(ctx, remote, leaves[len(leaves)/2:])
	if err != nil {
		return nil, na + nb, err
	}
	keys := append(a, b...)
	slices.SortFunc(keys, bytes.Compare)
	return keys, na + nb, nil
}

// diffLeaves walks the trees of the leaves [lo, hi) down from the root,
// into differing nodes only, and returns the differing leaves.
func (s *Syncer) diffLeaves(ctx context.Context, remote treeSide, lo, hi int) ([]int, error) {
	span := 1
	for span < hi-lo {
		span *= merkle.Fanout
	}
	frontier := []int{0}
	for {
		var diff []int
		for c := range slices.Chunk(frontier, merkle.MaxNodes) {
			mine, err := s.local.TreeNodes(ctx, lo, hi, span, c)
			if err != nil {
				return nil, err
			}
			theirs, err := remote.TreeNodes(ctx, lo, hi, span, c)
			if err != nil {
				return nil, err
			}
			for i, idx := range c {
				if mine[i] != theirs[i] {
					diff = append(diff, idx)
				}
			}
		}
		if len(diff) == 0 {
			return nil, nil
		}
		if span == 1 {
			for i := range diff {
				diff[i] += lo
			}
			return diff, nil
		}
		span /= merkle.Fanout
		frontier = frontier[:0:0]
		for _, d := range diff {
			for c := range merkle.Fanout {
				if idx := d*merkle.Fanout + c; lo+idx*span < hi {
					frontier = append(frontier, idx)
				}
			}
		}
	}
}

// diffKeys lists the keys of leaves on both sides and returns those whose
// version hashes differ (or that one side lacks), sorted, and how many keys
// were listed.
func (s *Syncer) diffKeys(ctx context.Context, remote treeSide, leaves []int) ([][]byte, int, error) {
	mine, err := s.local.LeafKeys(ctx, leaves)
	if err != nil {
		return nil, 0, err
	}
	theirs, err := remote.LeafKeys(ctx, leaves)
	if errors.Is(err, peer.ErrFrameTooLarge) && len(leaves) > 1 {
		// More keys than a peer frame holds (long keys): ask for half the
		// leaves at a time.
		return s.diffHalves(ctx, remote, leaves)
	}
	if err != nil {
		return nil, len(mine), err
	}
	n := len(mine) + len(theirs)
	s.compared.Add(int64(n))
	h := make(map[string]uint64, len(mine))
	for _, k := range mine {
		h[string(k.Key)] = k.Hash
	}
	diff := map[string]bool{}
	for _, k := range theirs {
		if mh, ok := h[string(k.Key)]; !ok || mh != k.Hash {
			diff[string(k.Key)] = true
		}
		delete(h, string(k.Key))
	}
	for k := range h {
		diff[k] = true
	}
	keys := make([][]byte, 0, len(diff))
	for _, k := range slices.Sorted(maps.Keys(diff)) {
		keys = append(keys, []byte(k))
	}
	return keys, n, nil
}

// repair syncs the sibling sets of key on this node and on remote, and
// reports whether either changed.
func (s *Syncer) repair(ctx context.Context, remote *peer.Client, key []byte) (bool, error) {
	before, err := s.local.Get(ctx, key)
	if err != nil {
		return false, err
	}
	theirs, err := remote.Get(ctx, key, "")
	if err != nil {
		return false, err
	}
	merged, err := s.local.Merge(ctx, key, theirs)
	if err != nil {
		return false, err
	}
	if !version.SameVersions(merged, theirs) {
		if err := remote.Merge(ctx, key, merged); err != nil {
			return false, err
		}
		return true, nil
	}
	return !version.SameVersions(before, merged), nil
}

// parallel is how many keys an exchange repairs, or a handoff hands over,
// at once: each is a round trip or two to a peer, so a transfer is bound by
// latency, not by either node's work.
const parallel = 16

// each runs fn(0) … fn(n-1), up to parallel at once, each after the rate
// limiter lim allows one more key, and returns the first error (after the
// calls under way have returned; no new one starts after an error).
func (s *Syncer) each(ctx context.Context, lim *admission.Limiter, n int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	failed := func() bool { mu.Lock(); defer mu.Unlock(); return first != nil }
	sem := make(chan struct{}, parallel)
	for i := 0; i < n && !failed(); i++ {
		if err := lim.Wait(ctx, 1); err != nil {
			mu.Lock()
			first = firstErr(first, err)
			mu.Unlock()
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(i); err != nil {
				mu.Lock()
				first = firstErr(first, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

// firstErr keeps the first error.
func firstErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}
