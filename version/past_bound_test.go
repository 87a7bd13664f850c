package version

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWrite_HistoryOfManyActorsStaysBounded: a key written in turn by
// thousands of actors (nodes drawing new actors after crashes and
// handoffs), each write covering what it read as a plain SET does, never
// grows a Past beyond MaxPastEntries and always fits a record.
func TestWrite_HistoryOfManyActorsStaysBounded(t *testing.T) {
	var cur Siblings
	for i := range 5000 {
		actor := Actor(1000 + i)
		cur = Update(cur, actor, cur.Context(), int64(i), []byte("v"), i%7 == 6)
		require.Len(t, cur, 1)
		require.LessOrEqual(t, len(cur[0].Past), MaxPastEntries, "write %d", i)
		require.True(t, cur.Fits(), "write %d", i)
		_, err := DecodeRecord(EncodeRecord(cur))
		require.NoError(t, err)
	}
	// The newest actors are the ones kept (counters here grow with i).
	require.Equal(t, Actor(1000+4998), cur[0].Past[len(cur[0].Past)-1].Actor)
}

// TestWrite_BoundedPastReplacesExactlyWhatItCovers: a write over a long
// history still replaces every sibling its context covers and keeps the
// concurrent one it did not read, whatever entries the bound drops.
func TestWrite_BoundedPastReplacesExactlyWhatItCovers(t *testing.T) {
	var cur Siblings
	for i := range 3 * MaxPastEntries {
		cur = Update(cur, Actor(100+i), cur.Context(), int64(i), []byte("old"), false)
	}
	read := cur.Context()
	// Two writes on other replicas, concurrent with the read: one by an
	// actor the history names, one by a new actor.
	concurrent := Update(cur, Actor(100), read, 1000, []byte("mine"), false)
	other := Update(cur, Actor(99), read, 1001, []byte("theirs"), false)
	merged := Sync(concurrent, other)
	require.Len(t, merged, 2)

	// A client that read only "mine" writes with that context.
	next := Update(merged, Actor(7), concurrent.Context(), 2000, []byte("new"), false)
	require.LessOrEqual(t, len(next[len(next)-1].Past), MaxPastEntries+2)
	var values []string
	for _, s := range next {
		values = append(values, string(s.Value))
	}
	require.ElementsMatch(t, []string{"theirs", "new"}, values, "the unread sibling stays, the read one is replaced")

	// Replicas that saw only part of it converge on the same set.
	require.Equal(t, next, Sync(next, merged))
	require.Equal(t, next, Sync(Sync(other, concurrent), next))
}

// TestWrite_DroppedEntryNeverLosesAWrite: a stale replica still holding a
// version whose actor the bound dropped from the history shows it again as
// a sibling of the newer write (kept longer, never lost), and plain reads
// still see the newer write.
func TestWrite_DroppedEntryNeverLosesAWrite(t *testing.T) {
	stale := Update(nil, Actor(1), nil, 1, []byte("first"), false) // a replica that misses everything after
	cur := stale
	for i := range MaxPastEntries + 10 {
		cur = Update(cur, Actor(100+i), cur.Context(), int64(10+i), []byte("later"), false)
	}
	require.False(t, cur[0].Past.Covers(stale[0].Dot), "the oldest entry is the one dropped")
	merged := Sync(stale, cur)
	require.Len(t, merged, 2, "the old version is shown again, not lost")
	v, ok := merged.Value()
	require.True(t, ok)
	require.Equal(t, "later", string(v))
	// The next write that reads both replaces both.
	next := Update(merged, Actor(5), merged.Context(), 1000, []byte("z"), false)
	require.Len(t, next, 1)
}

// TestWrite_KeepsEntriesOfReplacedAndKeptActors: the entries the bound
// keeps include the actors of every current sibling and the writer's own.
func TestWrite_KeepsEntriesOfReplacedAndKeptActors(t *testing.T) {
	ctx := VV{}
	for i := range 2 * MaxPastEntries {
		ctx = ctx.With(Dot{Actor: Actor(10 + i), Counter: uint64(1000 + i)})
	}
	cur := Siblings{{Dot: Dot{Actor: 10, Counter: 1000}, Timestamp: 1, Value: []byte("a")}} // the oldest entry's own version
	out := Write(cur, Dot{Actor: 11, Counter: 5000}, ctx, 2, []byte("b"), false)
	require.Len(t, out, 1)
	past := out[0].Past
	require.Len(t, past, MaxPastEntries)
	require.True(t, past.Covers(Dot{Actor: 10, Counter: 1000}), "the replaced sibling's actor is kept")
	require.Equal(t, uint64(1001), past.Get(11), "the writer's own entry is kept")
	require.Equal(t, uint64(1000+2*MaxPastEntries-1), past.Get(Actor(10+2*MaxPastEntries-1)), "the newest others are kept")
	require.Zero(t, past.Get(12), "the oldest others are dropped")
}
