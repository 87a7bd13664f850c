package coordinator

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"slices"

	"github.com/dynkv/dynkv/hashslot"
	"github.com/dynkv/dynkv/peer"
	"github.com/dynkv/dynkv/replica"
	"github.com/dynkv/dynkv/version"
)

// The keyspace walk: SCAN, KEYS, DBSIZE, RANDOMKEY and FLUSHALL visit every
// key of the cluster from any node, in Position order (replica.Position:
// hash slot, then the top 50 bits of the key's hash), which is also the
// order of the store's data keys. A position is a whole cursor: the walk
// keeps no state between calls.
//
// Each partition is read from every one of its home replicas (and, during a
// ring change, from its pending homes too) and the answers are merged: a
// key one replica missed is still found on another. Every replica answers
// from the same position with at least the keys asked for; the merged batch
// is complete up to the smallest position at which some replica stopped,
// so keys beyond it are left for the next call. At least R home replicas
// must answer (a key acknowledged by W replicas is on one of them, since
// R + W > N); the others are waited for until the operation's timeout.
// Keys held only as hints on a fallback are not read: they count once
// hinted handoff delivers them to a home.

// Record is a key and its siblings, as the walk returns them (values
// stripped).
type Record = replica.Record

var (
	errNodeDown     = errors.New("coordinator: node down")
	errBadScanReply = errors.New("coordinator: scan reply out of range")
)

// maxScanPartitions bounds the partitions one Scan call visits, so that a
// SCAN over a sparse key space returns (maybe empty) within a bounded time.
const maxScanPartitions = 64

// maxScanBytes bounds the key bytes one Scan call holds: it stops after the
// partition batch that reaches it, whatever the count.
const maxScanBytes = 8 << 20

// Scan returns the live keys (as plain GET sees them) found from cursor on,
// with their merged siblings stripped of values (what a tombstone covering
// them needs), and the cursor to continue from: 0 when the walk is done,
// as in Redis. count is a hint: Scan stops once it has examined about that
// many keys (deleted ones included), visited maxScanPartitions partitions
// or examined maxScanBytes of keys. Every key that is present, and not
// deleted, from the first call of a walk to its last is returned by some
// call at least once; a key may be returned more than once only if the
// ring changes during the walk.
func (c *Coordinator) Scan(ctx context.Context, cursor uint64, count int) ([]Record, uint64, error) {
	count = max(count, 1)
	pos := replica.Position(cursor)
	r := c.cluster.Ring()
	var out []replica.Record
	examined, size := 0, 0
	for visited := 0; examined < count && visited < maxScanPartitions && size < maxScanBytes; visited++ {
		part := r.PartitionOfSlot(pos.Slot())
		_, last := r.SlotRange(part)
		recs, next, done, err := c.scanPartition(ctx, part, pos, last, min(count-examined, peer.MaxScanLimit))
		if err != nil {
			return nil, 0, err
		}
		examined += len(recs)
		for _, rec := range recs {
			size += len(rec.Key)
			if _, live := rec.Siblings.Value(); live {
				out = append(out, rec)
			}
		}
		switch {
		case !done:
			pos = next
		case last+1 >= hashslot.Count:
			return out, 0, nil
		default:
			pos = replica.Position(last+1) << replica.PositionBits
		}
	}
	return out, uint64(pos), nil
}

// scanAnswer is one replica's answer to a partition's scan.
type scanAnswer struct {
	node string
	recs []replica.Record
	next replica.Position
	done bool
	err  error
}

// scanReplicas returns the nodes a partition is read from: its homes, and
// during a ring change its pending homes.
func (c *Coordinator) scanReplicas(part int) (homes, pending []string) {
	if c.solo {
		return c.soloHome, nil
	}
	r := c.cluster.Ring()
	homes = r.Homes(part, c.cfg.N)
	if next := r.Next(); next != nil {
		first, _ := r.SlotRange(part)
		for _, id := range next.Homes(next.PartitionOfSlot(first), c.cfg.N) {
			if !slices.Contains(homes, id) {
				pending = append(pending, id)
			}
		}
	}
	return homes, pending
}

// scanPartition reads the keys of partition part from position from to
// slot last from its replicas and merges them: the union of what they
// hold, complete up to the returned position (done: to slot last).
func (c *Coordinator) scanPartition(ctx context.Context, part int, from replica.Position, last, limit int) ([]replica.Record, replica.Position, bool, error) {
	homes, pending := c.scanReplicas(part)
	need := min(c.cfg.R, len(homes))
	ctx, cancel := c.deadline(ctx)
	defer cancel()
	nodes := append(slices.Clone(homes), pending...)
	answers := make(chan scanAnswer, len(nodes))
	for _, node := range nodes {
		go func() { answers <- c.scanOne(ctx, node, from, last, limit) }()
	}
	var got []scanAnswer
	ok, lastErr := 0, error(nil)
	for range nodes {
		a := <-answers
		if a.err != nil {
			lastErr = a.err
			continue
		}
		if slices.Contains(homes, a.node) {
			ok++
		}
		got = append(got, a)
	}
	if ok < need {
		c.log.Debug("scan quorum failed", "partition", part, "need", need, "got", ok, "err", lastErr)
		if len(homes) == 1 && lastErr != nil {
			return nil, 0, false, lastErr
		}
		return nil, 0, false, &QuorumError{Op: "scan", Need: need, Got: ok}
	}
	done, bound := true, replica.Position(0)
	for _, a := range got {
		if !a.done && (done || a.next < bound) {
			done, bound = false, a.next
		}
	}
	merged := map[string]int{}
	var out []replica.Record
	for _, a := range got {
		for _, rec := range a.recs {
			if !done && replica.PositionOf(rec.Key) >= bound {
				continue // beyond what every replica answered for
			}
			if i, seen := merged[string(rec.Key)]; seen {
				out[i].Siblings = version.Sync(out[i].Siblings, rec.Siblings)
				continue
			}
			merged[string(rec.Key)] = len(out)
			out = append(out, rec)
		}
	}
	slices.SortFunc(out, func(a, b replica.Record) int {
		return cmp.Or(cmp.Compare(replica.PositionOf(a.Key), replica.PositionOf(b.Key)), bytes.Compare(a.Key, b.Key))
	})
	return out, bound, done, nil
}

// scanOne asks one replica for its keys.
func (c *Coordinator) scanOne(ctx context.Context, node string, from replica.Position, last, limit int) scanAnswer {
	if node == c.cluster.Self() {
		recs, next, done, err := c.local.KeysFrom(ctx, from, last, limit)
		return scanAnswer{node: node, recs: recs, next: next, done: done, err: err}
	}
	if c.tr == nil || !c.alive(node) {
		return scanAnswer{node: node, err: errNodeDown}
	}
	res, err := peer.NewClient(c.tr, node).Scan(ctx, uint64(from), last, limit)
	if err != nil {
		return scanAnswer{node: node, err: err}
	}
	a := scanAnswer{node: node, next: replica.Position(res.Next), done: res.Done}
	for _, kr := range res.Records {
		if replica.PositionOf(kr.Key) < from || hashslot.Of(kr.Key) > last {
			return scanAnswer{node: node, err: errBadScanReply}
		}
		a.recs = append(a.recs, replica.Record{Key: kr.Key, Siblings: kr.Siblings})
	}
	return a
}

// ServeScan answers another node's OpScan from the local replica (it is
// the peer.Handler of OpScan). It never panics on any input.
func (c *Coordinator) ServeScan(ctx context.Context, req []byte) []byte {
	r, err := peer.DecodeRequest(req)
	if err == nil && r.Op != peer.OpScan {
		err = peer.ErrBadRequest
	}
	if err != nil {
		return peer.EncodeResponse(peer.Response{Err: err})
	}
	recs, next, done, err := c.local.KeysFrom(ctx, replica.Position(r.From), r.Last, r.Limit)
	if err != nil {
		return peer.EncodeResponse(peer.Response{Err: err})
	}
	res := &peer.ScanResult{Next: uint64(next), Done: done, Records: make([]peer.KeyRecord, len(recs))}
	for i, rec := range recs {
		res.Records[i] = peer.KeyRecord{Key: rec.Key, Siblings: rec.Siblings}
	}
	return peer.EncodeResponse(peer.Response{Scan: res})
}
