package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/admin"
	"github.com/dynkv/dynkv/ring"
)

// run runs dynkv with args and returns its exit code, stdout and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := execute(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// halfPlan is the plan of b joining a one-node ring of a over 4
// partitions with one replica each: a gives b half of its partitions.
func halfPlan(t *testing.T) ring.Plan {
	t.Helper()
	st := ring.State{Q: 4, Events: []ring.Event{{Stamp: 1, Node: "a", Kind: ring.EventJoin, Weight: 1}}}
	from, err := st.Ring()
	require.NoError(t, err)
	to, err := st.With(ring.Event{Stamp: 2, Node: "b", Kind: ring.EventJoin, Weight: 1}).Ring()
	require.NoError(t, err)
	pl := ring.PlanChange(from, to, 1)
	require.Len(t, pl.Moves, 2)
	return pl
}

// planTable is the table dynkv prints for a plan: the header, rows, and
// the count of partitions changing replicas ("2 of 4").
func planTable(moving string, rows ...string) string {
	return "NODE  PARTITIONS  GAINED  LOST\n" + strings.Join(rows, "\n") + "\n" +
		"partitions changing replicas: " + moving + " (GAINED, LOST: partitions a node becomes, stops being a replica of)\n"
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func TestLeave(t *testing.T) {
	t.Setenv(passwordEnv, "")
	pl := halfPlan(t)
	table := planTable("2 of 4", "a     4 -> 2      0       2", "b     0 -> 2      2       0")
	moves := "PARTITION  BEFORE  AFTER\n"
	for _, mv := range pl.Moves {
		moves += fmt.Sprintf("%-11d%-8s%s\n", mv.Partition, "a", "b")
	}
	tests := []struct {
		name  string
		args  []string
		call  string
		want  string
		moves bool
	}{
		{name: "commit", args: []string{"leave", "b"}, call: "leave b",
			want: table + "committed: b is leaving; it keeps its partitions until their new homes have their data (see dynkv ring)\n"},
		{name: "dry run", args: []string{"leave", "--dry-run", "b"}, call: "plan leave b 0",
			want: table + "dry run: nothing changed\n"},
		{name: "verbose", args: []string{"leave", "b", "-v", "--dry-run"}, call: "plan leave b 0",
			want: table + moves + "dry run: nothing changed\n"},
		{name: "join", args: []string{"join", "10.0.0.1:7946", "10.0.0.2:7946"}, call: "join 10.0.0.1:7946 10.0.0.2:7946",
			want: table + "committed: the node at ADDR joined; it owns its partitions once it has their data (see dynkv ring)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := &fakeRingCluster{self: "a", plan: pl}
			addr := serveRing(t, "", func(string) ring.AdminSource { return cl })
			code, out, errs := run(t, append(tt.args, "--addr", addr)...)
			require.Equal(t, 0, code, errs)
			require.Empty(t, errs)
			require.Equal(t, strings.ReplaceAll(tt.want, "ADDR", addr), out)
			require.Equal(t, []string{tt.call}, cl.calls())
		})
	}
}

func TestLeave_Errors(t *testing.T) {
	t.Setenv(passwordEnv, "")
	refusing := &fakeRingCluster{self: "a", err: errors.New("ring: node n9: not a member")}
	refuses := serveRing(t, "", func(string) ring.AdminSource { return refusing })
	solo := serveRing(t, "", nil)
	locked := &fakeRingCluster{self: "a", plan: halfPlan(t)}
	guarded := serveRing(t, "pw", func(string) ring.AdminSource { return locked })
	closed := closedAddr(t)
	tests := []struct {
		name string
		args []string
		code int
		want string // stderr
	}{
		{"refused", []string{"leave", "n9", "--addr", refuses}, 1, "dynkv: leave: " + refuses + ": ERR node n9: not a member\n"},
		{"refused join", []string{"join", "h:1", "--addr", refuses}, 1, "dynkv: join: " + refuses + ": ERR node n9: not a member\n"},
		{"not a cluster", []string{"leave", "n1", "--addr", solo}, 1,
			"dynkv: leave: " + solo + ": ERR this node is not in a cluster (start it with cluster settings)\n"},
		{"needs password", []string{"leave", "b", "--addr", guarded}, 1,
			"dynkv: leave: " + guarded + " requires a password: give it with --password or REDISCLI_AUTH\n"},
		{"wrong password", []string{"join", "h:1", "--addr", guarded, "--password", "no"}, 1,
			"dynkv: join: " + guarded + " refused the password\n"},
		{"unreachable", []string{"leave", "b", "--addr", closed}, 1, "dynkv: leave: cannot reach a node at " + closed + ": "},
		{"no node", []string{"leave"}, 2, "dynkv: leave: want one node ID, got 0 arguments\n"},
		{"two nodes", []string{"leave", "a", "b"}, 2, "dynkv: leave: want one node ID, got 2 arguments\n"},
		{"bad addr", []string{"leave", "a", "--addr", "nohost"}, 2, "dynkv: addr: \"nohost\" is not host:port\n"},
		{"no seed", []string{"join"}, 2, "dynkv: join: want the gossip address of at least one seed\n"},
		{"bad seed", []string{"join", "h:1", "h2"}, 2, "dynkv: join: seed \"h2\" is not host:port\n"},
		{"join has no dry run", []string{"join", "h:1", "--dry-run"}, 2, "dynkv: unknown flag: --dry-run\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := run(t, tt.args...)
			require.Equal(t, tt.code, code, "stdout %q stderr %q", out, errs)
			require.Empty(t, out)
			if strings.HasSuffix(tt.want, "\n") {
				require.Equal(t, tt.want, errs)
			} else {
				require.True(t, strings.HasPrefix(errs, tt.want), errs)
			}
		})
	}
	require.Len(t, refusing.calls(), 2)
	require.Empty(t, locked.calls(), "nothing reached the cluster without the password")
	code, out, errs := run(t, "leave", "b", "--addr", guarded, "--password", "pw")
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "committed: b is leaving")
	require.Equal(t, []string{"leave b"}, locked.calls())
}

// fakeAE reports fixed anti-entropy stats.
type fakeAE struct{ st admin.AntiEntropyStats }

func (f fakeAE) Stats() admin.AntiEntropyStats { return f.st }

func (f fakeAE) Roots(context.Context) ([]admin.PartitionRoot, error) { return nil, nil }

// TestRing_Transfer: while a transfer is under way dynkv ring shows each
// member's target and state, and asks the members that gain data for
// their progress; one that does not answer, or cannot be asked, shows "-".
func TestRing_Transfer(t *testing.T) {
	t.Setenv(passwordEnv, "")
	// n2 and n3 join a ring of n1 with one replica per partition; neither
	// has said it is ready, so the transfer is pending.
	st := ring.State{Q: 8, Events: []ring.Event{
		{Stamp: 1, Node: "n1", Kind: ring.EventJoin, Weight: 1},
		{Stamp: 2, Node: "n2", Kind: ring.EventJoin, Weight: 1},
		{Stamp: 3, Node: "n3", Kind: ring.EventJoin, Weight: 1},
	}}
	active, err := st.Active(1)
	require.NoError(t, err)
	require.NotNil(t, active.Next())
	n2 := serveNode(t, "", nil, fakeAE{admin.AntiEntropyStats{Transfer: admin.TransferStats{
		Pending: true, Stamp: 3, Total: 3, Done: 1, Keys: 500, KeysPerSecond: 250}}})
	down := closedAddr(t)
	var n1 string
	n1 = serveNode(t, "", func(addr string) ring.AdminSource {
		return &fakeRingCluster{self: "n1", state: st, active: active, members: []admin.Member{
			{ID: "n1", Alive: true, ClientAddr: addr, Partitions: 8, Target: 3, Ready: true},
			{ID: "n2", Alive: true, ClientAddr: n2, Partitions: 0, Target: 3, Joining: true},
			{ID: "n3", Alive: false, ClientAddr: down, Partitions: 0, Target: 2, Joining: true},
			{ID: "n4", Alive: false, ClientAddr: down, Partitions: 0, Target: 0, Leaving: true, Ready: true},
			{ID: "n5", Alive: false, Partitions: 0, Target: 0, Joining: true},
		}}
	}, fakeAE{admin.AntiEntropyStats{Transfer: admin.TransferStats{Pending: true, Stamp: 3, Ready: true}}})
	code, out, errs := runRing(t, "--addr", n1)
	require.Equal(t, 0, code, errs)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 10, out)
	require.Equal(t, []string{"n1*", "alive", n1, "-", "8", "3", "member", "yes"}, strings.Fields(lines[1]))
	require.Equal(t, []string{"n2", "alive", n2, "-", "0", "3", "joining", "no"}, strings.Fields(lines[2]))
	require.Equal(t, []string{"n3", "down", down, "-", "0", "2", "joining", "no"}, strings.Fields(lines[3]))
	require.Equal(t, []string{"n4", "down", down, "-", "0", "0", "leaving", "yes"}, strings.Fields(lines[4]))
	require.Equal(t, []string{"n5", "down", "-", "-", "0", "0", "joining", "no"}, strings.Fields(lines[5]))
	require.Equal(t, "ring version: 3  partitions: 8  members: 5 (2 alive)  transfer: pending", lines[6])
	require.Equal(t, "transfer to n2: partitions 1/3, 250.0 keys/s", lines[7])
	require.Equal(t, "transfer to n3: -", lines[8])
	require.Equal(t, "transfer to n5: -", lines[9], "no client address gossiped")
}

// startMember starts a real ring.Membership on loopback (8 partitions, one
// replica each, so that every change has a gainer) behind a RESP server
// and returns both; seeds nil makes a one-node ring.
func startMember(t *testing.T, id string, seeds []string) (*ring.Membership, string) {
	t.Helper()
	var m *ring.Membership
	addr := serveRing(t, "", func(addr string) ring.AdminSource {
		cfg := ring.DefaultGossipConfig()
		cfg.NodeID, cfg.Listen, cfg.Local, cfg.Partitions, cfg.Replicas = id, "127.0.0.1:0", true, 8, 1
		cfg.Seeds, cfg.ClientAddr, cfg.PeerAddr = seeds, addr, "127.0.0.1:1"
		var err error
		m, err = ring.Join(cfg, nil, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = m.Close() }) // after the server's Close
		return m
	})
	return m, addr
}

// members returns the IDs m sees, sorted, each with ":joining" or
// ":leaving" when it is.
func members(m *ring.Membership) []string {
	var out []string
	for _, x := range m.Members() {
		id := x.ID
		if x.Joining {
			id += ":joining"
		}
		if x.Leaving {
			id += ":leaving"
		}
		out = append(out, id)
	}
	return out
}

// ringFields runs dynkv ring --addr addr and returns its lines split into
// fields.
func ringFields(t *testing.T, addr string) [][]string {
	t.Helper()
	code, out, errs := runRing(t, "--addr", addr)
	require.Equal(t, 0, code, errs)
	var lines [][]string
	for l := range strings.SplitSeq(strings.TrimSuffix(out, "\n"), "\n") {
		lines = append(lines, strings.Fields(l))
	}
	return lines
}

// TestJoinLeave_Membership: a node alone in its ring joins a cluster with
// dynkv join, owns its partitions once it says it is ready, and leaves
// with dynkv leave; dynkv ring shows each step.
func TestJoinLeave_Membership(t *testing.T) {
	t.Setenv(passwordEnv, "")
	a, aAddr := startMember(t, "a", nil)
	b, bAddr := startMember(t, "b", nil)
	const wait, tick = 10 * time.Second, 10 * time.Millisecond

	code, out, errs := run(t, "join", "--addr", bAddr, a.Addr())
	require.Equal(t, 0, code, errs)
	require.Equal(t, planTable("4 of 8", "a     8 -> 4      0       4", "b     0 -> 4      4       0")+
		"committed: the node at "+bAddr+" joined; it owns its partitions once it has their data (see dynkv ring)\n", out)
	require.Eventually(t, func() bool { return len(a.Members()) == 2 }, wait, tick, "a learns of b by gossip")
	require.Equal(t, []string{"a", "b:joining"}, members(a))

	lines := ringFields(t, aAddr)
	require.Equal(t, []string{"b", "alive", bAddr, "127.0.0.1:1", "0", "4", "joining", "no"}, lines[2])
	require.Equal(t, "transfer: pending", strings.Join(lines[3][len(lines[3])-2:], " "))
	// b's server has no anti-entropy: it answers without transfer fields.
	require.Equal(t, "transfer to b: partitions -/-, - keys/s", strings.Join(lines[4], " "))

	b.Ready(b.Ring().NextStamp(), b.Ring().Next().Digest()) // what b's anti-entropy does once it has pulled its data
	require.Eventually(t, func() bool { return a.Ring().Next() == nil }, wait, tick, "a sees b ready")
	require.Equal(t, []string{"a", "b"}, members(a))

	// A refused leave changes nothing.
	before := a.State()
	code, _, errs = run(t, "leave", "--addr", aAddr, "ghost")
	require.Equal(t, 1, code)
	require.Equal(t, "dynkv: leave: "+aAddr+": ERR node ghost: not a member\n", errs)
	code, _, _ = run(t, "leave", "--addr", aAddr, "--dry-run", "b")
	require.Equal(t, 0, code)
	require.Equal(t, before, a.State(), "neither a refused leave nor a dry run changes the ring")

	// a leaves, asked through a itself: b gains a's partitions.
	code, out, errs = run(t, "leave", "--addr", aAddr, "a")
	require.Equal(t, 0, code, errs)
	require.Equal(t, planTable("4 of 8", "a     4 -> 0      0       4", "b     4 -> 8      4       0")+
		"committed: a is leaving; it keeps its partitions until their new homes have their data (see dynkv ring)\n", out)
	require.Equal(t, []string{"a:leaving", "b"}, members(a), "a keeps its partitions until b has their data")
	lines = ringFields(t, aAddr)
	require.Equal(t, []string{"a*", "alive", aAddr, "127.0.0.1:1", "4", "0", "leaving", "yes"}, lines[1])
	require.Equal(t, []string{"b", "alive", bAddr, "127.0.0.1:1", "4", "8", "member", "no"}, lines[2])

	require.Eventually(t, func() bool { return b.Ring().Next() != nil }, wait, tick, "b learns of the leave")
	b.Ready(b.Ring().NextStamp(), b.Ring().Next().Digest())
	require.Eventually(t, func() bool { return a.Ring().Next() == nil }, wait, tick, "a sees b ready")
	lines = ringFields(t, aAddr)
	require.Len(t, lines, 3)
	require.Equal(t, []string{"b", "alive", bAddr, "127.0.0.1:1", "8", "8", "member", "yes"}, lines[1])
	require.Equal(t, "ring version: 5 partitions: 8 members: 1 (1 alive)", strings.Join(lines[2], " "))
}

// TestLeave_BackToAnEarlierRing: b joins a, owns its partitions, then
// leaves. The ring after the leave equals the ring before the join, but a
// no longer holds what was written to b's partitions meanwhile: a must not
// own them again before it has received them.
func TestLeave_BackToAnEarlierRing(t *testing.T) {
	a, _ := startMember(t, "a", nil)
	b, _ := startMember(t, "b", []string{a.Addr()})
	const wait, tick = 10 * time.Second, 10 * time.Millisecond
	require.Eventually(t, func() bool { return len(a.Members()) == 2 && b.Ring() != nil && b.Ring().Next() != nil }, wait, tick)
	b.Ready(b.Ring().NextStamp(), b.Ring().Next().Digest())
	require.Eventually(t, func() bool { return a.Ring().Next() == nil }, wait, tick, "b owns its partitions")
	_, err := a.Leave("b")
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b:leaving"}, members(a), "b keeps its partitions until a has their data")
}

// replyTree builds a go-redis style reply (string, int64, nil or []any)
// from fuzz bytes: a tag byte picks the kind, the next byte its size.
func replyTree(b []byte, depth int) (any, []byte) {
	if len(b) < 2 {
		return nil, nil
	}
	tag, n, b := b[0]%4, int(b[1]), b[2:]
	switch {
	case tag == 0:
		n = min(n%8, len(b))
		return string(b[:n]), b[n:]
	case tag == 1:
		return int64(n) - 128, b
	case tag == 2 && depth < 4:
		arr := make([]any, n%7)
		for i := range arr {
			arr[i], b = replyTree(b, depth+1)
		}
		return arr, b
	}
	return nil, b
}

// FuzzParseReplies feeds arbitrary reply shapes to the decoders of RING and
// plan replies: they must not panic, and what they accept must print.
func FuzzParseReplies(f *testing.F) {
	f.Add([]byte{2, 2, 2, 1, 2, 5, 0, 1, 'a', 1, 4, 1, 2, 1, 0, 1, 2, 2, 0})
	f.Add([]byte{2, 1, 2, 9, 0, 2, 'n', '1', 0, 5, 'a', 'l', 'i', 'v', 'e', 0, 0, 0, 0, 1, 8, 1, 129, 1, 130, 0, 6, 'm', 'e', 'm', 'b', 'e', 'r', 1, 129})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, _ := replyTree(b, 0)
		if pl, err := parsePlan(v); err == nil {
			require.NoError(t, pl.write(io.Discard, true))
		}
		if ms, err := parseRing(v); err == nil {
			require.NoError(t, ringView{members: ms, info: map[string]string{}}.write(io.Discard))
		}
	})
}

// TestLeave_Nodes runs dynkv leave against three whole nodes (runNode:
// store, gossip, peers, coordinator, anti-entropy, RESP) on loopback.
func TestLeave_Nodes(t *testing.T) {
	t.Setenv(passwordEnv, "")
	seed := closedAddr(t) // a's gossip address, free again
	start := func(id, gossip string, seeds []string) string {
		cfg := testConfig(t)
		cfg.Node.ID = id
		cfg.Gossip.Listen, cfg.Gossip.Seeds, cfg.Gossip.Local, cfg.Gossip.Partitions = gossip, seeds, true, 16
		return startRunNode(t, cfg).addr
	}
	a := start("a", seed, nil)
	b := start("b", "127.0.0.1:0", []string{seed})
	start("c", "127.0.0.1:0", []string{seed})
	view := func(addr string) ringView {
		ctx, cancel := context.WithTimeout(context.Background(), ringTimeout)
		defer cancel()
		v, err := fetchRing(ctx, addr, "")
		if err != nil {
			return ringView{}
		}
		return v
	}
	const wait, tick = 20 * time.Second, 20 * time.Millisecond
	require.Eventually(t, func() bool {
		v := view(a)
		if len(v.members) != 3 || v.members[2].id != "c" {
			return false
		}
		for _, m := range v.members {
			if m.status != "alive" || m.state != "member" {
				return false
			}
		}
		return true
	}, wait, tick, "a sees b and c alive, their transfers complete (anti-entropy marks them ready)")

	before := view(a).members[2]
	code, out, errs := run(t, "leave", "c", "--dry-run", "--addr", a)
	require.Equal(t, 0, code, errs)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 6, out)
	row := strings.Fields(lines[3])
	require.Equal(t, []string{"c", "->", "0"}, []string{row[0], row[2], row[3]}, out)
	require.Equal(t, "dry run: nothing changed", lines[5])
	after := view(a).members[2]
	require.Equal(t, []any{before.state, before.target}, []any{after.state, after.target}, "a dry run changes nothing")
	require.NotEqual(t, "leaving", after.state)

	code, out, errs = run(t, "leave", "c", "--addr", b) // through another member
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "committed: c is leaving")
	require.Eventually(t, func() bool {
		ms := view(a).members
		gone := len(ms) == 2
		leaving := len(ms) == 3 && ms[2].state == "leaving" && ms[2].target == 0
		return gone || leaving
	}, wait, tick, "a learns of the leave by gossip")

	code, _, errs = run(t, "leave", "c", "--addr", a)
	require.Equal(t, 1, code)
	require.Equal(t, "dynkv: leave: "+a+": ERR node c: not a member\n", errs)
}
