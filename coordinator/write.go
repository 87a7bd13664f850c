package coordinator

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/dynkv/dynkv/errdefs"
	"github.com/dynkv/dynkv/replica"
	"github.com/dynkv/dynkv/version"
)

// Write describes one write.
type Write struct {
	// Context lists the versions the write supersedes (what the client
	// read). Ignored when Supersede is set.
	Context version.VV
	// Supersede makes the write supersede every version the coordinator
	// holds for the key, as plain SET and DEL do.
	Supersede bool
	// Op, Data and Cond describe the new version as data, so that a node
	// that is not among the key's home nodes can forward the write to one.
	Op   Op     // what to write; default OpSet
	Data []byte // the value (OpSet), the suffix (OpAppend), or see OpSetRange and OpSetBit
	Cond Cond   // a condition on the current value; default CondNone
	// MaxSize, when positive, refuses (ErrTooLarge) a value longer than it,
	// as computed by OpAppend, OpSetRange or OpSetBit.
	MaxSize int64
	// Expiry is when the new version's value expires (OpSet, OpExpire),
	// unix milliseconds; 0 means never. An expiry at or before the
	// coordinator's clock deletes the key instead (a tombstone), as Redis
	// does with a time in the past.
	Expiry int64
	// KeepTTL (OpSet, OpAppend) gives the new version the expiry of the
	// value plain reads see (SET KEEPTTL); otherwise OpSet and OpAppend
	// write a value that never expires unless Expiry says so.
	KeepTTL bool
	// Value, when set, computes the new version instead of Op, Data and
	// Cond, from the siblings the coordinator holds, under the key's lock:
	// the value, or a tombstone. An error aborts the write with nothing
	// written, and Put returns it. A write with Value is never forwarded.
	Value func(cur version.Siblings) (value []byte, tombstone bool, err error)
	// W is the number of replicas that must acknowledge; 0 means Config.W.
	W int
	// DW is how many of the acknowledging replicas must have fsynced the
	// write first (Riak's DW); 0 means Config.DW, DWNone none. W is raised
	// to it.
	DW int
	// Timestamp, when non-zero, dates the new version (unix nanoseconds)
	// instead of the coordinator's clock; version.Write still dates it
	// after every version it supersedes. FLUSHALL and RENAME pass
	// EarliestTimestamp: their tombstones are dated just after what they
	// delete, so that a concurrent write, which a tombstone does not cover,
	// wins plain reads.
	Timestamp int64
}

// Op is the kind of a write.
type Op uint8

const (
	// OpSet writes Data.
	OpSet Op = iota
	// OpDelete writes a tombstone.
	OpDelete
	// OpAppend writes the current value (as plain GET reads it) followed
	// by Data.
	OpAppend
	// OpSetRange overwrites the current value from an offset: Data is the
	// offset (uvarint) followed by the bytes (SETRANGE); the value is
	// padded with zero bytes up to the offset.
	OpSetRange
	// OpSetBit sets one bit of the current value: Data is the bit offset
	// (uvarint) followed by one byte, 0 or 1 (SETBIT); the value is padded
	// with zero bytes up to the bit's byte.
	OpSetBit
	// OpExpire writes the current value (as plain GET reads it) again with
	// Expiry (0: persist), or a tombstone if Expiry has passed. The key
	// must have a value (else ErrCondition): EXPIRE, PERSIST, GETEX.
	OpExpire
)

// RangeData returns OpSetRange's Data: value written at offset.
func RangeData(offset uint64, value []byte) []byte {
	return append(binary.AppendUvarint(nil, offset), value...)
}

// BitData returns OpSetBit's Data: bit (0 or 1) at the bit offset.
func BitData(offset uint64, bit byte) []byte {
	return append(binary.AppendUvarint(nil, offset), bit)
}

// splitOffset splits OpSetRange's or OpSetBit's Data.
func splitOffset(data []byte) (uint64, []byte, bool) {
	off, k := binary.Uvarint(data)
	if k <= 0 {
		return 0, nil, false
	}
	return off, data[k:], true
}

// setRange returns v overwritten with data from offset, padded with zeros.
func setRange(v []byte, offset uint64, data []byte, maxSize int64) ([]byte, error) {
	end := offset + uint64(len(data))
	if end < offset || (maxSize > 0 && end > uint64(maxSize)) || end > 1<<40 {
		return nil, ErrTooLarge
	}
	out := make([]byte, max(uint64(len(v)), end))
	copy(out, v)
	copy(out[offset:], data)
	return out, nil
}

// Cond is a condition on the key's current value (as plain GET reads it).
type Cond uint8

const (
	// CondNone always writes.
	CondNone Cond = iota
	// CondAbsent writes only if the key has no value (SET NX).
	CondAbsent
	// CondPresent writes only if the key has a value (SET XX).
	CondPresent
	// CondAnyValue writes only if some sibling holds a value, even when
	// plain reads see a tombstone (DEL cleans those up).
	CondAnyValue
	// CondNoExpiry writes only if the key has a value without an expiry
	// (EXPIRE NX).
	CondNoExpiry
	// CondHasExpiry writes only if the key has a value with an expiry
	// (EXPIRE XX, PERSIST).
	CondHasExpiry
	// CondLaterExpiry writes only if the key has a value whose expiry is
	// before Expiry; no expiry counts as infinite (EXPIRE GT).
	CondLaterExpiry
	// CondEarlierExpiry writes only if the key has a value whose expiry is
	// after Expiry or that has none (EXPIRE LT).
	CondEarlierExpiry
	// CondExpiryAfter writes only if the key has a value with an expiry
	// after Expiry (EXPIRE XX LT).
	CondExpiryAfter
)

// ErrCondition is returned by Put when the write's Cond does not hold;
// nothing was written.
var ErrCondition = errdefs.ErrCondition

// ErrTooLarge is returned by Put when the new value would exceed the
// write's MaxSize; nothing was written.
var ErrTooLarge = errdefs.ErrTooLarge

// newVersion computes the value or tombstone of w against cur (as it reads
// at nowMs: expired values are tombstones) and the new value's expiry.
func (w Write) newVersion(cur version.Siblings, nowMs int64) (value []byte, tomb bool, expiry int64, err error) {
	if w.Value != nil {
		value, tomb, err = w.Value(cur)
		return value, tomb, 0, err
	}
	win, _ := cur.Winner()
	v, ok := cur.Value()
	if !w.holds(cur, ok, win.Expiry) || (w.Op == OpExpire && !ok) {
		return nil, false, 0, ErrCondition
	}
	expiry = w.Expiry
	if w.KeepTTL && ok {
		expiry = win.Expiry
	}
	if expiry != 0 && expiry <= nowMs && !w.KeepTTL {
		// A time already passed deletes the key, as in Redis.
		return nil, true, 0, nil
	}
	switch w.Op {
	case OpDelete:
		return nil, true, 0, nil
	case OpExpire:
		return v, false, expiry, nil
	case OpAppend:
		if w.MaxSize > 0 && int64(len(v))+int64(len(w.Data)) > w.MaxSize {
			return nil, false, 0, ErrTooLarge
		}
		return append(append(make([]byte, 0, len(v)+len(w.Data)), v...), w.Data...), false, expiry, nil
	case OpSetRange:
		off, data, ok := splitOffset(w.Data)
		if !ok {
			return nil, false, 0, errdefs.ErrBadRequest
		}
		out, err := setRange(v, off, data, w.MaxSize)
		return out, false, expiry, err
	case OpSetBit:
		off, bit, ok := splitOffset(w.Data)
		if !ok || len(bit) != 1 || bit[0] > 1 {
			return nil, false, 0, errdefs.ErrBadRequest
		}
		need := off/8 + 1
		if (w.MaxSize > 0 && need > uint64(w.MaxSize)) || need > 1<<40 {
			return nil, false, 0, ErrTooLarge
		}
		out := make([]byte, max(uint64(len(v)), need))
		copy(out, v)
		mask := byte(0x80) >> (off % 8)
		if bit[0] == 1 {
			out[off/8] |= mask
		} else {
			out[off/8] &^= mask
		}
		return out, false, expiry, nil
	}
	if w.MaxSize > 0 && int64(len(w.Data)) > w.MaxSize {
		return nil, false, 0, ErrTooLarge
	}
	return w.Data, false, expiry, nil
}

// holds reports whether w's condition holds for cur, whose plain reads
// see a value (ok) expiring at cur (0: never).
func (w Write) holds(ss version.Siblings, ok bool, cur int64) bool {
	switch w.Cond {
	case CondAbsent:
		return !ok
	case CondPresent:
		return ok
	case CondAnyValue:
		return len(ss.Live()) > 0
	case CondNoExpiry:
		return ok && cur == 0
	case CondHasExpiry:
		return ok && cur != 0
	case CondLaterExpiry:
		return ok && cur != 0 && w.Expiry > cur
	case CondEarlierExpiry:
		return ok && (cur == 0 || w.Expiry < cur)
	case CondExpiryAfter:
		return ok && cur != 0 && w.Expiry < cur
	}
	return true
}

// Value returns a Write.Value function that always writes v.
func Value(v []byte) func(version.Siblings) ([]byte, bool, error) {
	return func(version.Siblings) ([]byte, bool, error) { return v, false, nil }
}

// Tombstone returns a Write.Value function that always deletes.
func Tombstone() func(version.Siblings) ([]byte, bool, error) {
	return func(version.Siblings) ([]byte, bool, error) { return nil, true, nil }
}

// Put performs w on key and returns the siblings the coordinator held
// before it (what SET GET, GETSET and DEL report); with ErrCondition it
// returns them too (what SET NX GET reports). The coordinator applies
// the write to its own replica first, then sends the resulting sibling set
// to the key's other home nodes in parallel and returns once W replicas
// (itself included) hold it. A home node that is down or fails is replaced
// by the next healthy fallback, which holds the write as a hint for it; when
// no fallback is left, the coordinator keeps the hint. Either way the home
// node gets the write when it is healthy again.
//
// A node that is not one of the key's home nodes forwards the write (when
// it has no Value function) to the first home node that answers; only if
// none does, it coordinates the write itself.
func (c *Coordinator) Put(ctx context.Context, key []byte, w Write) (prev version.Siblings, err error) {
	if c.adm == nil {
		return c.put(ctx, key, w, true)
	}
	start := c.now()
	prev, err = c.put(ctx, key, w, true)
	c.observe(start)
	return prev, err
}

func (c *Coordinator) put(ctx context.Context, key []byte, w Write, mayForward bool) (prev version.Siblings, err error) {
	p := c.plan(key)
	need, err := c.quorum(w.W, c.cfg.W, p)
	if err != nil {
		return nil, err
	}
	dw, err := c.durableQuorum(w.DW, c.cfg.DW, p)
	if err != nil {
		return nil, err
	}
	need = max(need, dw)
	local := p.localOnly(c.cluster.Self())
	if !local {
		var cancel context.CancelFunc
		ctx, cancel = c.deadline(ctx)
		defer cancel()
	}
	if mayForward && w.Value == nil && c.tr != nil && !p.isHome(c.cluster.Self()) {
		if prev, ok, err := c.forward(ctx, p, key, w); ok {
			return prev, err
		}
	}
	if dw > 0 && p.isHome(c.cluster.Self()) && !c.localDurable() {
		// This replica's acknowledgement would count towards DW and it
		// can fsync nothing: refuse before writing anything.
		return nil, ErrNotDurable
	}
	now := c.now()
	ts, nowMs := now.UnixNano(), now.UnixMilli()
	if w.Timestamp != 0 {
		ts = w.Timestamp
	}
	next, err := c.local.Update(ctx, key, func(cur version.Siblings) (version.Siblings, error) {
		// The actor is read under the key's lock: a store that rotates
		// its actor before dropping a key's versions (ownership handoff)
		// does so before it takes the lock, so the dot is never reissued.
		actor := c.local.Actor()
		// What expired reads as a tombstone of the same dot, here too:
		// the write keeps it as one (as ReclaimExpired would).
		cur = cur.At(nowMs)
		prev = cur
		value, tomb, expiry, err := w.newVersion(cur, nowMs)
		if err != nil {
			return nil, err
		}
		vctx := w.Context
		if w.Supersede {
			vctx = cur.Context()
		}
		counter, err := c.local.NextCounter(version.NextCounter(cur, actor, vctx))
		if err != nil {
			return nil, err
		}
		next := version.WriteExpiring(cur, version.Dot{Actor: actor, Counter: counter}, vctx, ts, value, tomb, expiry)
		if limit := c.cfg.MaxSiblingsSize; limit > 0 {
			if n := next.RecordSize(); int64(n) > limit {
				return nil, fmt.Errorf("%w: the key's siblings would take %d bytes, over max-siblings-size (%d): resolve them with a context that covers them",
					version.ErrTooManyVersions, n, limit)
			}
		}
		return next, nil
	})
	if errors.Is(err, ErrCondition) {
		return prev, err
	}
	if err != nil && diskRefused(err) && mayForward && w.Value == nil && c.tr != nil && !local && w.Op != OpAppend && w.Cond == CondNone {
		// This node's disk refuses writes: another home may coordinate it.
		if prev, ok, ferr := c.forward(ctx, p, key, w); ok {
			return prev, ferr
		}
	}
	if err != nil {
		return nil, err
	}
	c.writes.Add(1)
	if dw > 0 && p.isHome(c.cluster.Self()) {
		// This replica's acknowledgement counts towards DW: fsynced.
		if err := c.local.Sync(ctx); err != nil {
			return nil, err
		}
	}
	if local {
		return prev, nil
	}
	if err := c.replicate(ctx, p, key, next, need, dw > 0); err != nil {
		return nil, err
	}
	return prev, nil
}

// replicate sends ss to the home nodes other than this one and waits until
// need replicas in all (this one included) hold it. Deliveries still under
// way when it returns finish in the background. With durable (a write with
// DW) every replica, fallbacks included, acknowledges only once it fsynced
// ss, so that any need of them satisfy DW.
func (c *Coordinator) replicate(ctx context.Context, p *plan, key []byte, ss version.Siblings, need int, durable bool) error {
	self := c.cluster.Self()
	acks := make(chan bool, len(p.home))
	others := 0
	for _, home := range p.home {
		if home == self {
			continue
		}
		others++
		c.background(func(bctx context.Context) { acks <- c.deliver(bctx, p, home, key, ss, durable) })
	}
	for _, node := range p.pending {
		if node != self {
			c.background(func(bctx context.Context) { c.deliverPending(bctx, node, key, ss) })
		}
	}
	got := 1 // this node's own replica
	if !p.isHome(self) {
		// A coordinator outside the key's home nodes only relays; its own
		// copy does not count.
		got = 0
	}
	for answered := 0; got < need && answered < others; answered++ {
		select {
		case ok := <-acks:
			if ok {
				got++
			}
		case <-ctx.Done():
			return &QuorumError{Op: "write", Need: need, Got: got}
		}
	}
	if got < need {
		return &QuorumError{Op: "write", Need: need, Got: got}
	}
	return nil
}

// deliver gets ss to home, or a hint for home to a fallback, and reports
// whether a node other than this one now holds it. If neither is possible,
// this node keeps the hint. A home or fallback that misses its hop
// deadline (deadline.go) is passed over as if it were down.
//
// A durable delivery (DW) asks for fsynced acknowledgements and waits for
// each up to the attempt timeout: its round trip includes an fsync, which
// the peer's estimated round trip (its hop deadline) does not.
func (c *Coordinator) deliver(ctx context.Context, p *plan, home string, key []byte, ss version.Siblings, durable bool) bool {
	merge := func(ctx context.Context) error { return c.peer(home).Merge(ctx, key, ss) }
	hint := func(f string) func(ctx context.Context) error {
		return func(ctx context.Context) error { return c.peer(f).PutHint(ctx, home, key, ss) }
	}
	wait := c.replicaDeadline
	if durable {
		merge = func(ctx context.Context) error { return c.peer(home).MergeDurable(ctx, key, ss) }
		hint = func(f string) func(ctx context.Context) error {
			return func(ctx context.Context) error { return c.peer(f).PutHintDurable(ctx, home, key, ss) }
		}
		wait = func(string) time.Duration { return c.attemptTimeout() }
	}
	if c.alive(home) && c.within(ctx, home, wait(home), merge) {
		return true
	}
	for {
		f := p.nextFallback()
		if f == "" {
			break
		}
		if c.within(ctx, f, wait(f), hint(f)) {
			c.hinted.Add(1)
			return true
		}
	}
	// The last resort has no node after it: it gets the attempt timeout.
	if c.lastResort(home) && c.within(ctx, home, c.attemptTimeout(), merge) {
		c.suspects.clear(home)
		return true
	}
	// No fallback took it: keep the hint here so the home node gets the
	// write.
	c.keepHint(ctx, home, key, ss)
	return false
}

// keepHint stores ss as a hint for node in this node's store, even past
// the request's deadline.
func (c *Coordinator) keepHint(ctx context.Context, node string, key []byte, ss version.Siblings) {
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Timeout)
	defer cancel()
	if err := c.local.PutHint(hctx, node, key, ss); err != nil && !errors.Is(err, replica.ErrClosed) && !diskRefused(err) {
		// A store refusing writes logs that itself, at a bounded rate.
		c.log.Error("keep hint failed", "node", node, "err", err)
	} else if err == nil {
		c.hinted.Add(1)
	}
}

// deliverPending gets ss to node, a home of the key in the ring a transfer
// under way leads to. It does not count towards W; when node cannot take
// it now this node keeps a hint for it, replayed as any other.
func (c *Coordinator) deliverPending(ctx context.Context, node string, key []byte, ss version.Siblings) {
	if c.alive(node) && c.within(ctx, node, c.replicaDeadline(node), func(ctx context.Context) error { return c.peer(node).Merge(ctx, key, ss) }) {
		return
	}
	c.keepHint(ctx, node, key, ss)
}

// within runs the replica call to node and reports whether it succeeded
// within wait. A call still running then goes on in the background until
// ctx's deadline (a late Merge or hint is harmless: both are idempotent),
// while the caller moves on to the next node; node is suspected until it
// answers (attempt).
func (c *Coordinator) within(ctx context.Context, node string, wait time.Duration, call func(context.Context) error) bool {
	err := c.attempt(ctx, node, replicaHop, wait, call)
	if err != nil && !errors.Is(err, errHopDeadline) && ctx.Err() == nil {
		c.log.Debug("replica call failed", "node", node, "err", err)
	}
	return err == nil
}

// DWNone is Write.DW asking for no fsynced acknowledgement, whatever
// Config.DW says.
const DWNone = -1
