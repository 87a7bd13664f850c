package coordinator

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/dynkv/dynkv/errdefs"
	"github.com/dynkv/dynkv/peer"
	"github.com/dynkv/dynkv/replica"
	"github.com/dynkv/dynkv/version"
)

// Forwarding: a node that is not among a key's home nodes does not
// coordinate its writes; it forwards them to the first home node that
// answers, so version vectors only ever name home nodes (as the paper's
// section 4.5 prescribes). The messages ride on the peer transport next to
// the replica protocol, told apart by their op byte.

// forwardErrors are the errors a forwarded write reports as themselves;
// any other travels as ErrForward.
var forwardErrors = []error{
	ErrCondition, ErrQuorum, ErrBadQuorum, version.ErrInvalidContext,
	peer.ErrBadRequest, ErrTooLarge, version.ErrTooManyVersions, ErrForwardUnknown,
	replica.ErrDiskFull, replica.ErrDiskIO, ErrNotDurable,
}

// diskRefused reports a write refused by a store whose disk is full or
// failing.
func diskRefused(err error) bool {
	return errors.Is(err, replica.ErrDiskFull) || errors.Is(err, replica.ErrDiskIO)
}

// ErrForward stands for an error of the node a write was forwarded to that
// has no code of its own.
var ErrForward = errors.New("coordinator: forwarded write failed")

func encodeForward(key []byte, w Write) []byte {
	b := []byte{peer.Format, byte(peer.OpForward)}
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	var flags byte
	if w.Supersede {
		flags |= forwardSupersede
	}
	if w.KeepTTL {
		flags |= forwardKeepTTL
	}
	if w.Timestamp != 0 {
		flags |= forwardTimestamp
	}
	if w.DW != 0 {
		flags |= forwardDW
	}
	b = append(b, flags, byte(w.Op), byte(w.Cond))
	b = binary.AppendUvarint(b, uint64(w.W))
	if w.DW != 0 {
		b = binary.AppendUvarint(b, uint64(w.DW+1)) // DWNone is 0
	}
	b = binary.AppendUvarint(b, uint64(max(w.MaxSize, 0)))
	b = binary.AppendUvarint(b, uint64(max(w.Expiry, 0)))
	if w.Timestamp != 0 {
		b = binary.AppendVarint(b, w.Timestamp)
	}
	ctx := version.EncodeContext(w.Context)
	b = binary.AppendUvarint(b, uint64(len(ctx)))
	b = append(b, ctx...)
	return append(b, w.Data...)
}

// The flags of a forwarded write.
const (
	forwardSupersede byte = 1
	forwardKeepTTL   byte = 2 // with the expiry after MaxSize
	forwardTimestamp byte = 4 // the write's timestamp follows the expiry
	forwardDW        byte = 8 // DW+1 follows W
)

func decodeForward(b []byte) (key []byte, w Write, err error) {
	bad := peer.ErrBadRequest
	if peer.OpOf(b) != peer.OpForward {
		return nil, w, bad
	}
	b = b[2:]
	field := func() []byte {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			b = nil
			return nil
		}
		v := b[k : k+int(n)]
		b = b[k+int(n):]
		return v
	}
	key = field()
	if b == nil || len(b) < 3 {
		return nil, w, bad
	}
	flags, op, cond := b[0], Op(b[1]), Cond(b[2])
	b = b[3:]
	q, k := binary.Uvarint(b)
	if k <= 0 || flags&^(forwardSupersede|forwardKeepTTL|forwardTimestamp|forwardDW) != 0 || op > OpExpire || cond > CondExpiryAfter || q > 1<<16 {
		return nil, w, bad
	}
	b = b[k:]
	dw := 0
	if flags&forwardDW != 0 {
		d, k := binary.Uvarint(b)
		if k <= 0 || d == 1 || d > 1<<16 { // 1 would be DW 0, which is sent as no field
			return nil, w, bad
		}
		b, dw = b[k:], int(d)-1
	}
	maxSize, k := binary.Uvarint(b)
	if k <= 0 || maxSize > 1<<62 {
		return nil, w, bad
	}
	b = b[k:]
	expiry, k := binary.Uvarint(b)
	if k <= 0 || expiry > math.MaxInt64 {
		return nil, w, bad
	}
	b = b[k:]
	var ts int64
	if flags&forwardTimestamp != 0 {
		if ts, k = binary.Varint(b); k <= 0 || ts == 0 {
			return nil, w, bad
		}
		b = b[k:]
	}
	ctx := field()
	if b == nil {
		return nil, w, bad
	}
	vv, err := version.DecodeContext(ctx)
	if err != nil {
		return nil, w, err
	}
	w = Write{Context: vv, Supersede: flags&forwardSupersede != 0, KeepTTL: flags&forwardKeepTTL != 0,
		Op: op, Cond: cond, W: int(q), DW: dw, MaxSize: int64(maxSize), Expiry: int64(expiry), Data: b, Timestamp: ts}
	return key, w, nil
}

func encodeForwardResult(prev version.Siblings, err error) []byte {
	if err == nil {
		return append([]byte{peer.Format, 0}, version.EncodeRecord(prev)...)
	}
	if errors.Is(err, ErrCondition) {
		// The versions that failed the condition travel with it.
		return append([]byte{peer.Format, peer.Code(ErrCondition)}, version.EncodeRecord(prev)...)
	}
	for _, e := range forwardErrors {
		if errors.Is(err, e) {
			return []byte{peer.Format, peer.Code(e)}
		}
	}
	return []byte{peer.Format, peer.Code(peer.ErrRemote)}
}

func decodeForwardResult(b []byte) (version.Siblings, error) {
	if len(b) < 2 || b[0] != peer.Format {
		return nil, fmt.Errorf("%w: malformed reply", ErrForward)
	}
	cond := peer.Code(ErrCondition)
	if b[1] == 0 || (b[1] == cond && len(b) > 2) {
		ss, err := version.DecodeRecord(b[2:])
		if err != nil {
			return nil, fmt.Errorf("%w: malformed reply", ErrForward)
		}
		if b[1] == cond {
			return ss, ErrCondition
		}
		return ss, nil
	}
	if len(b) == 2 {
		if err := peer.Err(b[1]); slices.Contains(forwardErrors, err) {
			return nil, err
		}
		if b[1] == peer.Code(peer.ErrRemote) {
			return nil, ErrForward
		}
	}
	return nil, fmt.Errorf("%w: malformed reply", ErrForward)
}

// Serve coordinates a write forwarded by another node. It never panics on
// any input; a request that does not decode is refused and changes nothing.
func (c *Coordinator) Serve(ctx context.Context, req []byte) []byte {
	key, w, err := decodeForward(req)
	if err != nil {
		return encodeForwardResult(nil, err)
	}
	if c.adm != nil {
		defer c.observe(c.now())
	}
	prev, err := c.put(ctx, key, w, false)
	return encodeForwardResult(prev, err)
}

// forward sends the write to the key's home nodes in order until one
// answers. ok is false when none could be asked, and the caller coordinates
// itself. A write that gives the same result applied twice (a plain set or
// delete, a DPUT, SETRANGE) moves on after any failure, and waits for each
// home but the last only its hop deadline (deadline.go): a home that went
// silent costs tens of milliseconds, not seconds, and its late reply is
// still measured (the write it carries may land there too, which such a
// write allows). APPEND, SETBIT (which reports the bit it replaced) and
// conditional writes move on only when the request provably never left,
// and otherwise report that their outcome is unknown; they wait twice the
// attempt timeout for each home but the last, since giving up early would
// turn a slow success into an unknown outcome. A home whose disk refuses
// the write (ErrDiskFull, ErrDiskIO) is passed over for the next one by
// writes that may be resent. This node itself is never asked.
func (c *Coordinator) forward(ctx context.Context, p *plan, key []byte, w Write) (prev version.Siblings, ok bool, err error) {
	req := encodeForward(key, w)
	resend := (w.Op == OpSet || w.Op == OpDelete || w.Op == OpSetRange) && w.Cond == CondNone
	// Homes under suspicion come last: a write this node coordinated
	// itself would be computed from its own copy (wrong for APPEND and
	// conditions) and name a node outside the preference list.
	var alive, suspected []string
	for _, home := range p.home {
		switch {
		case home == c.cluster.Self():
		case c.alive(home):
			alive = append(alive, home)
		case c.lastResort(home):
			suspected = append(suspected, home)
		}
	}
	alive = append(alive, suspected...)
	for i, home := range alive {
		resp, err := c.forwardTo(ctx, home, req, i == len(alive)-1, resend)
		if err == nil {
			c.suspects.clear(home)
			prev, err := decodeForwardResult(resp)
			if resend && diskRefused(err) && i < len(alive)-1 {
				continue
			}
			c.forwarded.Add(1)
			return prev, true, err
		}
		if ctx.Err() != nil {
			return nil, true, ctx.Err()
		}
		if !resend && !errors.Is(err, peer.ErrNotSent) {
			return nil, true, fmt.Errorf("%w: %s did not answer; the write may or may not have been applied", ErrForwardUnknown, home)
		}
	}
	return nil, false, nil
}

// forwardTo sends a forwarded write to home and waits for its reply: under
// ctx alone for the last home, for at most its hop deadline for a write
// that may be resent (the call itself runs on to ctx's deadline, so a late
// reply is still measured), and for at most twice the attempt timeout for
// one that may not, cancelling the call. A home that lets its time pass is
// suspected.
func (c *Coordinator) forwardTo(ctx context.Context, home string, req []byte, last, resend bool) ([]byte, error) {
	if resend && !last {
		var resp []byte // read only once the call returned in time
		err := c.attempt(ctx, home, forwardHop, c.forwardDeadline(home), func(ctx context.Context) error {
			r, err := c.tr.Call(ctx, home, req)
			resp = r
			return err
		})
		if err != nil {
			return nil, err // a late call may still write resp
		}
		return resp, nil
	}
	actx, cancel := ctx, context.CancelFunc(func() {})
	if !last {
		// Longer than the home's own attempts at its peers, so that a
		// home that waits out a hung peer is not taken for hung itself.
		actx, cancel = context.WithTimeout(ctx, 2*c.attemptTimeout())
	}
	defer cancel()
	start := time.Now()
	resp, err := c.tr.Call(actx, home, req)
	if err == nil {
		c.rtts.of(home).forward.observe(time.Since(start))
	}
	if actx.Err() != nil && ctx.Err() == nil {
		c.timedOut(home)
	}
	return resp, err
}

// ErrForwardUnknown reports a forwarded write whose home node did not
// answer after the request may have reached it: it may or may not have
// been applied, and was not sent again because applying it twice differs.
var ErrForwardUnknown = errdefs.ErrForwardUnknown

// ErrNotDurable refuses a write with DW that this node would count
// towards DW although its store keeps no data on disk (storage memory).
// Nothing was written.
var ErrNotDurable = errdefs.ErrNotDurable

// attemptTimeout bounds one attempt at one node within an operation, so
// that a hung node leaves time to try another.
func (c *Coordinator) attemptTimeout() time.Duration { return max(c.cfg.Timeout/4, time.Millisecond) }
