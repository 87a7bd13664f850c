package resp

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/admin"
	"github.com/dynkv/dynkv/ring"
)

// joinPlan is the plan of b joining a one-node ring of a over 4 partitions
// with one replica each: a gives b half of its partitions.
func joinPlan(t *testing.T) (ring.Plan, []int) {
	t.Helper()
	from, err := ring.New(4, ring.Node{ID: "a", Weight: 1})
	require.NoError(t, err)
	to, err := ring.New(4, ring.Node{ID: "a", Weight: 1}, ring.Node{ID: "b", Weight: 1})
	require.NoError(t, err)
	pl := ring.PlanChange(from, to, 1)
	return pl, to.Claims()["b"]
}

func TestRingPlan_Reply(t *testing.T) {
	pl, moved := joinPlan(t)
	require.Len(t, moved, 2)
	var moves []string
	for _, p := range moved {
		moves = append(moves, arr(intReply(p), arr(bulk("a")), arr(bulk("b"))))
	}
	// a claims 4 then 2, gains no replica and loses 2; b claims 0 then 2
	// and gains 2.
	want := arr(
		arr(arr(bulk("a"), intReply(4), intReply(2), intReply(0), intReply(2)),
			arr(bulk("b"), intReply(0), intReply(2), intReply(2), intReply(0))),
		arr(moves...))
	tests := []struct {
		args []string
		call string
	}{
		{[]string{"RING", "PLAN", "JOIN", "b"}, "plan join b 1"},
		{[]string{"ring", "plan", "join", "b", "3"}, "plan join b 3"},
		{[]string{"RING", "PLAN", "LEAVE", "b"}, "plan leave b 0"},
		{[]string{"RING", "LEAVE", "b"}, "leave b"},
		{[]string{"RING", "JOIN", "10.0.0.1:7946", "10.0.0.2:7946"}, "join 10.0.0.1:7946 10.0.0.2:7946"},
	}
	for _, tt := range tests {
		t.Run(tt.call, func(t *testing.T) {
			cl := threeNodes()
			cl.plan = pl
			tc := newClusterClient(t, busyStats(), cl)
			require.Equal(t, want, tc.do(tt.args...))
			require.Equal(t, []string{tt.call}, cl.calls)
		})
	}
}

func TestRingPlan_Refused(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"reason", fmt.Errorf("ring: node n9: not a member"), "ERR node n9: not a member"},
		{"wrapped sentinel", fmt.Errorf("%w: %v", ring.ErrNoSeed, "1 error occurred:\n\t* dial refused\n\n"),
			"ERR no seed reachable: 1 error occurred: * dial refused"},
		{"other package", errors.New("join: already in a ring"), "ERR join: already in a ring"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := threeNodes()
			cl.err = tt.err
			tc := newClusterClient(t, busyStats(), cl)
			for _, args := range [][]string{{"RING", "PLAN", "LEAVE", "n9"}, {"RING", "LEAVE", "n9"}, {"RING", "JOIN", "h:1"}} {
				require.Equal(t, errReply(tt.want), tc.do(args...), "%v", args)
			}
			require.Len(t, cl.calls, 3)
		})
	}
}

// TestRingPlan_NeedsAuth: the membership commands run only for an
// authenticated client; before AUTH they reach nothing.
func TestRingPlan_NeedsAuth(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RequirePass = "pw"
	e := newTestEnv(t, cfg)
	cl := threeNodes()
	cl.plan, _ = joinPlan(t)
	setCluster(e.s, cl)
	tc := e.client()
	for _, args := range [][]string{
		{"RING", "PLAN", "LEAVE", "n3"}, {"RING", "PLAN", "JOIN", "n4"}, {"RING", "LEAVE", "n3"}, {"RING", "JOIN", "h:1"},
	} {
		require.Equal(t, errReply("NOAUTH Authentication required."), tc.do(args...), "%v", args)
	}
	require.Empty(t, cl.calls)
	require.Equal(t, okReply, tc.do("AUTH", "pw"))
	require.Equal(t, "*2\r\n", tc.do("RING", "LEAVE", "n3")[:4])
	require.Equal(t, []string{"leave n3"}, cl.calls)
}

// TestRing_Transfer: while a transfer is under way, RING and INFO cluster
// show who joins, who leaves and who is ready.
func TestRing_Transfer(t *testing.T) {
	// a alone, then b joins and c joins, with one replica per partition:
	// b and c gain partitions and have not said they are ready.
	st := ring.State{Q: 8, Events: []ring.Event{
		{Stamp: 1, Node: "a", Kind: ring.EventJoin, Weight: 1},
		{Stamp: 2, Node: "b", Kind: ring.EventJoin, Weight: 1},
		{Stamp: 3, Node: "c", Kind: ring.EventJoin, Weight: 1},
		{Stamp: 4, Node: "c", Kind: ring.EventReady, Target: 3},
	}}
	active, err := st.Active(1)
	require.NoError(t, err)
	require.NotNil(t, active.Next(), "b is not ready: the transfer is pending")
	cl := &fakeCluster{self: "a", state: st, active: active, members: []admin.Member{
		{ID: "a", Alive: true, Partitions: 8, Target: 3, Ready: true},
		{ID: "b", Alive: true, Partitions: 0, Target: 3, Joining: true},
		{ID: "c", Alive: false, Partitions: 0, Target: 2, Joining: true, Ready: true},
	}}
	tc := newClusterClient(t, busyStats(), cl)
	entry := func(id, status string, partitions, self, target int, state string, ready int) string {
		return arr(bulk(id), bulk(status), bulk(""), bulk(""), intReply(partitions), intReply(self),
			intReply(target), bulk(state), intReply(ready))
	}
	require.Equal(t, arr(
		entry("a", "alive", 8, 1, 3, "member", 1),
		entry("b", "alive", 0, 0, 3, "joining", 0),
		entry("c", "down", 0, 0, 2, "joining", 1),
	), tc.do("RING"))
	info := infoText(t, tc, "cluster")
	require.Contains(t, info, "ring_version:4\r\nring_transfer_pending:1\r\n")
	require.Contains(t, info, "members:3\r\nmembers_alive:2\r\nmembers_joining:2\r\nmembers_leaving:0\r\npartitions_owned:8\r\n")

	cl.members = []admin.Member{{ID: "a", Alive: true, Partitions: 8, Target: 0, Leaving: true, Ready: true}}
	require.Equal(t, arr(entry("a", "alive", 8, 1, 0, "leaving", 1)), tc.do("RING", "MEMBERS"))
	require.Contains(t, infoText(t, tc, "cluster"), "members_joining:0\r\nmembers_leaving:1\r\n")
}

// TestRingPlan_Membership runs the membership commands against a real
// one-node ring.Membership: refused changes change nothing, a plan commits
// nothing.
func TestRingPlan_Membership(t *testing.T) {
	cfg := ring.DefaultGossipConfig()
	cfg.NodeID, cfg.Listen, cfg.Local, cfg.Partitions = "solo", "127.0.0.1:0", true, 8
	m, err := ring.Join(cfg, nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	tc := newClusterClient(t, busyStats(), m)
	before := m.State()

	v, rest := parseReply(t, tc.do("RING", "PLAN", "JOIN", "n2"))
	require.Empty(t, rest)
	plan := v.([]respValue)
	// With N=3 and two nodes, n2 becomes a replica of every partition.
	require.Equal(t, []respValue{
		[]respValue{"n2", int64(0), int64(4), int64(8), int64(0)},
		[]respValue{"solo", int64(8), int64(4), int64(0), int64(0)},
	}, plan[0])
	require.Len(t, plan[1], 8, "every partition gains a replica")
	for i, mv := range plan[1].([]respValue) {
		e := mv.([]respValue)
		require.Equal(t, int64(i), e[0])
		require.Equal(t, []respValue{"solo"}, e[1])
		require.ElementsMatch(t, []respValue{"solo", "n2"}, e[2])
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"RING", "LEAVE", "solo"}, "ERR node solo: the last member cannot leave"},
		{[]string{"RING", "LEAVE", "ghost"}, "ERR node ghost: not a member"},
		{[]string{"RING", "PLAN", "LEAVE", "ghost"}, "ERR node ghost: not a member"},
		{[]string{"RING", "PLAN", "JOIN", "solo"}, "ERR node solo: already a member"},
		{[]string{"RING", "JOIN", "nonsense"}, `ERR join: "nonsense" is not host:port`},
	} {
		require.Equal(t, errReply(tt.want), tc.do(tt.args...), "%v", tt.args)
	}
	require.Equal(t, before, m.State(), "nothing changed")
	require.Nil(t, m.Ring().Next(), "no transfer")
}

// FuzzRingAdmin sends RING with arbitrary arguments to a server whose
// Cluster accepts every change. No input panics or becomes an internal
// error, every reply parses, and the Cluster is reached only by a
// well-formed PLAN, LEAVE or JOIN.
func FuzzRingAdmin(f *testing.F) {
	for _, seed := range []string{"PLAN LEAVE n1", "PLAN JOIN n4 2", "PLAN JOIN n4 -1", "LEAVE n1", "JOIN h:1 h:2",
		"PLAN", "PLAN MOVE x", "plan join x 99999999999999999999", "KEY a", "MEMBERS", "HELP", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := []string{"RING"}
		if line != "" {
			args = append(args, strings.Split(line, " ")...)
		}
		cl := threeNodes()
		cl.plan, _ = joinPlan(t)
		tc := newClusterClient(t, busyStats(), cl)
		v, rest := parseReply(t, tc.do(args...))
		require.Empty(t, rest)
		if e, ok := v.(respError); ok {
			require.NotEqual(t, respError(errInternal), e, "%q", args)
			require.Empty(t, cl.calls, "%q: refused, yet reached the cluster", args)
			return
		}
		if len(cl.calls) > 0 {
			require.Len(t, cl.calls, 1)
			require.Len(t, v, 2, "a plan is [nodes, moves]")
		}
	})
}

// TestRingForget: RING FORGET reaches the cluster with the node; a refusal
// is an ERR with the reason; without a cluster it is refused.
func TestRingForget(t *testing.T) {
	cl := threeNodes()
	tc := newClusterClient(t, busyStats(), cl)
	require.Equal(t, "+OK\r\n", tc.do("RING", "FORGET", "n9"))
	require.Equal(t, []string{"forget n9"}, cl.calls)
	cl.err = fmt.Errorf("ring: node n1: is a member; it must leave first")
	require.Equal(t, "-ERR node n1: is a member; it must leave first\r\n", tc.do("RING", "FORGET", "n1"))
	require.Equal(t, "-ERR wrong number of arguments for 'ring|forget' command\r\n", tc.do("RING", "FORGET"))
	solo := newDefaultEnv(t).client()
	require.Equal(t, "-ERR this node is not in a cluster (start it with cluster settings)\r\n", solo.do("RING", "FORGET", "n9"))
}
