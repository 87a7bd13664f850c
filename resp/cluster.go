package resp

import (
	"slices"
	"strings"

	"github.com/dynkv/dynkv/hashslot"
	"github.com/dynkv/dynkv/ring"
)

// Cluster is the membership view that INFO's cluster section and RING
// report, and the membership changes RING PLAN, RING LEAVE and RING JOIN
// make. *ring.Membership implements it.
type Cluster interface {
	// Self returns this node's ID. It does not block.
	Self() string
	// Members returns every ring member, alive or down, with its gossiped
	// addresses and the partitions it owns. The slice is the caller's. It
	// may wait for a lock briefly, never for the network.
	Members() []ring.Member
	// State returns the gossiped ring state: its Stamp is the ring version,
	// Q the number of partitions. The caller must not modify its Events.
	// It blocks as Members does.
	State() ring.State
	// Ring returns the ring that owns the data now, as derived from State
	// (nil while the node is not yet a member), with the target of a
	// transfer under way as its Next. It blocks as Members does.
	Ring() *ring.Ring
	Changer
}

// Changer makes explicit membership changes. Each returns the plan of the
// change: the ring before and after it and the partitions whose replicas
// differ. On error nothing is changed.
type Changer interface {
	// Plan returns what the join or leave e would do, without committing
	// it. It blocks as Members does.
	Plan(e ring.Event) (ring.Plan, error)
	// Leave commits the departure of node. It blocks as Members does;
	// the change reaches the other nodes by gossip afterwards.
	Leave(node string) (ring.Plan, error)
	// JoinCluster makes this node, alone in its one-node ring, join the
	// cluster reachable at the gossip addresses seeds. It blocks on the
	// network until a seed answered or all failed.
	JoinCluster(seeds []string) (ring.Plan, error)
	// Forget records that node, which left the ring, will not come back
	// to hand off its data (ring.Membership.Forget).
	Forget(node string) error
}

var _ Cluster = (*ring.Membership)(nil)

// SetCluster gives the server the membership view that INFO's cluster
// section and RING report. A server without one (a one-node deployment
// over coordinator.New) reports itself as the only member, "local", owning
// the one partition of that deployment's ring, with dynkv_cluster:0.
//
// REQUIRES: called before Serve or ListenAndServe. The server reads the
// Cluster without a lock, so setting it while clients are served is a data
// race.
func (s *Server) SetCluster(c Cluster) { s.cluster = c }

// soloID is the ID of the only node of a server without a Cluster, the one
// coordinator.New gives it.
const soloID = "local"

// clusterView is one read of the cluster for one reply. The members and the
// ring state are read one after the other, so a ring change in between may
// show in one and not yet in the other; each is consistent in itself.
type clusterView struct {
	enabled bool          // a Cluster was set
	self    string        // this node's ID
	version uint64        // ring version: the highest stamp of the ring state
	q       int           // partitions
	members []ring.Member // sorted by ID
	pending bool          // a transfer is under way: the active ring has a Next
}

func (s *Server) clusterView() clusterView {
	if s.cluster == nil {
		return clusterView{self: soloID, q: 1, members: []ring.Member{
			{ID: soloID, Alive: true, ClientAddr: s.clientAddr(), Partitions: 1, Target: 1, Ready: true},
		}}
	}
	st := s.cluster.State()
	ms := slices.Clone(s.cluster.Members())
	slices.SortFunc(ms, func(a, b ring.Member) int { return strings.Compare(a.ID, b.ID) })
	r := s.cluster.Ring()
	return clusterView{enabled: true, self: s.cluster.Self(), version: st.Stamp(), q: st.Q, members: ms,
		pending: r != nil && r.Next() != nil}
}

// count returns the number of members for which f holds.
func (v *clusterView) count(f func(m ring.Member) bool) int {
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
func memberState(m ring.Member) string {
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
	// Always 0: tools switch to Redis Cluster mode on cluster_enabled:1
	// and would send CLUSTER commands dynkv does not have.
	b.field("cluster_enabled", 0)
	b.field("dynkv_cluster", boolInt(v.enabled))
	b.field("node_id", oneLine(v.self))
	b.field("ring_version", v.version)
	b.field("ring_transfer_pending", boolInt(v.pending))
	b.field("partitions", v.q)
	b.field("members", len(v.members))
	b.field("members_alive", v.count(func(m ring.Member) bool { return m.Alive }))
	b.field("members_joining", v.count(func(m ring.Member) bool { return m.Joining }))
	b.field("members_leaving", v.count(func(m ring.Member) bool { return m.Leaving }))
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
	if s.cluster != nil {
		r := s.cluster.Ring()
		if r == nil {
			return ring.ErrEmpty
		}
		part = r.PartitionOfSlot(slot)
		prefs = r.PreferenceList(part)
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
