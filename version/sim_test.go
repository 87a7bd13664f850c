package version

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// This file is a reference simulation of the Dynamo read-modify-write cycle
// on one key: K clients DGET (read a replica's siblings and keep its
// Context) and then DPUT (Update at a coordinator with that context), while
// replicas exchange whole sibling sets with Sync. The model tracks causality
// explicitly, without version vectors: every write remembers the set of
// writes its client had observed, and every replica the set of writes it
// knows. The version vectors under test must agree with it at every step.

// bitset is a set of write ids.
type bitset []uint64

func (b *bitset) set(i int) {
	for len(*b) <= i/64 {
		*b = append(*b, 0)
	}
	(*b)[i/64] |= 1 << (i % 64)
}

func (b bitset) has(i int) bool { return i/64 < len(b) && b[i/64]&(1<<(i%64)) != 0 }

func (b *bitset) or(o bitset) {
	for len(*b) < len(o) {
		*b = append(*b, 0)
	}
	for i, w := range o {
		(*b)[i] |= w
	}
}

type simConfig struct {
	clients    int
	actors     int  // replicas, each the coordinator with its own actor
	steps      int  // operations per run
	tombstones bool // some DPUTs are deletes
}

// simWrite is one acknowledged write.
type simWrite struct {
	sib Sibling // as created by Update
	anc bitset  // the writes its client had observed: exactly those it may replace
}

type simReplica struct {
	actor Actor
	ss    Siblings
	known bitset // writes this replica has received, closed under anc
}

type simClient struct {
	ctx     VV     // context of the last DGET
	seen    bitset // writes known to the replica of the last DGET
	pending bool   // a DGET whose DPUT has not happened yet
	last    int    // replica that coordinated the client's last write, or -1
}

type sim struct {
	t       testing.TB
	r       *rand.Rand
	cfg     simConfig
	writes  []simWrite
	byDot   map[Dot]int
	reps    []*simReplica
	clients []*simClient
	writers int   // clients that have written at least once
	maxSibs int   // most siblings seen on one replica
	clock   int64 // wall clock, which may step back a little
	states  []Siblings
}

func newSim(t testing.TB, r *rand.Rand, cfg simConfig) *sim {
	s := &sim{t: t, r: r, cfg: cfg, byDot: map[Dot]int{}, clock: 1000}
	for i := range cfg.actors {
		// Actors are not in replica order, so that dot order and
		// replica order differ.
		s.reps = append(s.reps, &simReplica{actor: Actor(uint64(cfg.actors-i) * 0x9e3779b97f4a7c15)})
	}
	for range cfg.clients {
		s.clients = append(s.clients, &simClient{last: -1})
	}
	return s
}

// run performs cfg.steps random operations, checking the model after each.
func (s *sim) run() {
	for range s.cfg.steps {
		ci := s.r.IntN(len(s.clients))
		switch x := s.r.IntN(10); {
		case x < 4:
			s.dget(ci, s.r.IntN(len(s.reps)))
		case x < 8 && s.clients[ci].pending:
			s.dput(ci, s.r.IntN(len(s.reps)))
		case x < 8:
			s.dget(ci, s.r.IntN(len(s.reps)))
		default:
			i, j := s.r.IntN(len(s.reps)), s.r.IntN(len(s.reps))
			if i != j {
				s.sync(i, j, s.r.IntN(2) == 0)
			}
		}
	}
}

// dget reads replica ri for client ci. The replica first receives the
// client's last write (read-your-writes, as R+W>N quorums provide).
func (s *sim) dget(ci, ri int) {
	c, rep := s.clients[ci], s.reps[ri]
	if c.last >= 0 && c.last != ri {
		s.sync(ri, c.last, false)
	}
	c.ctx = rep.ss.Context()
	c.seen = slices.Clone(rep.known)
	c.pending = true
	for id, w := range s.writes {
		require.Equal(s.t, c.seen.has(id), c.ctx.Covers(w.sib.Dot),
			"context %v of replica %d and the model disagree on write %v", c.ctx, ri, w.sib.Dot)
	}
}

// dput writes for client ci, with the context of its last DGET, at
// coordinator ri.
func (s *sim) dput(ci, ri int) {
	t := s.t
	c, rep := s.clients[ci], s.reps[ri]
	before := rep.ss
	beforeCopy := canonSibs(before)
	s.clock += s.r.Int64N(5) - 2
	ts := s.clock
	tomb := s.cfg.tombstones && s.r.IntN(4) == 0
	value := fmt.Appendf(nil, "c%d.w%d", ci, len(s.writes))

	after := Update(before, rep.actor, c.ctx, ts, value, tomb)

	require.Equal(t, beforeCopy, canonSibs(before), "Update modified its input")
	checkInvariants(t, after)
	var added []Sibling
	for _, sib := range after {
		if _, ok := slices.BinarySearchFunc(before, sib.Dot, func(x Sibling, d Dot) int { return x.Dot.Compare(d) }); !ok {
			added = append(added, sib)
		}
	}
	require.Len(t, added, 1, "Update must add exactly one sibling")
	nw := added[0]
	_, reissued := s.byDot[nw.Dot]
	require.False(t, reissued, "dot %v issued twice", nw.Dot)
	require.Equal(t, rep.actor, nw.Dot.Actor)
	require.Greater(t, nw.Dot.Counter, before.Context().Get(rep.actor), "new dot not above the counters the key knows")
	require.Greater(t, nw.Dot.Counter, c.ctx.Get(rep.actor), "new dot not above the context's counter")
	require.Equal(t, canonVV(c.ctx), canonVV(nw.Past))
	require.Equal(t, tomb, nw.Tombstone)
	if tomb {
		require.Nil(t, nw.Value)
	} else {
		require.Equal(t, value, nw.Value)
	}

	// Exactly the siblings the client had observed are replaced.
	dropped, allCovered := 0, true
	for _, old := range before {
		kept := slices.ContainsFunc(after, func(x Sibling) bool { return x.Dot == old.Dot })
		observed := c.seen.has(s.byDot[old.Dot])
		require.Equal(t, observed, !kept, "sibling %v: observed by the writer=%v, kept=%v", old.Dot, observed, kept)
		require.Equal(t, c.ctx.Covers(old.Dot), !kept)
		if !kept {
			dropped++
			require.Greater(t, nw.Timestamp, old.Timestamp, "successor's timestamp not above the replaced sibling's")
		}
		allCovered = allCovered && !kept
	}
	require.GreaterOrEqual(t, nw.Timestamp, ts)
	if dropped == 0 {
		require.Equal(t, ts, nw.Timestamp, "timestamp raised with nothing replaced")
	}
	if allCovered {
		require.Len(t, after, 1, "a context covering every sibling must leave exactly one")
	}

	id := len(s.writes)
	s.writes = append(s.writes, simWrite{sib: nw, anc: slices.Clone(c.seen)})
	s.byDot[nw.Dot] = id
	rep.ss = after
	rep.known.or(c.seen)
	rep.known.set(id)
	if c.last < 0 {
		s.writers++
	}
	c.pending, c.last = false, ri
	s.check(ri)
}

// sync sends replica j's set to replica i, and i's back to j if both.
func (s *sim) sync(i, j int, both bool) {
	t := s.t
	a, b := s.reps[i].ss, s.reps[j].ss
	ac, bc := canonSibs(a), canonSibs(b)
	ab, ba := Sync(a, b), Sync(b, a)
	require.Equal(t, ac, canonSibs(a), "Sync modified its first argument")
	require.Equal(t, bc, canonSibs(b), "Sync modified its second argument")
	require.Equal(t, dotsOf(ab), dotsOf(ba), "Sync not commutative")
	require.Equal(t, dotsOf(ab), dotsOf(Sync(ab, ab)), "Sync not idempotent")
	require.Equal(t, dotsOf(ab), dotsOf(Sync(ab, a)), "Sync(Sync(a, b), a) != Sync(a, b)")
	require.Equal(t, dotsOf(ab), dotsOf(Sync(b, ab)), "Sync(b, Sync(a, b)) != Sync(a, b)")
	s.reps[i].ss = ab
	s.reps[i].known.or(s.reps[j].known)
	if both {
		s.reps[j].ss = ba
		s.reps[j].known = slices.Clone(s.reps[i].known)
		s.check(j)
	}
	s.check(i)
}

// check compares replica ri with the model: its siblings are exactly the
// writes it knows that no write it knows replaced, each unchanged.
func (s *sim) check(ri int) {
	t := s.t
	rep := s.reps[ri]
	checkInvariants(t, rep.ss)
	var replaced bitset
	for id := range s.writes {
		if rep.known.has(id) {
			replaced.or(s.writes[id].anc)
		}
	}
	var want []Dot
	for id, w := range s.writes {
		if rep.known.has(id) && !replaced.has(id) {
			want = append(want, w.sib.Dot)
		}
	}
	slices.SortFunc(want, Dot.Compare)
	require.Equal(t, want, dotsOf(rep.ss), "replica %d: siblings are not the writes it knows less those replaced", ri)
	for _, sib := range rep.ss {
		require.Equal(t, canonSibs(Siblings{s.writes[s.byDot[sib.Dot]].sib}), canonSibs(Siblings{sib}), "sibling %v changed", sib.Dot)
	}
	require.LessOrEqual(t, len(rep.ss), s.writers, "replica %d: more siblings than clients that wrote", ri)
	s.maxSibs = max(s.maxSibs, len(rep.ss))
	require.LessOrEqual(t, len(rep.ss.Live()), len(s.clients), "replica %d: sibling explosion", ri)
	if len(s.states) < 64 || s.r.IntN(8) == 0 {
		s.states = append(s.states, rep.ss)
	}
}

// converge syncs every replica with every other.
func (s *sim) converge() {
	for i := 1; i < len(s.reps); i++ {
		s.sync(0, i, false)
	}
	for i := 1; i < len(s.reps); i++ {
		s.sync(i, 0, false)
	}
	for i := range s.reps {
		require.Equal(s.t, dotsOf(s.reps[0].ss), dotsOf(s.reps[i].ss), "replicas did not converge")
	}
}

var simConfigs = []struct {
	name string
	cfg  simConfig
}{
	// The shopping-cart case: two clients, each DGET then DPUT with its
	// context, interleaved on one key.
	{name: "two clients one coordinator", cfg: simConfig{clients: 2, actors: 1, steps: 400}},
	{name: "one client three coordinators", cfg: simConfig{clients: 1, actors: 3, steps: 300}},
	{name: "three clients one coordinator with deletes", cfg: simConfig{clients: 3, actors: 1, steps: 400, tombstones: true}},
	{name: "two clients three coordinators", cfg: simConfig{clients: 2, actors: 3, steps: 400}},
	{name: "six clients two coordinators with deletes", cfg: simConfig{clients: 6, actors: 2, steps: 500, tombstones: true}},
	{name: "five clients three coordinators with deletes", cfg: simConfig{clients: 5, actors: 3, steps: 500, tombstones: true}},
}

// TestSiblings_Simulation runs the model: no acknowledged write is ever
// lost (a write leaves a replica's siblings only when a write whose client
// had observed it arrives), siblings never outnumber the clients that write,
// and a DPUT whose context covers every sibling leaves exactly one.
func TestSiblings_Simulation(t *testing.T) {
	r := newRand(t)
	for _, tc := range simConfigs {
		t.Run(tc.name, func(t *testing.T) {
			for range 8 {
				s := newSim(t, r, tc.cfg)
				s.run()
				t.Logf("%d writes, at most %d siblings on a replica", len(s.writes), s.maxSibs)
				s.converge()
				if tc.cfg.clients == 1 {
					for _, rep := range s.reps {
						require.LessOrEqual(t, len(rep.ss), 1, "a single client that reads its writes never makes siblings")
					}
				}
				// A final DGET sees every write; its DPUT collapses all.
				s.dget(0, 0)
				k := s.r.IntN(len(s.reps))
				s.dput(0, k)
				require.Len(t, s.reps[k].ss, 1)
			}
		})
	}
}

// TestSiblings_LockstepClients is the shopping-cart case without randomness:
// two clients DGET, then both DPUT with what they read, many times.
func TestSiblings_LockstepClients(t *testing.T) {
	tests := []struct {
		name    string
		clients int
	}{
		{name: "two clients", clients: 2},
		{name: "five clients", clients: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const actor = Actor(7)
			var ss Siblings
			ts := int64(0)
			for round := range 100 {
				ctxs := make([]VV, tt.clients)
				for c := range ctxs {
					ctxs[c] = ss.Context()
				}
				for c, ctx := range ctxs {
					ts++
					ss = Update(ss, actor, ctx, ts, fmt.Appendf(nil, "r%d.c%d", round, c), false)
					require.LessOrEqual(t, len(ss), tt.clients, "round %d: sibling explosion", round)
				}
				require.Len(t, ss, tt.clients, "round %d: every client's write survives until read", round)
			}
			ss = Update(ss, actor, ss.Context(), ts+1, []byte("resolved"), false)
			require.Len(t, ss, 1)
			require.Equal(t, []string{"resolved"}, liveValues(ss))
		})
	}
}

// TestSync_Laws checks commutativity, associativity and idempotence of Sync
// on states reached by the simulation (causally consistent ones), and that
// Sync equals the reference: the union less every sibling that a sibling of
// the union was written over.
func TestSync_Laws(t *testing.T) {
	r := newRand(t)
	for _, tc := range simConfigs {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, r, tc.cfg)
			s.run()
			st := s.states
			require.NotEmpty(t, st)
			for range 2000 {
				a, b, c := st[r.IntN(len(st))], st[r.IntN(len(st))], st[r.IntN(len(st))]
				ab := Sync(a, b)
				require.Equal(t, refSync(a, b), dotsOf(ab))
				require.Equal(t, dotsOf(ab), dotsOf(Sync(b, a)), "not commutative")
				require.Equal(t, dotsOf(a), dotsOf(Sync(a, a)), "not idempotent")
				require.Equal(t, dotsOf(a), dotsOf(Sync(a, nil)), "empty set is not the identity")
				require.Equal(t, dotsOf(Sync(ab, c)), dotsOf(Sync(a, Sync(b, c))), "not associative")
				checkInvariants(t, ab)
			}
		})
	}
}

// refSync is union minus covered, over dots.
func refSync(a, b Siblings) []Dot {
	union := map[Dot]Sibling{}
	for _, s := range slices.Concat(a, b) {
		union[s.Dot] = s
	}
	var out []Dot
	for d := range union {
		covered := false
		for _, o := range union {
			covered = covered || o.Past.Covers(d)
		}
		if !covered {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, Dot.Compare)
	return out
}
