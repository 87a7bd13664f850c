package jepsen

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/internal/history"
)

// TestJudge classifies one item of every kind, for carts and new keys.
func TestJudge(t *testing.T) {
	at := time.Unix(100, 0)
	op := func(w history.Workload, key, item string, sent bool, o history.Outcome) history.Op {
		return history.Op{Workload: w, Key: key, Item: item, Sent: sent, Outcome: o, Start: at, End: at.Add(time.Second)}
	}
	ops := []history.Op{
		op(history.Cart, "cart:0:0", "kept", true, history.OK),
		op(history.Cart, "cart:0:0", "lost", true, history.OK),
		op(history.Cart, "cart:0:0", "half", true, history.OK), // in one node's read only
		op(history.Cart, "cart:0:0", "recovered", true, history.Indeterminate),
		op(history.Cart, "cart:0:0", "failed-absent", true, history.Failed),
		op(history.Cart, "cart:0:0", "never-sent", false, history.Failed),
		op(history.Keys, "key:a", "a", true, history.OK),
		op(history.Keys, "key:b", "b", true, history.OK),            // lost
		op(history.Keys, "key:c", "c", true, history.Indeterminate), // recovered
		op(history.Keys, "key:d", "d", true, history.OK),            // holds a value never written
		op(history.LWW, "lww:0:0", "l1", true, history.OK),
		op(history.LWW, "lww:0:0", "l2", true, history.OK), // overwritten: lost
	}
	set := func(items ...string) map[string]bool {
		m := map[string]bool{}
		for _, it := range items {
			m[it] = true
		}
		return m
	}
	fr := finalRead{
		carts: map[string][]map[string]bool{
			"cart:0:0": {set("kept", "half", "recovered", "never-sent"), set("kept", "recovered", "never-sent", "invented")},
			"lww:0:0":  {set("l1"), set("l1")},
		},
		keys: map[string][]string{"key:a": {"a"}, "key:b": {}, "key:c": {"c"}, "key:d": {"d", "x"}},
	}
	rep := &Report{}
	judge(rep, ops, fr, 0, nil)
	cart, keys, lww := rep.Workloads[history.Cart], rep.Workloads[history.Keys], rep.Workloads[history.LWW]

	var lost []string
	for _, op := range cart.Lost {
		lost = append(lost, op.Item)
	}
	require.Equal(t, []string{"lost", "half"}, lost)
	require.Equal(t, []string{"cart:0:0/invented", "cart:0:0/never-sent"}, cart.Unexpected,
		"an item whose write was never sent cannot be there")
	require.Equal(t, 1, cart.Recovered)
	require.Equal(t, 6, cart.Ops)
	require.Equal(t, 3, cart.OK)

	require.Len(t, keys.Lost, 1)
	require.Equal(t, "key:b", keys.Lost[0].Key)
	require.Equal(t, []string{"key:d=x"}, keys.Unexpected)
	require.Equal(t, 1, keys.Recovered)

	require.Len(t, lww.Lost, 1)
	require.Empty(t, lww.Unexpected)

	rep.Config = DefaultConfig()
	rep.Converged, rep.RootsAgree = true, true
	rep.Availability = map[Kind]*history.Avail{}
	rep.evaluate()
	require.False(t, rep.Pass)
	require.Contains(t, rep.Reasons, "cart: 2 acknowledged writes lost")
	require.Contains(t, rep.Reasons, "keys: 1 acknowledged writes lost")
}

// TestEvaluate: a clean run passes; each broken promise fails it with a
// reason, including a control that lost nothing and low availability on
// the majority side of a minority fault.
func TestEvaluate(t *testing.T) {
	clean := func() *Report {
		return &Report{
			Config:     DefaultConfig(),
			Converged:  true,
			RootsAgree: true,
			Workloads: map[history.Workload]*WorkloadResult{
				history.Cart: {Ops: 10, OK: 10}, history.Keys: {Ops: 10, OK: 10}, history.LWW: {Ops: 10, OK: 10, Lost: []history.Op{{}}},
			},
			Availability: map[Kind]*history.Avail{Isolate: {Ops: 100, OK: 90, MajorityOps: 80, MajorityOK: 80}},
		}
	}
	r := clean()
	r.evaluate()
	require.True(t, r.Pass, "%v", r.Reasons)

	for name, tc := range map[string]struct {
		breakIt func(*Report)
		want    string
	}{
		"control lost nothing": {func(r *Report) { r.Workloads[history.LWW].Lost = nil }, "lww control lost nothing: can the checker see loss?"},
		"not converged":        {func(r *Report) { r.Converged, r.ConvergeNote = false, "x" }, "did not converge: x"},
		"read errors":          {func(r *Report) { r.ReadErrors = []string{"boom"} }, "1 final reads failed (first: boom)"},
		"roots differ":         {func(r *Report) { r.RootsAgree, r.RootsNote = false, "y" }, "replicas' Merkle roots differ: y"},
		"crash":                {func(r *Report) { r.Crashed = []string{"n2"} }, "nodes exited on their own: n2"},
		"unexpected":           {func(r *Report) { r.Workloads[history.Keys].Unexpected = []string{"k=v"} }, "keys: 1 unexpected values"},
		"nothing acked":        {func(r *Report) { r.Workloads[history.Cart].OK = 0 }, "cart: nothing acknowledged: the run checked nothing"},
		"majority unavailable": {func(r *Report) { r.Availability[Isolate].MajorityOK = 70 },
			"isolate: 87.50% of 80 operations on the majority side succeeded, want ≥ 99%"},
	} {
		t.Run(name, func(t *testing.T) {
			r := clean()
			tc.breakIt(r)
			r.evaluate()
			require.False(t, r.Pass)
			require.Equal(t, []string{tc.want}, r.Reasons)
		})
	}
	t.Run("bridge availability is not a criterion", func(t *testing.T) {
		r := clean()
		r.Availability[Bridge] = &history.Avail{Ops: 10, MajorityOps: 10}
		r.evaluate()
		require.True(t, r.Pass)
	})
}

// TestTally: an operation counts for every fault it overlapped, on the
// majority side when it went to a node outside the fault's minority, and
// as calm when it overlapped none. The control's operations do not count.
func TestTally(t *testing.T) {
	t0 := time.Unix(1000, 0)
	sec := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	rep := &Report{Faults: []FaultRecord{
		{Fault: Fault{Kind: Isolate}, Start: sec(10), End: sec(20), Minority: []string{"n1"}},
	}}
	ops := []history.Op{
		{Workload: history.Cart, Node: "n1", Start: sec(11), End: sec(12), Outcome: history.Indeterminate},
		{Workload: history.Cart, Node: "n2", Start: sec(9), End: sec(11), Outcome: history.OK},
		{Workload: history.Keys, Node: "n3", Start: sec(19), End: sec(21), Outcome: history.Failed},
		{Workload: history.Keys, Node: "n3", Start: sec(20), End: sec(21), Outcome: history.OK}, // after the fault
		{Workload: history.LWW, Node: "n3", Start: sec(12), End: sec(13), Outcome: history.Failed},
	}
	tally(rep, ops)
	require.Equal(t, history.Avail{Ops: 3, OK: 1, MajorityOps: 2, MajorityOK: 1}, *rep.Availability[Isolate])
	require.Equal(t, history.Avail{Ops: 1, OK: 1, MajorityOps: 1, MajorityOK: 1}, rep.Calm)
}

// TestSchedule: the schedule is a function of the seed, every kind comes
// round, and the sides of a partition are disjoint.
func TestSchedule(t *testing.T) {
	draw := func(seed uint64) []Fault {
		s := newSchedule(seed, append([]Kind(nil), Kinds...), 5, 3)
		var fs []Fault
		for range 3 * len(Kinds) {
			fs = append(fs, s.next())
		}
		return fs
	}
	a, b := draw(7), draw(7)
	require.Equal(t, a, b, "same seed, same schedule")
	require.NotEqual(t, a, draw(8))
	seen := map[Kind]int{}
	for _, f := range a {
		seen[f.Kind]++
		for _, x := range f.Nodes {
			require.NotContains(t, f.Other, x)
		}
		switch f.Kind {
		case Halves:
			require.Len(t, f.Nodes, 2, "the minority")
			require.Len(t, f.Other, 3)
		case Bridge:
			require.Len(t, f.Nodes, 2)
			require.Len(t, f.Other, 2, "the fifth node bridges")
		case Isolate, OneWay:
			require.Len(t, f.Nodes, 1)
			require.Len(t, f.Other, 4)
		case Kill, Pause, LeaveJoin:
			require.Len(t, f.Nodes, 1)
		}
	}
	for _, k := range Kinds {
		require.Equal(t, 3, seen[k], "%s comes round once per cycle", k)
	}
}

// TestRules renders the nftables script of a partition: only the cut
// directions, between the nodes' own addresses, replacing older rules.
func TestRules(t *testing.T) {
	a := []*node{{ip: "127.0.0.2"}}
	b := []*node{{ip: "127.0.0.3"}, {ip: "127.0.0.4"}}
	require.Equal(t, []cut{{"127.0.0.2", "127.0.0.3"}, {"127.0.0.3", "127.0.0.2"}, {"127.0.0.2", "127.0.0.4"}, {"127.0.0.4", "127.0.0.2"}},
		partition(a, b))
	require.Equal(t, []cut{{"127.0.0.2", "127.0.0.3"}, {"127.0.0.2", "127.0.0.4"}}, oneWay(a, b))
	require.Equal(t, `table ip dynkv_chaos
delete table ip dynkv_chaos
table ip dynkv_chaos {
	chain input {
		type filter hook input priority 0; policy accept;
		ip saddr 127.0.0.2 ip daddr 127.0.0.3 drop
	}
}
`, rules(oneWay(a, b[:1])))
	require.NotContains(t, rules(nil), "drop", "healing drops every rule")
}

// TestClassify: an error reply is a failure; no reply leaves the outcome
// unknown.
func TestClassify(t *testing.T) {
	o, _ := classify(nil)
	require.Equal(t, history.OK, o)
	o, msg := classify(replyErr("NOREPLICAS write needed 2 replicas, 1 answered"))
	require.Equal(t, history.Failed, o)
	require.Contains(t, msg, "NOREPLICAS")
	for _, err := range []error{errors.New("i/o timeout"), fmt.Errorf("read: %w", errTimeout{})} {
		o, _ := classify(err)
		require.Equal(t, history.Indeterminate, o, "%v", err)
	}
}

// replyErr is an error reply as go-redis reports one.
type replyErr string

func (e replyErr) Error() string { return string(e) }
func (replyErr) RedisError()     {}

var _ redis.Error = replyErr("")

type errTimeout struct{}

func (errTimeout) Error() string   { return "timeout" }
func (errTimeout) Timeout() bool   { return true }
func (errTimeout) Temporary() bool { return true }

// TestParseKinds accepts known kinds and "all", refuses the rest.
func TestParseKinds(t *testing.T) {
	ks, err := ParseKinds("kill, halves")
	require.NoError(t, err)
	require.Equal(t, []Kind{Kill, Halves}, ks)
	ks, err = ParseKinds("all")
	require.NoError(t, err)
	require.Equal(t, Kinds, ks)
	_, err = ParseKinds("kill,meteor")
	require.ErrorContains(t, err, `--faults: unknown fault "meteor"`)
}

// TestConfigValidate names the field at fault.
func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.Binary, ok.Dir = "dynkv", "/tmp/x"
	require.NoError(t, ok.Validate())
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Binary = "" }, "binary"},
		{func(c *Config) { c.Nodes = 2 }, "nodes"},
		{func(c *Config) { c.R = 4 }, "n, r, w"},
		{func(c *Config) { c.Hold = 0 }, "hold"},
		{func(c *Config) { c.Nodes, c.N = 4, 3 }, "needs at least 5 nodes"},
		{func(c *Config) { c.MinAvailability = 2 }, "min availability"},
	} {
		c := ok
		tc.mod(&c)
		require.ErrorContains(t, c.Validate(), tc.want)
	}
}

// TestItems: the stored form of a cart round-trips.
func TestItems(t *testing.T) {
	s := map[string]bool{}
	history.ParseItems(s, "b,a,,c")
	require.Equal(t, "a,b,c", history.FormatItems(s))
	history.ParseItems(s, "")
	require.Len(t, s, 3)
	require.Equal(t, "cart:{cart2}:1", cartKey(history.Cart, 2, 1))
}

// TestInfoField reads an integer field of an INFO reply.
func TestInfoField(t *testing.T) {
	info := "# Cluster\r\nhints_held:42\r\nhints_written:7\r\n"
	n, ok := infoField(info, "hints_held")
	require.True(t, ok)
	require.Equal(t, 42, n)
	_, ok = infoField(info, "nothing")
	require.False(t, ok)
}

// TestJudgeExpiry: a key whose expiry passed before the final reads must
// be absent, an acknowledged key whose expiry is after them present;
// between the two either is right; probes' findings are reported.
func TestJudgeExpiry(t *testing.T) {
	at := time.Unix(100, 0)
	keysOp := history.Op{Workload: history.Keys, Key: "key:k", Item: "k", Sent: true, Outcome: history.OK, Start: at, End: at}
	op := func(item string, ttl time.Duration, o history.Outcome) history.Op {
		return history.Op{Workload: history.Expiry, Key: expiryKey(item), Item: item, Sent: true, Outcome: o,
			Start: at, End: at.Add(10 * time.Millisecond), TTL: ttl}
	}
	ops := []history.Op{
		op("expired", time.Second, history.OK),                    // expired at 101.01s: must be gone
		op("resurrected", time.Second, history.OK),                // ... but is there
		op("alive", time.Hour, history.OK),                        // there
		op("lost", time.Hour, history.OK),                         // missing
		op("either", 5*time.Second, history.OK),                   // expires during the reads
		op("unacked", time.Hour, history.Indeterminate),           // there: recovered
		op("unacked-gone", time.Hour, history.Failed),             // missing: fine
		op("expired-unacked", time.Second, history.Indeterminate), // may have arrived late: recovered
		keysOp,
	}
	fr := finalRead{
		keys: map[string][]string{
			"key:k":              {"k"},
			expiryKey("expired"): {}, expiryKey("resurrected"): {"resurrected"}, expiryKey("alive"): {"alive"},
			expiryKey("lost"): {}, expiryKey("either"): {}, expiryKey("unacked"): {"unacked"},
			expiryKey("unacked-gone"): {}, expiryKey("expired-unacked"): {"expired-unacked", "invented"},
		},
		start: at.Add(3 * time.Second), end: at.Add(6 * time.Second),
	}
	rep := &Report{Config: DefaultConfig()}
	judge(rep, ops, fr, 7, []string{"exp:x=x read via n1 3ms after its expiry"})
	e := rep.Workloads[history.Expiry]
	require.Equal(t, 8, e.Ops)
	require.Len(t, e.Lost, 1)
	require.Equal(t, "lost", e.Lost[0].Item)
	require.Len(t, e.ReadAfterExpiry, 2, "the probe's and resurrected: %v", e.ReadAfterExpiry)
	require.Contains(t, e.ReadAfterExpiry[1], "exp:resurrected=resurrected in the final reads")
	require.Equal(t, []string{"exp:expired-unacked=invented"}, e.Unexpected)
	require.Equal(t, 7, e.Probes)
	require.Empty(t, rep.Workloads[history.Keys].Lost, "expiry keys are judged apart")
	require.Empty(t, rep.Workloads[history.Keys].Unexpected, "expiry keys are judged apart")

	rep.Converged, rep.RootsAgree = true, true
	rep.Availability = map[Kind]*history.Avail{}
	rep.evaluate()
	require.Equal(t, 2, e.Recovered)
	require.Contains(t, rep.Reasons, "expiry: 2 keys read after their expiry")
	require.Contains(t, rep.Reasons, "expiry: 1 acknowledged writes lost")
}
