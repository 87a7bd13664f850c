package jepsen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dynkv/dynkv/internal/history"
)

// The expiry workload: each operation SETs a new key with PX ttl, half of
// them with a short TTL (1–3 s: they expire while the run goes on), the
// others with one far longer than the run. A client then probes, with a
// plain GET through a random node, each of its own acknowledged short keys
// once their expiry has passed (plus expiryMargin): a value read there is a
// key read after its expiry. The final reads (after the heal) check that
// no key whose expiry has passed is back (resurrected) and that no
// acknowledged key whose expiry is still ahead is lost.
//
// The nodes of a chaos run share one host, hence one clock: the skew bound
// of docs/design.md is 0 here, and expiryMargin only covers the
// millisecond rounding of expiries (a key expires strictly after its
// expiry millisecond).

const (
	shortTTLMin, shortTTLMax = time.Second, 3 * time.Second
	longTTL                  = time.Hour
	expiryMargin             = 5 * time.Millisecond
)

// expiryKey is the key of an expiry operation's item.
func expiryKey(item string) string { return "exp:" + item }

// expiring is an acknowledged short key a client will probe.
type expiring struct {
	key, item string
	due       time.Time // the latest its expiry can be, plus expiryMargin
}

// setExpiring is one expiry operation.
func (cl *clients) setExpiring(ctx context.Context, rdb *redis.Client, op *history.Op, rng *rand.Rand) {
	op.Key = expiryKey(op.Item)
	op.TTL = longTTL
	if rng.IntN(2) == 0 {
		op.TTL = shortTTLMin + time.Duration(rng.Int64N(int64(shortTTLMax-shortTTLMin)))
		op.TTL = op.TTL.Round(time.Millisecond)
	}
	op.Sent = true
	err := rdb.Set(ctx, op.Key, op.Item, op.TTL).Err()
	op.Outcome, op.Err = classify(err)
}

// probeExpired GETs, through a random running node, every key of pending
// whose expiry has passed, and returns the keys still to probe. A value
// read is recorded as a violation; a failed read is not (an unavailable
// node reveals nothing).
func (cl *clients) probeExpired(ctx context.Context, pending []expiring, rng *rand.Rand) []expiring {
	now := time.Now()
	kept := pending[:0]
	for _, p := range pending {
		if now.Before(p.due) {
			kept = append(kept, p)
			continue
		}
		i := rng.IntN(len(cl.conns))
		if !cl.c.nodes[i].running() {
			i = (i + 1) % len(cl.conns)
		}
		start := time.Now()
		v, err := cl.conns[i].Get(ctx, p.key).Result()
		cl.mu.Lock()
		cl.mu.probes++
		if err == nil {
			cl.mu.readAfterExpiry = append(cl.mu.readAfterExpiry,
				fmt.Sprintf("%s=%s read via %s %s after its expiry", p.key, v, cl.c.nodes[i].id, start.Sub(p.due.Add(-expiryMargin)).Round(time.Millisecond)))
		}
		cl.mu.Unlock()
		if err != nil && !errors.Is(err, redis.Nil) && ctx.Err() == nil {
			// Probe again later: it tells nothing yet.
			kept = append(kept, p)
		}
	}
	return kept
}

// runExpiry is an expiry client: writes, and probes of its expired keys.
func (cl *clients) runExpiry(ctx context.Context, client int, rng *rand.Rand) {
	var pending []expiring
	for seq := 0; ctx.Err() == nil; seq++ {
		i := rng.IntN(len(cl.conns))
		nd := cl.c.nodes[i]
		if !nd.running() {
			i = (i + 1 + rng.IntN(len(cl.conns)-1)) % len(cl.conns)
			nd = cl.c.nodes[i]
		}
		op := history.Op{Workload: history.Expiry, Client: client, Item: fmt.Sprintf("e%d-%d", client, seq), Node: nd.id}
		op.Start = time.Now()
		cl.setExpiring(ctx, cl.conns[i], &op, rng)
		op.End = time.Now()
		if ctx.Err() != nil && op.Outcome != history.OK {
			return
		}
		cl.hist.Record(op)
		if op.Outcome == history.OK && op.TTL < longTTL {
			pending = append(pending, expiring{key: op.Key, item: op.Item, due: op.End.Add(op.TTL + expiryMargin)})
		}
		pending = cl.probeExpired(ctx, pending, rng)
		// Paced (about 7 writes a second per client): the workload checks
		// expiry, it need not add load. Every short key becomes a
		// tombstone, which the ring changes of leave-join carry along.
		wait := time.Duration(100+rng.IntN(100)) * time.Millisecond
		if op.Outcome != history.OK {
			wait += time.Duration(10+rng.IntN(40)) * time.Millisecond
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// judgeExpiry judges the expiry workload against the final reads of its
// keys (fr.keys), made between fr.start and fr.end: an acknowledged key
// whose expiry was still ahead at the end of the reads must be there
// (else lost), an acknowledged key whose expiry had passed before they
// began must not (else read after its expiry: resurrected); values nobody
// wrote there are unexpected. Keys in between may be either. A write that
// was not acknowledged may have reached a node after the client gave up
// (a paused node), so its expiry is not bounded: it is only counted as
// recovered when present.
func judgeExpiry(ops []history.Op, fr finalRead, probes int, readAfter []string) *WorkloadResult {
	var wops []history.Op
	reads := history.Reads{}
	for _, op := range ops {
		if op.Workload != history.Expiry {
			continue
		}
		wops = append(wops, op)
		if vals, ok := fr.keys[op.Key]; ok {
			s := map[string]bool{}
			for _, v := range vals {
				s[v] = true
			}
			reads[op.Key] = []map[string]bool{s}
		}
	}
	c, v := history.Count(wops), history.Judge(wops, reads)
	wr := &WorkloadResult{Ops: c.Ops, OK: c.OK, Failed: c.Failed, Indeterminate: c.Indeterminate,
		Unexpected: history.Format(v.Unexpected, "="), Probes: probes, ReadAfterExpiry: readAfter}
	for _, op := range wops {
		rs, judged := reads[op.Key]
		if !judged {
			continue
		}
		present := rs[0][op.Item]
		switch {
		case present && op.Outcome == history.OK && !op.End.Add(op.TTL+expiryMargin).After(fr.start):
			wr.ReadAfterExpiry = append(wr.ReadAfterExpiry, fmt.Sprintf("%s=%s in the final reads, %s after its expiry",
				op.Key, op.Item, fr.start.Sub(op.End.Add(op.TTL)).Round(time.Millisecond)))
		case !present && op.Outcome == history.OK && op.Start.Add(op.TTL).After(fr.end):
			wr.Lost = append(wr.Lost, op)
		case present && op.Outcome != history.OK:
			wr.Recovered++
		}
	}
	return wr
}
