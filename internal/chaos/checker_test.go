package chaos

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/internal/history"
)

// TestJudge_ClassifiesItems runs the checker on a made-up history and final
// state with one item of every class.
func TestJudge_ClassifiesItems(t *testing.T) {
	at := time.Unix(0, 0)
	op := func(cart int, item string, sent bool, o history.Outcome) history.Op {
		return history.Op{Key: string(cartKey(cart)), Item: item, Sent: sent, Outcome: o, Start: at, End: at}
	}
	ops := []history.Op{
		op(0, "kept", true, history.OK),
		op(0, "lost", true, history.OK),
		op(0, "half", true, history.OK), // present in one final read only
		op(0, "recovered", true, history.Indeterminate),
		op(0, "failed-present", true, history.Failed),
		op(0, "failed-absent", true, history.Failed),
		op(0, "never-sent", false, history.Failed),
		op(1, "other-cart", true, history.OK),
	}
	set := func(items ...string) map[string]bool {
		m := map[string]bool{}
		for _, it := range items {
			m[it] = true
		}
		return m
	}
	final := [][]map[string]bool{
		{
			set("kept", "half", "recovered", "failed-present", "never-sent", "other-cart", "invented"),
			set("kept", "recovered", "failed-present", "never-sent", "other-cart", "invented"),
		},
		{set("other-cart"), set("other-cart")},
	}
	res := &Result{}
	judge(res, ops, final)
	var lost, recovered []string
	for _, op := range res.Lost {
		lost = append(lost, op.Item)
	}
	for _, op := range res.Recovered {
		recovered = append(recovered, op.Item)
	}
	require.Equal(t, []string{"lost", "half"}, lost)
	require.Equal(t, []string{"recovered", "failed-present"}, recovered)
	require.Equal(t, []string{"cart:0/invented", "cart:0/never-sent", "cart:0/other-cart"}, res.Unexpected)
}

// TestJudge_NoFinalReadLosesEverything: a cart that could not be read at
// the end counts every acknowledged add to it as lost.
func TestJudge_NoFinalReadLosesEverything(t *testing.T) {
	res := &Result{}
	judge(res, []history.Op{{Key: string(cartKey(0)), Item: "a", Sent: true, Outcome: history.OK}}, [][]map[string]bool{nil})
	require.Len(t, res.Lost, 1)
}

func TestTally_AvailabilityPerFault(t *testing.T) {
	t0 := time.Unix(100, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	res := &Result{Faults: []FaultRecord{
		{Fault: Fault{Kind: Isolate, Minority: []string{"n1"}}, Start: at(10), End: at(20)},
	}}
	ops := []history.Op{
		{Node: "n0", Start: at(0), End: at(5), Outcome: history.OK},       // calm
		{Node: "n0", Start: at(8), End: at(11), Outcome: history.OK},      // overlaps the fault's start
		{Node: "n1", Start: at(12), End: at(13), Outcome: history.Failed}, // minority side
		{Node: "n2", Start: at(14), End: at(15), Outcome: history.OK},     // majority side
		{Node: "n2", Start: at(19), End: at(25), Outcome: history.Failed}, // overlaps the fault's end
		{Node: "n2", Start: at(20), End: at(21), Outcome: history.Failed}, // after: calm
	}
	tally(res, ops)
	require.Equal(t, 6, res.Ops)
	require.Equal(t, 3, res.OK)
	a := res.Availability[Isolate]
	require.Equal(t, history.Avail{Ops: 4, OK: 2, MajorityOps: 3, MajorityOK: 2}, a)
	require.Equal(t, a, res.DuringFaults)
	require.Equal(t, history.Avail{Ops: 2, OK: 1, MajorityOps: 2, MajorityOK: 1}, res.Calm)
}

// TestSchedule_SeedReplays: the same seed draws the same faults; another
// seed draws others.
func TestSchedule_SeedReplays(t *testing.T) {
	ids := []string{"node-0", "node-1", "node-2", "node-3", "node-4"}
	homes := [][]string{{"node-0", "node-1", "node-2"}, {"node-2", "node-3", "node-4"}}
	kinds := map[Kind]bool{}
	draw := func(seed uint64) []string {
		cfg := DefaultConfig()
		cfg.Seed = seed
		s := newSchedule(cfg, ids, homes)
		var out []string
		for range 50 {
			f := s.next()
			require.LessOrEqual(t, len(f.Minority), 3)
			kinds[f.Kind] = true
			out = append(out, f.Kind.String()+": "+f.Desc)
		}
		return out
	}
	a := draw(7)
	require.Len(t, kinds, int(numKinds), "50 draws use every kind")
	require.Equal(t, a, draw(7))
	require.NotEqual(t, a, draw(8))
}

func TestParseKinds(t *testing.T) {
	ks, err := ParseKinds("kill, power-loss,halves+kill")
	require.NoError(t, err)
	require.Equal(t, []Kind{Kill, PowerLoss, HalvesKill}, ks)
	_, err = ParseKinds("kill,meteor")
	require.ErrorContains(t, err, `"meteor"`)
	for _, k := range Kinds() {
		got, err := ParseKinds(k.String())
		require.NoError(t, err)
		require.Equal(t, []Kind{k}, got)
	}
}

func TestConfig_Validate(t *testing.T) {
	require.NoError(t, DefaultConfig().Validate())
	for name, mut := range map[string]func(*Config){
		"nodes":      func(c *Config) { c.Nodes = 2 },
		"faults":     func(c *Config) { c.Nodes = 3 },
		"carts":      func(c *Config) { c.Carts = 0 },
		"clients":    func(c *Config) { c.ClientsPerCart = 0 },
		"unbounded":  func(c *Config) { c.Ops = 0 },
		"op timeout": func(c *Config) { c.OpTimeout = 0 },
		"fault ops":  func(c *Config) { c.FaultOps = 0 },
		"rounds":     func(c *Config) { c.MaxRounds = 0 },
		"quorum":     func(c *Config) { c.Coordinator.W = 4 },
		"workload":   func(c *Config) { c.Workload = "" },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := DefaultConfig()
			mut(&cfg)
			require.Error(t, cfg.Validate())
		})
	}
	cfg := DefaultConfig()
	cfg.Nodes, cfg.Kinds = 3, []Kind{}
	require.NoError(t, cfg.Validate(), "three nodes without faults")
}
