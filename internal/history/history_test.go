package history_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/internal/history"
)

func set(items ...string) map[string]bool {
	m := map[string]bool{}
	for _, it := range items {
		m[it] = true
	}
	return m
}

// TestJudge_ClassifiesItems: one item of every class, on two keys.
func TestJudge_ClassifiesItems(t *testing.T) {
	op := func(key, item string, sent bool, o history.Outcome) history.Op {
		return history.Op{Key: key, Item: item, Sent: sent, Outcome: o}
	}
	ops := []history.Op{
		op("a", "kept", true, history.OK),
		op("a", "lost", true, history.OK),
		op("a", "half", true, history.OK), // in one read only
		op("a", "recovered", true, history.Indeterminate),
		op("a", "failed-absent", true, history.Failed),
		op("a", "never-sent", false, history.Failed),
		op("b", "other", true, history.OK),
		op("unread", "skipped", true, history.OK), // no entry: not judged
		op("failed", "gone", true, history.OK),    // an entry without reads: lost
	}
	v := history.Judge(ops, history.Reads{
		"a":      {set("kept", "half", "recovered", "never-sent", "other"), set("kept", "recovered", "never-sent", "invented")},
		"b":      {set("other")},
		"failed": nil,
	})
	var lost, recovered []string
	for _, op := range v.Lost {
		lost = append(lost, op.Item)
	}
	for _, op := range v.Recovered {
		recovered = append(recovered, op.Item)
	}
	require.Equal(t, []string{"lost", "half", "gone"}, lost)
	require.Equal(t, []string{"recovered"}, recovered)
	require.Equal(t, []history.Found{{"a", "invented"}, {"a", "never-sent"}, {"a", "other"}}, v.Unexpected)
	require.Equal(t, []string{"a/invented", "a/never-sent", "a/other"}, history.Format(v.Unexpected, "/"))
	require.Nil(t, history.Format(nil, "/"))
	require.Equal(t, history.Counts{Ops: 9, OK: 6, Failed: 2, Indeterminate: 1}, history.Count(ops))
}

// TestTally: an operation counts for every fault it overlapped, on the
// majority side when it went to a node outside the fault's minority, and
// as calm when it overlapped none.
func TestTally(t *testing.T) {
	t0 := time.Unix(100, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	spans := []history.Span[string]{
		{Kind: "isolate", Start: at(10), End: at(20), Minority: []string{"n1"}},
		{Kind: "kill", Start: at(18), End: at(30), Minority: []string{"n2"}},
	}
	ops := []history.Op{
		{Node: "n0", Start: at(0), End: at(5), Outcome: history.OK},              // calm
		{Node: "n1", Start: at(12), End: at(13), Outcome: history.Failed},        // isolate's minority
		{Node: "n2", Start: at(14), End: at(15), Outcome: history.OK},            // isolate's majority
		{Node: "n2", Start: at(19), End: at(21), Outcome: history.Indeterminate}, // both; kill's minority
		{Node: "n0", Start: at(30), End: at(31), Outcome: history.Failed},        // after: calm
	}
	av := history.Tally(ops, spans)
	require.Equal(t, history.Avail{Ops: 3, OK: 1, MajorityOps: 2, MajorityOK: 1}, *av.ByKind["isolate"])
	require.Equal(t, history.Avail{Ops: 1, OK: 0, MajorityOps: 0, MajorityOK: 0}, *av.ByKind["kill"])
	require.Equal(t, history.Avail{Ops: 4, OK: 1, MajorityOps: 2, MajorityOK: 1}, av.During)
	require.Equal(t, history.Avail{Ops: 2, OK: 1, MajorityOps: 2, MajorityOK: 1}, av.Calm)
	require.Equal(t, 0.5, av.Calm.Fraction())
	require.Equal(t, 1.0, history.Avail{}.MajorityFraction(), "no operations: nothing failed")
}

func TestItems_RoundTrip(t *testing.T) {
	s := map[string]bool{}
	history.ParseItems(s, "c1-2,c0-1,,c1-2")
	require.Equal(t, map[string]bool{"c0-1": true, "c1-2": true}, s)
	require.Equal(t, "c0-1,c1-2", history.FormatItems(s))
	require.Empty(t, history.FormatItems(map[string]bool{}))
}

func TestHistory_RecordsConcurrently(t *testing.T) {
	h := history.New()
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Go(func() {
			for i := range 100 {
				h.Record(history.Op{Client: c, Item: string(rune('a' + i%26))})
			}
		})
	}
	wg.Wait()
	require.Equal(t, 400, h.Len())
	require.Len(t, h.Ops(), 400)
	select {
	case <-h.Progress():
	default:
		t.Fatal("no progress signalled")
	}
}

func TestOutcome_String(t *testing.T) {
	require.Equal(t, "ok", history.OK.String())
	require.Equal(t, "failed", history.Failed.String())
	require.Equal(t, "indeterminate", history.Indeterminate.String())
	require.Equal(t, "outcome(7)", history.Outcome(7).String())
}
