package version

import (
	"bytes"
	"cmp"
	"slices"
)

// Sibling is one version of a key: a value or a tombstone with its version.
type Sibling struct {
	Dot       Dot    // the write that created this sibling
	Past      VV     // the context of that write; never covers Dot
	Timestamp int64  // coordinator's wall clock at the write, unix nanoseconds
	Tombstone bool   // a delete; Value is empty
	Value     []byte // owned by the Sibling; callers must not modify it
	// Expiry is when the value expires, unix milliseconds (as Redis's
	// PEXPIRETIME); 0 means never. A tombstone has none. The sibling reads
	// as a tombstone (Expired, Siblings.At) at every time after it.
	Expiry int64
}

// Expired reports whether s holds a value that has expired at nowMs (unix
// milliseconds): a time strictly after its expiry, as Redis decides.
func (s Sibling) Expired(nowMs int64) bool {
	return !s.Tombstone && s.Expiry != 0 && nowMs > s.Expiry
}

// Reclaimed returns s as its expiry leaves it: a tombstone with the same
// dot, past and timestamp. Every replica turns an expired sibling into the
// same tombstone, and Sync prefers the tombstone to the value it replaces
// (prefer), so a reclaimed sibling never comes back as a value, and the
// versions (and Merkle hashes, which name only dots) stay the same.
func (s Sibling) Reclaimed() Sibling {
	s.Tombstone, s.Value, s.Expiry = true, nil, 0
	return s
}

// Clock returns the sibling's full version: Past with Dot added.
func (s Sibling) Clock() VV { return s.Past.With(s.Dot) }

// Siblings is the set of concurrent versions of one key, sorted by Dot with
// no Dot twice and no sibling's Dot covered by another's Past. The empty set
// is a key that was never written (or whose tombstones were collected).
// Functions on Siblings return new slices and never modify their arguments.
type Siblings []Sibling

// Context returns the join of every sibling's clock: the version vector a
// client passes back to supersede everything it read.
func (ss Siblings) Context() VV {
	if len(ss) == 1 {
		return ss[0].Clock()
	}
	var ctx VV
	for _, s := range ss {
		ctx = ctx.Join(s.Clock())
	}
	return ctx
}

// At returns the set as it reads at nowMs (unix milliseconds): every
// sibling that has expired by then Reclaimed (a tombstone with the same dot,
// past and timestamp). It returns ss itself when nothing has expired. Reads
// apply it before Value, Live or Winner, so an expired value reads as a
// delete would, and a reclaimed record reads the same as before.
func (ss Siblings) At(nowMs int64) Siblings {
	var out Siblings
	for i, s := range ss {
		if !s.Expired(nowMs) {
			continue
		}
		if out == nil {
			out = slices.Clone(ss)
		}
		out[i] = s.Reclaimed()
	}
	if out == nil {
		return ss
	}
	return out
}

// NextExpiry returns the earliest expiry of ss's values, or 0 if none
// expires.
func (ss Siblings) NextExpiry() int64 {
	var e int64
	for _, s := range ss {
		if !s.Tombstone && s.Expiry != 0 && (e == 0 || s.Expiry < e) {
			e = s.Expiry
		}
	}
	return e
}

// Live returns the siblings that are not tombstones.
func (ss Siblings) Live() Siblings {
	var out Siblings
	for _, s := range ss {
		if !s.Tombstone {
			out = append(out, s)
		}
	}
	return out
}

// Winner returns the sibling that plain (non-Dynamo) reads return: the one
// with the latest timestamp, ties broken by the larger Dot. Every replica
// picks the same winner from the same set. ok is false for an empty set.
// The winner may be a tombstone: then the key reads as absent.
func (ss Siblings) Winner() (w Sibling, ok bool) {
	for i, s := range ss {
		if i == 0 || s.Timestamp > w.Timestamp || (s.Timestamp == w.Timestamp && s.Dot.Compare(w.Dot) > 0) {
			w = s
		}
	}
	return w, len(ss) > 0
}

// Value returns the value plain reads see: the winner's, unless the winner is
// a tombstone or the set is empty.
func (ss Siblings) Value() ([]byte, bool) {
	w, ok := ss.Winner()
	if !ok || w.Tombstone {
		return nil, false
	}
	return w.Value, true
}

// MaxPastEntries bounds the entries a new version's Past inherits from its
// key's history beyond those it needs (see Write). A key's history gains an
// entry for every actor that ever coordinated a write of it: a node draws a
// new actor after an unclean shutdown and whenever it hands a partition off,
// so over years a long-lived key would otherwise collect entries without
// limit, until its versions no longer fit a record (ErrTooManyVersions).
const MaxPastEntries = 64

// NextCounter returns the least counter actor may give to its next write of
// a key that holds cur, written with context ctx: one above every counter of
// actor that either knows. Counters of an actor only grow; a store may hand
// out larger ones (replica.Store does: readings of a clock that never goes
// back), never smaller.
func NextCounter(cur Siblings, actor Actor, ctx VV) uint64 {
	return max(cur.Context().Get(actor), ctx.Get(actor)) + 1
}

// Update returns the result of a write coordinated by actor with context ctx
// on the current set cur, with the dot NextCounter gives: Write with
// Dot{actor, NextCounter(cur, actor, ctx)}.
func Update(cur Siblings, actor Actor, ctx VV, ts int64, value []byte, tombstone bool) Siblings {
	return Write(cur, Dot{Actor: actor, Counter: NextCounter(cur, actor, ctx)}, ctx, ts, value, tombstone)
}

// Write returns the result of the write dot with context ctx on the current
// set cur: the siblings ctx covers are dropped, the others stay, and a new
// sibling holding value (or a tombstone) is added. dot.Counter must be at
// least NextCounter(cur, dot.Actor, ctx) and never handed out before. The
// timestamp is ts, raised if needed above every timestamp it supersedes so
// that a successor never loses a last-writer-wins pick to a version it
// replaced.
//
// The new sibling's Past is ctx, bounded: beyond MaxPastEntries it keeps
// the entries of the actors of cur's siblings (those it replaces and those
// it leaves, so that it supersedes exactly what ctx covers) and of dot's
// actor, and drops the oldest of the others (the smallest counters: dynkv's
// counters are clock readings, see replica.Store.NextCounter). A dropped entry
// names only versions that were already replaced here; a stale replica
// that still holds one of them shows it again as a sibling of this write
// instead of its being superseded. Nothing is lost that way — a version is
// only ever kept longer — and plain reads still see this write, whose
// timestamp is later. An actor's counters are never reissued, so a dropped
// entry cannot make a new version take an old one's dot.
func Write(cur Siblings, dot Dot, ctx VV, ts int64, value []byte, tombstone bool) Siblings {
	return WriteExpiring(cur, dot, ctx, ts, value, tombstone, 0)
}

// WriteExpiring is Write of a value that expires at expiry (unix
// milliseconds; 0: never). A tombstone never expires.
func WriteExpiring(cur Siblings, dot Dot, ctx VV, ts int64, value []byte, tombstone bool, expiry int64) Siblings {
	out := make(Siblings, 0, len(cur)+1)
	for _, s := range cur {
		if ctx.Covers(s.Dot) {
			ts = max(ts, s.Timestamp+1)
			continue
		}
		out = append(out, s)
	}
	if tombstone {
		value, expiry = nil, 0
	}
	out = append(out, Sibling{Dot: dot, Past: boundPast(ctx, cur, dot.Actor), Timestamp: ts, Tombstone: tombstone, Value: value, Expiry: max(expiry, 0)})
	slices.SortFunc(out, func(a, b Sibling) int { return a.Dot.Compare(b.Dot) })
	return out
}

// boundPast returns a copy of ctx with at most MaxPastEntries entries
// beyond those of cur's actors and of actor, dropping the others'
// smallest counters first (ties: the smaller actor).
func boundPast(ctx VV, cur Siblings, actor Actor) VV {
	if len(ctx) <= MaxPastEntries {
		return slices.Clone(ctx)
	}
	needed := func(a Actor) bool {
		return a == actor || slices.ContainsFunc(cur, func(s Sibling) bool { return s.Dot.Actor == a })
	}
	var spare []Entry
	for _, e := range ctx {
		if !needed(e.Actor) {
			spare = append(spare, e)
		}
	}
	drop := min(len(ctx)-MaxPastEntries, len(spare))
	slices.SortFunc(spare, func(a, b Entry) int {
		if c := cmp.Compare(a.Counter, b.Counter); c != 0 {
			return c
		}
		return cmp.Compare(a.Actor, b.Actor)
	})
	dropped := make(map[Actor]bool, drop)
	for _, e := range spare[:drop] {
		dropped[e.Actor] = true
	}
	out := make(VV, 0, len(ctx)-drop)
	for _, e := range ctx {
		if !dropped[e.Actor] {
			out = append(out, e)
		}
	}
	return out
}

// Sync merges two sibling sets of the same key, as held by two replicas:
// the union, less every sibling that a sibling of either set supersedes.
// Sync is commutative and idempotent, and associative on the sets that
// Update and Sync produce (where a write's Past also covers the Pasts of what
// it replaced, because contexts are joins of whole clocks).
func Sync(a, b Siblings) Siblings {
	all := make(Siblings, 0, len(a)+len(b))
	all = append(all, a...)
	all = append(all, b...)
	slices.SortStableFunc(all, func(x, y Sibling) int { return x.Dot.Compare(y.Dot) })
	out := make(Siblings, 0, len(all))
	for i, s := range all {
		if i > 0 && all[i-1].Dot == s.Dot {
			// The same write reached both replicas; its content is the same
			// unless something is badly wrong. Keep a deterministic one.
			if prefer(s, out[len(out)-1]) {
				out[len(out)-1] = s
			}
			continue
		}
		out = append(out, s)
	}
	if len(out) > 16 {
		covered := pastMax(out)
		kept := out[:0:0]
		for _, s := range out {
			if covered[s.Dot.Actor] < s.Dot.Counter {
				kept = append(kept, s)
			}
		}
		return kept
	}
	kept := out[:0:0]
	for _, s := range out {
		if !superseded(out, s.Dot) {
			kept = append(kept, s)
		}
	}
	return kept
}

// superseded reports whether some sibling of ss was written with a context
// that covers d. Quadratic over a set, which is fine for the few siblings
// keys have; large sets go through pastMax instead.
func superseded(ss Siblings, d Dot) bool {
	for _, o := range ss {
		if o.Past.Covers(d) {
			return true
		}
	}
	return false
}

// pastMax returns, per actor, the highest counter any sibling's Past holds:
// a sibling is superseded within ss exactly when pastMax covers its dot
// (no sibling's Past covers its own dot). One pass, so that merging or
// decoding a set of many siblings stays linear.
func pastMax(ss Siblings) map[Actor]uint64 {
	m := make(map[Actor]uint64)
	for _, s := range ss {
		for _, e := range s.Past {
			m[e.Actor] = max(m[e.Actor], e.Counter)
		}
	}
	return m
}

// prefer picks deterministically between two siblings with the same dot.
// The tombstone wins over the value: that is how a sibling one replica
// reclaimed at its expiry (Sibling.Reclaimed) replaces the expired value
// another replica still holds, and never the other way round.
func prefer(a, b Sibling) bool {
	if a.Timestamp != b.Timestamp {
		return a.Timestamp > b.Timestamp
	}
	if a.Tombstone != b.Tombstone {
		return a.Tombstone
	}
	if a.Expiry != b.Expiry {
		return a.Expiry > b.Expiry
	}
	return bytes.Compare(a.Value, b.Value) > 0
}

// SameVersions reports whether a and b hold exactly the same dots, that is,
// whether Sync(a, b) would change neither.
func SameVersions(a, b Siblings) bool {
	return slices.EqualFunc(a, b, func(x, y Sibling) bool { return x.Dot == y.Dot })
}
