package resp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/admin"
	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/hashslot"
	"github.com/dynkv/dynkv/replica"
	"github.com/dynkv/dynkv/ring"
	"github.com/dynkv/dynkv/version"
)

// fakeCluster is a Cluster with a fixed view. Its Changer records each
// call and answers with plan, or with err when set.
type fakeCluster struct {
	self    string
	members []admin.Member
	state   ring.State
	active  *ring.Ring // what Ring returns; nil: the ring of state

	plan  ring.Plan
	err   error
	calls []string // "plan join n4 2", "leave n3", "join h:1 h:2"
}

func (f *fakeCluster) Plan(e ring.Event) (ring.Plan, error) {
	f.calls = append(f.calls, fmt.Sprintf("plan %s %s %d", e.Kind, e.Node, e.Weight))
	return f.plan, f.err
}

func (f *fakeCluster) Leave(node string) (ring.Plan, error) {
	f.calls = append(f.calls, "leave "+node)
	return f.plan, f.err
}

func (f *fakeCluster) JoinCluster(seeds []string) (ring.Plan, error) {
	f.calls = append(f.calls, "join "+strings.Join(seeds, " "))
	return f.plan, f.err
}

func (f *fakeCluster) Forget(node string) error {
	f.calls = append(f.calls, "forget "+node)
	return f.err
}

func (f *fakeCluster) Self() string            { return f.self }
func (f *fakeCluster) Members() []admin.Member { return slices.Clone(f.members) }
func (f *fakeCluster) State() ring.State       { return f.state }
func (f *fakeCluster) Ring() *ring.Ring {
	if f.active != nil {
		return f.active
	}
	r, _ := f.state.Ring()
	return r
}

// threeNodes is n2's view of a three-node ring of 64 partitions at version
// 7 in which n3 is down and n1 has not gossiped its peer address yet. The
// members are out of order on purpose.
func threeNodes() *fakeCluster {
	return &fakeCluster{
		self: "n2",
		members: []admin.Member{
			{ID: "n3", Alive: false, ClientAddr: "10.0.0.3:6379", PeerAddr: "10.0.0.3:7379", Partitions: 21, Target: 21, Ready: true},
			{ID: "n1", Alive: true, ClientAddr: "10.0.0.1:6379", Partitions: 22, Target: 22, Ready: true},
			{ID: "n2", Alive: true, ClientAddr: "10.0.0.2:6379", PeerAddr: "10.0.0.2:7379", Partitions: 21, Target: 21, Ready: true},
		},
		state: ring.State{Q: 64, Events: []ring.Event{
			{Stamp: 1, Node: "n1", Kind: ring.EventJoin, Weight: 1},
			{Stamp: 4, Node: "n2", Kind: ring.EventJoin, Weight: 1},
			{Stamp: 7, Node: "n3", Kind: ring.EventJoin, Weight: 1},
		}},
	}
}

// statsBackend is a Backend and StoreStats with set counters; it serves no
// keys.
type statsBackend struct {
	co coordinator.Stats
	st admin.StoreStats
}

var errNoKeys = errors.New("statsBackend: no keys")

func (b *statsBackend) Get(context.Context, []byte, coordinator.ReadOptions) (version.Siblings, error) {
	return nil, errNoKeys
}

func (b *statsBackend) Put(context.Context, []byte, coordinator.Write) (version.Siblings, error) {
	return nil, errNoKeys
}

func (b *statsBackend) Stats() coordinator.Stats { return b.co }

func (b *statsBackend) Scan(context.Context, uint64, int) ([]coordinator.Record, uint64, error) {
	return nil, 0, errNoKeys
}

func (b *statsBackend) Flush(context.Context) (int, error) { return 0, errNoKeys }

func (b *statsBackend) FlushAsync() {}

// statsStore adapts statsBackend to StoreStats (Stats is taken by Backend).
type statsStore struct{ b *statsBackend }

func (s statsStore) Stats() admin.StoreStats { return s.b.st }

// newClusterClient returns a client of a server over b with cluster cl (nil
// for none).
func newClusterClient(t *testing.T, b *statsBackend, cl ring.AdminSource) *testClient {
	t.Helper()
	s, err := New(DefaultConfig(), b, statsStore{b}, testLogger(t))
	require.NoError(t, err)
	if cl != nil {
		setCluster(s, cl)
	}
	e := &testEnv{t: t, s: s}
	return e.client()
}

func busyStats() *statsBackend {
	return &statsBackend{
		co: coordinator.Stats{Reads: 100, Writes: 50, ReadRepairs: 3, Hinted: 9, HandedOff: 5, Forwarded: 11, Suspicions: 6, LateReplies: 2, Suspected: 1,
			N: 3, R: 2, W: 2, Replicas: 3, Members: 3},
		st: admin.StoreStats{Keys: 40, Hints: 4},
	}
}

func infoText(t *testing.T, tc *testClient, args ...string) string {
	t.Helper()
	v, _ := parseReply(t, tc.do(append([]string{"INFO"}, args...)...))
	s, ok := v.(string)
	require.True(t, ok, "INFO replied %v", v)
	return s
}

func TestInfoCluster(t *testing.T) {
	t.Run("members and counters", func(t *testing.T) {
		tc := newClusterClient(t, busyStats(), threeNodes())
		require.Equal(t, "# Cluster\r\n"+
			"cluster_enabled:1\r\ndynkv_cluster:1\r\n"+
			"node_id:n2\r\n"+
			"ring_version:7\r\n"+
			"ring_transfer_pending:0\r\n"+
			"partitions:64\r\n"+
			"members:3\r\n"+
			"members_alive:2\r\n"+
			"members_joining:0\r\n"+
			"members_leaving:0\r\n"+
			"partitions_owned:21\r\n"+
			"replicas:3\r\n"+
			"n:3\r\nr:2\r\nw:2\r\n"+
			"hints_held:4\r\n"+
			"hints_written:9\r\n"+
			"hints_handed_off:5\r\n"+
			"read_repairs:3\r\n"+
			"writes_forwarded:11\r\n"+
			"peers_suspected:1\r\n"+
			"peer_suspicions:6\r\n"+
			"peer_late_replies:2\r\n", infoText(t, tc, "cluster"))
	})
	t.Run("resetstat zeroes counters but not gauges", func(t *testing.T) {
		b := busyStats()
		tc := newClusterClient(t, b, threeNodes())
		require.Equal(t, okReply, tc.do("CONFIG", "RESETSTAT"))
		b.co.Hinted++
		info := infoText(t, tc, "CLUSTER")
		for _, want := range []string{"hints_written:1\r\n", "hints_handed_off:0\r\n", "read_repairs:0\r\n",
			"writes_forwarded:0\r\n", "peer_suspicions:0\r\n", "peer_late_replies:0\r\n", "peers_suspected:1\r\n", "hints_held:4\r\n", "members:3\r\n", "ring_version:7\r\n"} {
			require.Contains(t, info, want)
		}
	})
	t.Run("node that left the ring", func(t *testing.T) {
		cl := threeNodes()
		cl.self = "n4"
		info := infoText(t, newClusterClient(t, busyStats(), cl), "cluster")
		require.Contains(t, info, "node_id:n4\r\n")
		require.Contains(t, info, "partitions_owned:0\r\n")
	})
	t.Run("node id cannot break the format", func(t *testing.T) {
		cl := threeNodes()
		cl.self = "evil\r\nrole:slave"
		info := infoText(t, newClusterClient(t, busyStats(), cl), "cluster")
		require.Contains(t, info, "node_id:evil  role:slave\r\n")
		require.NotContains(t, info, "\r\nrole:")
	})
	t.Run("no cluster", func(t *testing.T) {
		e := newDefaultEnv(t) // a real one-node coordinator and store
		require.Equal(t, "# Cluster\r\n"+
			"cluster_enabled:1\r\ndynkv_cluster:0\r\nnode_id:local\r\nring_version:0\r\nring_transfer_pending:0\r\npartitions:1\r\n"+
			"members:1\r\nmembers_alive:1\r\nmembers_joining:0\r\nmembers_leaving:0\r\npartitions_owned:1\r\nreplicas:1\r\nn:3\r\nr:2\r\nw:2\r\n"+
			"hints_held:0\r\nhints_written:0\r\nhints_handed_off:0\r\nread_repairs:0\r\nwrites_forwarded:0\r\npeers_suspected:0\r\npeer_suspicions:0\r\npeer_late_replies:0\r\n",
			infoText(t, e.client(), "cluster"))
	})
	t.Run("in every default set", func(t *testing.T) {
		tc := newClusterClient(t, busyStats(), threeNodes())
		for _, args := range [][]string{nil, {"default"}, {"all"}, {"everything"}} {
			info := infoText(t, tc, args...)
			require.Contains(t, info, "\r\n# Cluster\r\ncluster_enabled:1\r\ndynkv_cluster:1\r\n", "INFO %v", args)
			require.Less(t, strings.Index(info, "# Replication"), strings.Index(info, "# Cluster"), "Redis's order")
			require.Less(t, strings.Index(info, "# Cluster"), strings.Index(info, "# Keyspace"), "Redis's order")
		}
	})
}

func TestRing(t *testing.T) {
	member := func(id, status, client, peer string, partitions, self int) string {
		return arr(bulk(id), bulk(status), bulk(client), bulk(peer), intReply(partitions), intReply(self),
			intReply(partitions), bulk("member"), intReply(1))
	}
	t.Run("members sorted by id", func(t *testing.T) {
		tc := newClusterClient(t, busyStats(), threeNodes())
		want := arr(
			member("n1", "alive", "10.0.0.1:6379", "", 22, 0),
			member("n2", "alive", "10.0.0.2:6379", "10.0.0.2:7379", 21, 1),
			member("n3", "down", "10.0.0.3:6379", "10.0.0.3:7379", 21, 0),
		)
		for _, args := range [][]string{{"RING"}, {"ring"}, {"RING", "MEMBERS"}, {"ring", "members"}} {
			require.Equal(t, want, tc.do(args...), "%v", args)
		}
	})
	t.Run("no cluster", func(t *testing.T) {
		tc := newDefaultEnv(t).client()
		require.Equal(t, arr(member("local", "alive", "127.0.0.1:6379", "", 1, 1)), tc.do("RING"))
	})
	t.Run("empty ring", func(t *testing.T) {
		tc := newClusterClient(t, busyStats(), &fakeCluster{self: "n1", state: ring.State{Q: 64}})
		require.Equal(t, "*0\r\n", tc.do("RING"))
		require.Contains(t, infoText(t, tc, "cluster"), "members:0\r\nmembers_alive:0\r\nmembers_joining:0\r\nmembers_leaving:0\r\npartitions_owned:0\r\n")
	})
	t.Run("key", func(t *testing.T) {
		cl := threeNodes()
		r, err := cl.state.Ring()
		require.NoError(t, err)
		for _, key := range []string{"a", "cart:42", "{user1}.cart", ""} {
			slot := hashslot.Of([]byte(key))
			p := r.PartitionOfSlot(slot)
			prefs := r.PreferenceList(p)
			require.Len(t, prefs, 3)
			var names []string
			for _, id := range prefs {
				names = append(names, bulk(id))
			}
			tc := newClusterClient(t, busyStats(), cl)
			require.Equal(t, arr(intReply(slot), intReply(p), arr(names...)), tc.do("RING", "KEY", key), key)
		}
		tc := newDefaultEnv(t).client()
		require.Equal(t, arr(intReply(15495), intReply(0), arr(bulk("local"))), tc.do("RING", "KEY", "a"), "no cluster")
	})
	t.Run("errors", func(t *testing.T) {
		tc := newClusterClient(t, busyStats(), threeNodes())
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"RING", "MEMBERS", "x"}, "ERR wrong number of arguments for 'ring|members' command"},
			{[]string{"RING", "HELP", "x"}, "ERR wrong number of arguments for 'ring|help' command"},
			{[]string{"RING", "KEY"}, "ERR wrong number of arguments for 'ring|key' command"},
			{[]string{"RING", "KEY", "a", "b"}, "ERR wrong number of arguments for 'ring|key' command"},
			{[]string{"RING", "NODES"}, "ERR unknown subcommand 'NODES'. Try RING HELP."},
		} {
			require.Equal(t, errReply(tt.want), tc.do(tt.args...), "%v", tt.args)
		}
		v, _ := parseReply(t, tc.do("RING", "HELP"))
		require.Contains(t, v.([]respValue)[0], "RING <subcommand>")
	})
	t.Run("needs auth", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.RequirePass = "pw"
		tc := newTestEnv(t, cfg).client()
		require.Equal(t, errReply("NOAUTH Authentication required."), tc.do("RING"))
		require.Equal(t, okReply, tc.do("AUTH", "pw"))
		require.Equal(t, "*1\r\n", tc.do("RING")[:4])
	})
}

func TestRing_CommandInfo(t *testing.T) {
	tc := newDefaultEnv(t).client()
	v, _ := parseReply(t, tc.do("COMMAND", "INFO", "ring", "ring|members"))
	entries := v.([]respValue)
	require.Len(t, entries, 2)
	r := entries[0].([]respValue)
	require.Equal(t, []respValue{"ring", int64(-1), []respValue{"admin", "noscript", "loading", "stale"},
		int64(0), int64(0), int64(0), []respValue{"@admin", "@slow", "@dangerous"}},
		r[:7], "admin, no keys")
	require.Empty(t, r[8], "no key specs")
	subs := r[9].([]respValue)
	var names []respValue
	for _, sc := range subs {
		names = append(names, sc.([]respValue)[0])
	}
	require.Equal(t, []respValue{"ring|forget", "ring|help", "ring|join", "ring|key", "ring|leave", "ring|members", "ring|plan", "ring|roots"}, names)
	members := entries[1].([]respValue)
	require.Equal(t, []respValue{"ring|members", int64(2)}, members[:2])
	require.Equal(t, int64(0), members[3], "no keys")
}

// TestCluster_KeysInSlot: CLUSTER COUNTKEYSINSLOT and GETKEYSINSLOT walk
// one slot of the keyspace, deleted keys left out, as Redis Cluster.
func TestCluster_KeysInSlot(t *testing.T) {
	require.Equal(t, replica.PositionBits, slotCursorShift, "a slot's place in a SCAN cursor")
	e := newDefaultEnv(t)
	c := e.client()
	for _, k := range []string{"{user1000}.a", "{user1000}.b", "{user1000}.c", "other"} {
		require.Equal(t, okReply, c.do("SET", k, "v"))
	}
	require.Equal(t, intReply(1), c.do("DEL", "{user1000}.c"))
	slot := strconv.Itoa(int(hashslot.Of([]byte("user1000"))))
	require.Equal(t, intReply(2), c.do("CLUSTER", "COUNTKEYSINSLOT", slot))
	require.Equal(t, intReply(0), c.do("CLUSTER", "COUNTKEYSINSLOT", "0"))
	v, _ := parseReply(t, c.do("CLUSTER", "GETKEYSINSLOT", slot, "10"))
	require.ElementsMatch(t, []respValue{"{user1000}.a", "{user1000}.b"}, v)
	require.Equal(t, "*1\r\n", c.do("CLUSTER", "GETKEYSINSLOT", slot, "1")[:4])
	require.Equal(t, errReply("ERR Invalid slot"), c.do("CLUSTER", "COUNTKEYSINSLOT", "16384"))
	require.Equal(t, errReply("ERR Invalid number of keys"), c.do("CLUSTER", "GETKEYSINSLOT", slot, "-1"))
}
