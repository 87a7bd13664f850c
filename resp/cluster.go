package resp

import (
	"slices"
	"strings"

	"github.com/dynkv/dynkv/admin"
	"github.com/dynkv/dynkv/hashslot"
)

// soloID is the ID of the only node of a server without a Cluster, the one
// coordinator.New gives it.
const soloID = "local"

// clusterView is one read of the cluster for one reply (see admin.Cluster).
type clusterView struct {
	enabled bool           // a Cluster was set
	self    string         // this node's ID
	version uint64         // ring version: the highest stamp of the ring state
	q       int            // partitions
	members []admin.Member // sorted by ID
	pending bool           // a transfer is under way: the active ring has a Next
}

func (s *Server) clusterView() clusterView {
	if s.admin == nil {
		return clusterView{self: soloID, q: 1, members: []admin.Member{
			{ID: soloID, Alive: true, ClientAddr: s.clientAddr(), Partitions: 1, Target: 1, Ready: true},
		}}
	}
	cl := s.admin.Cluster()
	ms := slices.Clone(cl.Members)
	slices.SortFunc(ms, func(a, b admin.Member) int { return strings.Compare(a.ID, b.ID) })
	return clusterView{enabled: true, self: cl.Self, version: cl.Version, q: cl.Q, members: ms, pending: cl.Pending}
}

// count returns the number of members for which f holds.
func (v *clusterView) count(f func(m admin.Member) bool) int {
	n := 0
	for _, m := range v.members {
		if f(m) {
			n++
		}
	}
	return n
}

// memberState names what a member is doing in the transfer under way:
// "joining" (in the target ring only), "leaving" (in the active ring only)
// or "member".
func memberState(m admin.Member) string {
	switch {
	case m.Joining:
		return "joining"
	case m.Leaving:
		return "leaving"
	}
	return "member"
}

// owned returns the partitions this node owns: none once it has left the
// ring.
func (v *clusterView) owned() int {
	for _, m := range v.members {
		if m.ID == v.self {
			return m.Partitions
		}
	}
	return 0
}

// clientAddr returns the address clients reach this server on: the first
// listener's, or the configured one before Serve.
func (s *Server) clientAddr() string {
	if a := s.Addr(); a != nil {
		return a.String()
	}
	return s.cfg.Listen
}

// infoCluster reports membership, quorum settings and the coordinator's
// cluster counters (hinted handoff, read repair, forwarding).
func (s *Server) infoCluster(b *infoBuilder) {
	v := s.clusterView()
	// Always 1: every dynkv node, even alone, answers the CLUSTER
	// commands cluster-aware clients route by (clustercmd.go), and
	// redis-py's RedisCluster refuses a node that says 0. Plain clients
	// never look at it, and lose nothing: any node serves any key, with no
	// MOVED or ASK. Tools that go further on 1 (redis-cli --cluster's
	// MEET, ADDSLOTS, FAILOVER) get "unknown subcommand": the ring is
	// managed with RING and dynkv join/leave instead.
	b.field("cluster_enabled", 1)
	b.field("dynkv_cluster", boolInt(v.enabled))
	b.field("node_id", oneLine(v.self))
	b.field("ring_version", v.version)
	b.field("ring_transfer_pending", boolInt(v.pending))
	b.field("partitions", v.q)
	b.field("members", len(v.members))
	b.field("members_alive", v.count(func(m admin.Member) bool { return m.Alive }))
	b.field("members_joining", v.count(func(m admin.Member) bool { return m.Joining }))
	b.field("members_leaving", v.count(func(m admin.Member) bool { return m.Leaving }))
	b.field("partitions_owned", v.owned())
	b.field("replicas", b.backend.Replicas)
	b.field("n", b.backend.N)
	b.field("r", b.backend.R)
	b.field("w", b.backend.W)
	b.field("hints_held", b.store.Hints)
	b.field("hints_written", b.backend.Hinted)
	b.field("hints_handed_off", b.backend.HandedOff)
	b.field("read_repairs", b.backend.ReadRepairs)
	b.field("writes_forwarded", b.backend.Forwarded)
	b.field("peers_suspected", b.backend.Suspected)
	b.field("peer_suspicions", b.backend.Suspicions)
	b.field("peer_late_replies", b.backend.LateReplies)
}

// cmdRing implements RING and RING MEMBERS: one entry per member of the
// active or the target ring, sorted by ID, each [id, "alive" or "down",
// client address, peer address, partitions owned, 1 for this node else 0,
// partitions owned once the transfer under way completes, "member" or
// "joining" or "leaving", 1 when it has received what it gains in the
// transfer (or gains nothing) else 0]. An address the member has not
// gossiped yet is an empty string. Fields are only ever appended, so a
// parser should accept more than it knows.
func (s *Server) cmdRing(c *session, _ [][]byte) error {
	v := s.clusterView()
	c.w.array(len(v.members))
	for _, m := range v.members {
		status := "down"
		if m.Alive {
			status = "alive"
		}
		c.w.array(9)
		c.w.bulkString(m.ID)
		c.w.bulkString(status)
		c.w.bulkString(m.ClientAddr)
		c.w.bulkString(m.PeerAddr)
		c.w.integer(int64(m.Partitions))
		c.w.integer(int64(boolInt(m.ID == v.self)))
		c.w.integer(int64(m.Target))
		c.w.bulkString(memberState(m))
		c.w.integer(int64(boolInt(m.Ready)))
	}
	return nil
}

// cmdRingKey implements RING KEY key: [slot, partition, preference list].
// The preference list names every ring member in the order the coordinator
// tries them for the key: the first N are its home replicas, the others its
// fallbacks. Like Cassandra's nodetool getendpoints or Riak's preflist, it
// is how an operator (or a test) finds where a key lives.
func (s *Server) cmdRingKey(c *session, args [][]byte) error {
	key := args[2]
	slot := hashslot.Of(key)
	part, prefs := 0, []string{soloID}
	if s.admin != nil {
		var err error
		if part, prefs, err = s.admin.Preference(slot); err != nil {
			return err
		}
	}
	c.w.array(3)
	c.w.integer(int64(slot))
	c.w.integer(int64(part))
	writeStrings(c.w, prefs)
	return nil
}

func (s *Server) cmdRingHelp(c *session, _ [][]byte) error {
	writeHelp(c.w, "RING <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"(no subcommand)", "    Same as MEMBERS.",
		"MEMBERS", "    Return every ring member as seen by this node: id, status (alive or down),",
		"    client address, peer address, partitions owned, 1 for this node, partitions owned",
		"    once the transfer under way completes, state (member, joining or leaving), and 1",
		"    when it has received the data it gains in that transfer.",
		"KEY <key>", "    Return the key's hash slot, its partition and its preference list: every",
		"    member in the order requests for the key try them; the first N are its home replicas.",
		"PLAN LEAVE <node>", "    Return the plan of the node's leaving the ring, without changing anything.",
		"PLAN JOIN <node> [<weight>]", "    Return the plan of a new node's joining the ring, without changing anything.",
		"    A plan is [nodes, moves]: per node [node, partitions before, partitions after,",
		"    replica partitions gained, replica partitions lost]; per partition whose replicas",
		"    change [partition, [replicas before], [replicas after]].",
		"LEAVE <node>", "    Remove the node from the ring and return the plan. The node keeps its partitions",
		"    until their new homes have received their data.",
		"JOIN <gossip-addr> [<gossip-addr> ...]", "    Make this node, alone in its ring, join the cluster whose nodes gossip at the",
		"    addresses given, and return the plan.",
		"FORGET <node>", "    Declare that a node that left will not come back to hand off its data (its disk",
		"    is gone), so that tombstone collection, paused until it has, resumes.",
		"ROOTS", "    Return [partition, root] for every partition this node replicates: the root of",
		"    its Merkle tree, 16 hex digits. Replicas that agree have equal roots.",
		"HELP", "    Print this help.")
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// oneLine replaces carriage returns and newlines in an INFO value with
// spaces, so a value cannot break INFO's line format.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}
