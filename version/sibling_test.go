package version

import (
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// sib is shorthand for a value sibling in tables.
func valSib(a Actor, n uint64, past VV, ts int64, v string) Sibling {
	return Sibling{Dot: Dot{a, n}, Past: past, Timestamp: ts, Value: []byte(v)}
}

func tombSib(a Actor, n uint64, past VV, ts int64) Sibling {
	return Sibling{Dot: Dot{a, n}, Past: past, Timestamp: ts, Tombstone: true}
}

func TestUpdate_Table(t *testing.T) {
	const a, b = Actor(1), Actor(2)
	tests := []struct {
		name      string
		cur       Siblings
		actor     Actor
		ctx       VV
		ts        int64
		value     string
		tombstone bool
		want      Siblings
	}{
		{
			name: "first write", actor: a, ts: 10, value: "x",
			want: Siblings{valSib(a, 1, nil, 10, "x")},
		},
		{
			name:  "empty context keeps everything",
			cur:   Siblings{valSib(a, 1, nil, 10, "x")},
			actor: a, ts: 11, value: "y",
			want: Siblings{valSib(a, 1, nil, 10, "x"), valSib(a, 2, nil, 11, "y")},
		},
		{
			name:  "context of the read replaces it",
			cur:   Siblings{valSib(a, 1, nil, 10, "x")},
			actor: a, ctx: VV{{a, 1}}, ts: 11, value: "y",
			want: Siblings{valSib(a, 2, VV{{a, 1}}, 11, "y")},
		},
		{
			name:  "context covering some siblings keeps the concurrent ones",
			cur:   Siblings{valSib(a, 1, nil, 10, "x"), valSib(a, 2, nil, 12, "y"), valSib(b, 1, nil, 11, "z")},
			actor: b, ctx: VV{{a, 1}, {b, 1}}, ts: 20, value: "w",
			want: Siblings{valSib(a, 2, nil, 12, "y"), valSib(b, 2, VV{{a, 1}, {b, 1}}, 20, "w")},
		},
		{
			name:  "context covering all leaves one",
			cur:   Siblings{valSib(a, 2, VV{{a, 1}}, 10, "x"), valSib(b, 3, VV{{a, 1}, {b, 2}}, 11, "y")},
			actor: a, ctx: VV{{a, 2}, {b, 3}}, ts: 12, value: "xy",
			want: Siblings{valSib(a, 3, VV{{a, 2}, {b, 3}}, 12, "xy")},
		},
		{
			name:  "counter above the actor's dots in the pasts of siblings",
			cur:   Siblings{valSib(b, 1, VV{{a, 5}}, 10, "x")},
			actor: a, ts: 11, value: "y",
			want: Siblings{valSib(a, 6, nil, 11, "y"), valSib(b, 1, VV{{a, 5}}, 10, "x")},
		},
		{
			name:  "counter above the context's",
			cur:   Siblings{valSib(a, 1, nil, 10, "x")},
			actor: a, ctx: VV{{a, 9}}, ts: 11, value: "y",
			want: Siblings{valSib(a, 10, VV{{a, 9}}, 11, "y")},
		},
		{
			name:  "timestamp raised above a replaced sibling",
			cur:   Siblings{valSib(a, 1, nil, 100, "x"), valSib(b, 1, nil, 300, "late")},
			actor: a, ctx: VV{{a, 1}}, ts: 50, value: "y",
			want: Siblings{valSib(a, 2, VV{{a, 1}}, 101, "y"), valSib(b, 1, nil, 300, "late")},
		},
		{
			name:  "timestamp not raised above a kept sibling",
			cur:   Siblings{valSib(b, 1, nil, 300, "late")},
			actor: a, ts: 50, value: "y",
			want: Siblings{valSib(a, 1, nil, 50, "y"), valSib(b, 1, nil, 300, "late")},
		},
		{
			name:  "tombstone replaces and drops its value",
			cur:   Siblings{valSib(a, 1, nil, 10, "x")},
			actor: a, ctx: VV{{a, 1}}, ts: 11, value: "ignored", tombstone: true,
			want: Siblings{tombSib(a, 2, VV{{a, 1}}, 11)},
		},
		{
			name:  "write over a tombstone",
			cur:   Siblings{tombSib(a, 2, VV{{a, 1}}, 11)},
			actor: b, ctx: VV{{a, 2}}, ts: 12, value: "back",
			want: Siblings{valSib(b, 1, VV{{a, 2}}, 12, "back")},
		},
		{
			name:  "context from the future of another actor",
			cur:   Siblings{valSib(a, 1, nil, 10, "x")},
			actor: a, ctx: VV{{a, 1}, {b, 7}}, ts: 11, value: "y",
			want: Siblings{valSib(a, 2, VV{{a, 1}, {b, 7}}, 11, "y")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := canonSibs(tt.cur)
			got := Update(tt.cur, tt.actor, tt.ctx, tt.ts, []byte(tt.value), tt.tombstone)
			require.Equal(t, canonSibs(tt.want), canonSibs(got))
			require.Equal(t, cur, canonSibs(tt.cur), "Update modified cur")
			checkInvariants(t, got)
		})
	}
}

// TestUpdate_AnyContext checks Update with arbitrary contexts (not only
// those a read produced) on arbitrary valid sets: it drops exactly what the
// context covers, its dot is above every counter of its actor that the key
// or the context knows, and its timestamp above every replaced one.
func TestUpdate_AnyContext(t *testing.T) {
	r := newRand(t)
	for range 3000 {
		cur := randSiblings(r, r.IntN(6))
		ctx := randVV(r, 4, 7)
		actor := Actor(1 + r.IntN(5))
		ts := r.Int64N(20) - 5
		if r.IntN(10) == 0 {
			ts = math.MaxInt64 - 1 - r.Int64N(3)
		}
		tombstone := r.IntN(4) == 0
		curCopy, ctxCopy := canonSibs(cur), canonVV(ctx)

		got := Update(cur, actor, ctx, ts, []byte("v"), tombstone)

		require.Equal(t, curCopy, canonSibs(cur), "Update modified cur")
		require.Equal(t, ctxCopy, canonVV(ctx), "Update modified ctx")
		checkInvariants(t, got)
		var kept Siblings
		maxCounter := ctx.Get(actor)
		for _, s := range cur {
			maxCounter = max(maxCounter, s.Clock().Get(actor))
			if !ctx.Covers(s.Dot) {
				kept = append(kept, s)
			}
		}
		require.Len(t, got, len(kept)+1)
		var nw Sibling
		for _, s := range got {
			if !slices.ContainsFunc(kept, func(k Sibling) bool { return k.Dot == s.Dot }) {
				nw = s
			}
		}
		require.Equal(t, Dot{Actor: actor, Counter: maxCounter + 1}, nw.Dot, "cur %v, ctx %v", cur, ctx)
		require.Equal(t, canonSibs(kept), canonSibs(slices.DeleteFunc(slices.Clone(got), func(s Sibling) bool { return s.Dot == nw.Dot })))
		require.GreaterOrEqual(t, nw.Timestamp, ts)
		for _, s := range cur {
			if ctx.Covers(s.Dot) {
				require.Greater(t, nw.Timestamp, s.Timestamp, "successor not later than %v", s)
			}
		}
		require.True(t, nw.Clock().Descends(ctx))
	}
}

func TestSiblings_Context(t *testing.T) {
	const a, b, c = Actor(1), Actor(2), Actor(3)
	tests := []struct {
		name string
		ss   Siblings
		want VV
	}{
		{name: "empty", want: nil},
		{name: "one", ss: Siblings{valSib(a, 3, VV{{b, 1}}, 0, "x")}, want: VV{{a, 3}, {b, 1}}},
		{name: "join of clocks", ss: Siblings{valSib(a, 3, VV{{a, 1}, {b, 4}}, 0, "x"), valSib(c, 1, VV{{a, 2}, {b, 5}}, 0, "y")}, want: VV{{a, 3}, {b, 5}, {c, 1}}},
		{name: "tombstones count", ss: Siblings{tombSib(b, 2, VV{{a, 1}}, 0)}, want: VV{{a, 1}, {b, 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.ss.Context()
			require.Equal(t, canonVV(tt.want), canonVV(got))
			for _, s := range tt.ss {
				require.True(t, got.Covers(s.Dot))
				require.True(t, got.Descends(s.Past))
			}
		})
	}
}

func TestSiblings_LiveValueWinner(t *testing.T) {
	const a, b = Actor(1), Actor(2)
	tests := []struct {
		name      string
		ss        Siblings
		live      []string
		winner    Dot // zero: no winner
		value     string
		hasValue  bool
		tombstone bool
	}{
		{name: "empty"},
		{name: "one value", ss: Siblings{valSib(a, 1, nil, 5, "x")}, live: []string{"x"}, winner: Dot{a, 1}, value: "x", hasValue: true},
		{name: "empty value is present", ss: Siblings{valSib(a, 1, nil, 5, "")}, live: []string{""}, winner: Dot{a, 1}, value: "", hasValue: true},
		{name: "latest timestamp wins", ss: Siblings{valSib(a, 1, nil, 9, "old dot"), valSib(b, 1, nil, 5, "new dot")}, live: []string{"old dot", "new dot"}, winner: Dot{a, 1}, value: "old dot", hasValue: true},
		{name: "tie broken by larger dot", ss: Siblings{valSib(a, 7, nil, 5, "a"), valSib(b, 1, nil, 5, "b")}, live: []string{"a", "b"}, winner: Dot{b, 1}, value: "b", hasValue: true},
		{name: "tie broken by larger counter", ss: Siblings{valSib(a, 1, nil, 5, "one"), valSib(a, 2, nil, 5, "two")}, live: []string{"one", "two"}, winner: Dot{a, 2}, value: "two", hasValue: true},
		{name: "tombstone winner reads absent", ss: Siblings{valSib(a, 1, nil, 5, "x"), tombSib(b, 1, nil, 6)}, live: []string{"x"}, winner: Dot{b, 1}, tombstone: true},
		{name: "value beats older tombstone", ss: Siblings{tombSib(a, 1, nil, 5), valSib(b, 1, nil, 6, "x")}, live: []string{"x"}, winner: Dot{b, 1}, value: "x", hasValue: true},
		{name: "only tombstones", ss: Siblings{tombSib(a, 1, nil, 5), tombSib(b, 1, nil, 6)}, winner: Dot{b, 1}, tombstone: true},
		{name: "negative timestamps", ss: Siblings{valSib(a, 1, nil, -3, "x"), valSib(b, 1, nil, math.MinInt64, "y")}, live: []string{"x", "y"}, winner: Dot{a, 1}, value: "x", hasValue: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.live, liveValues(tt.ss))
			for _, s := range tt.ss.Live() {
				require.False(t, s.Tombstone)
			}
			w, ok := tt.ss.Winner()
			require.Equal(t, tt.winner != Dot{}, ok)
			require.Equal(t, tt.winner, w.Dot)
			require.Equal(t, tt.tombstone, w.Tombstone)
			v, ok := tt.ss.Value()
			require.Equal(t, tt.hasValue, ok)
			if ok {
				require.Equal(t, tt.value, string(v))
			} else {
				require.Nil(t, v)
			}
		})
	}
}

// TestSiblings_WinnerIndependentOfOrder shuffles sets: every replica must
// pick the same winner whatever order it holds the siblings in, and it is
// the maximum by (timestamp, dot).
func TestSiblings_WinnerIndependentOfOrder(t *testing.T) {
	r := newRand(t)
	for range 2000 {
		ss := randSiblings(r, 1+r.IntN(8))
		want, ok := ss.Winner()
		require.Equal(t, len(ss) > 0, ok)
		if !ok {
			continue
		}
		for _, s := range ss {
			require.False(t, s.Timestamp > want.Timestamp || (s.Timestamp == want.Timestamp && s.Dot.Compare(want.Dot) > 0),
				"%v beats the winner %v", s, want)
		}
		wantValue, wantOK := ss.Value()
		require.Equal(t, !want.Tombstone, wantOK)
		for range 5 {
			shuffled := slices.Clone(ss)
			r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			got, _ := shuffled.Winner()
			require.Equal(t, want.Dot, got.Dot)
			v, ok := shuffled.Value()
			require.Equal(t, wantOK, ok)
			require.Equal(t, wantValue, v)
		}
	}
}

func TestSameVersions(t *testing.T) {
	const a, b = Actor(1), Actor(2)
	tests := []struct {
		name string
		x, y Siblings
		want bool
	}{
		{name: "both empty", x: nil, y: Siblings{}, want: true},
		{name: "empty and one", x: nil, y: Siblings{valSib(a, 1, nil, 0, "x")}, want: false},
		{name: "same dots, other contents", x: Siblings{valSib(a, 1, nil, 0, "x")}, y: Siblings{tombSib(a, 1, VV{{b, 1}}, 9)}, want: true},
		{name: "different dots", x: Siblings{valSib(a, 1, nil, 0, "x")}, y: Siblings{valSib(a, 2, nil, 0, "x")}, want: false},
		{name: "subset", x: Siblings{valSib(a, 1, nil, 0, "x"), valSib(b, 1, nil, 0, "y")}, y: Siblings{valSib(b, 1, nil, 0, "y")}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, SameVersions(tt.x, tt.y))
			require.Equal(t, tt.want, SameVersions(tt.y, tt.x))
		})
	}
}

func TestSync_Table(t *testing.T) {
	const a, b = Actor(1), Actor(2)
	tests := []struct {
		name string
		x, y Siblings
		want Siblings
	}{
		{name: "both empty"},
		{name: "one side empty", x: Siblings{valSib(a, 1, nil, 1, "x")}, want: Siblings{valSib(a, 1, nil, 1, "x")}},
		{
			name: "concurrent writes both kept",
			x:    Siblings{valSib(a, 1, nil, 1, "x")},
			y:    Siblings{valSib(b, 1, nil, 2, "y")},
			want: Siblings{valSib(a, 1, nil, 1, "x"), valSib(b, 1, nil, 2, "y")},
		},
		{
			name: "successor replaces",
			x:    Siblings{valSib(a, 1, nil, 1, "x")},
			y:    Siblings{valSib(b, 1, VV{{a, 1}}, 2, "y")},
			want: Siblings{valSib(b, 1, VV{{a, 1}}, 2, "y")},
		},
		{
			name: "successor replaces only what its context covers",
			x:    Siblings{valSib(a, 1, nil, 1, "x"), valSib(a, 2, nil, 1, "x2")},
			y:    Siblings{valSib(b, 1, VV{{a, 1}}, 2, "y")},
			want: Siblings{valSib(a, 2, nil, 1, "x2"), valSib(b, 1, VV{{a, 1}}, 2, "y")},
		},
		{
			name: "tombstone replaces",
			x:    Siblings{valSib(a, 1, nil, 1, "x")},
			y:    Siblings{tombSib(a, 2, VV{{a, 1}}, 2)},
			want: Siblings{tombSib(a, 2, VV{{a, 1}}, 2)},
		},
		{
			name: "same dot, later timestamp kept",
			x:    Siblings{valSib(a, 1, nil, 1, "x")},
			y:    Siblings{valSib(a, 1, nil, 2, "y")},
			want: Siblings{valSib(a, 1, nil, 2, "y")},
		},
		{
			name: "same dot and timestamp, tombstone kept",
			x:    Siblings{valSib(a, 1, nil, 1, "x")},
			y:    Siblings{tombSib(a, 1, nil, 1)},
			want: Siblings{tombSib(a, 1, nil, 1)},
		},
		{
			name: "same dot and timestamp, larger value kept",
			x:    Siblings{valSib(a, 1, nil, 1, "x")},
			y:    Siblings{valSib(a, 1, nil, 1, "y")},
			want: Siblings{valSib(a, 1, nil, 1, "y")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, canonSibs(tt.want), canonSibs(Sync(tt.x, tt.y)))
			require.Equal(t, canonSibs(tt.want), canonSibs(Sync(tt.y, tt.x)), "not commutative")
		})
	}
}

// TestSync_ArbitrarySets checks Sync on sets that satisfy the Siblings
// invariants but need not be reachable, drawn from one pool so that a dot
// has one content: the result is the union less every sibling that a
// sibling of the union was written over, it is commutative and idempotent,
// and it never drops a sibling that no Past covers.
func TestSync_ArbitrarySets(t *testing.T) {
	r := newRand(t)
	for range 2000 {
		pool := randPool(r, 2+r.IntN(10))
		pick := func() Siblings {
			var out Siblings
			for _, s := range pool {
				if r.IntN(2) == 0 {
					out = append(out, s)
				}
			}
			return normalizeSibs(out)
		}
		a, b := pick(), pick()
		ac, bc := canonSibs(a), canonSibs(b)
		got := Sync(a, b)
		require.Equal(t, ac, canonSibs(a), "Sync modified a")
		require.Equal(t, bc, canonSibs(b), "Sync modified b")
		checkInvariants(t, got)
		require.Equal(t, refSync(a, b), dotsOf(got))
		require.Equal(t, canonSibs(got), canonSibs(Sync(b, a)))
		require.Equal(t, canonSibs(a), canonSibs(Sync(a, a)))
		union := slices.Concat(a, b)
		for _, s := range union {
			if !slices.ContainsFunc(union, func(o Sibling) bool { return o.Past.Covers(s.Dot) }) {
				require.True(t, slices.ContainsFunc(got, func(g Sibling) bool { return g.Dot == s.Dot }), "dropped %v", s.Dot)
			}
		}
	}
}
