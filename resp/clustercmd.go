package resp

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/dynkv/dynkv/admin"
	"github.com/dynkv/dynkv/hashslot"
)

// The CLUSTER commands cluster-aware clients need (go-redis ClusterClient,
// ioredis Cluster, redis-py RedisCluster, redis-cli -c): the paper's
// client-driven coordination (section 6.4). Each partition's slot range
// lists its home nodes, the alive ones first: the first is reported as the
// master, the others as its replicas, so a cluster client sends each key
// straight to a home node. Any node still accepts any key (it forwards
// writes to a home), so dynkv never answers MOVED or ASK: a client that
// sends a key to a former home after the ring changed still succeeds, and
// picks up the new topology when it next asks.
//
// Node ids are 40 hex digits, as Redis Cluster's: the SHA-1 of the dynkv
// node id, the same on every node. INFO says cluster_enabled:1 (see
// infoCluster).

// clusterNodeID returns the Redis Cluster id of the dynkv node id.
func clusterNodeID(id string) string {
	sum := sha1.Sum([]byte("dynkv-node:" + id))
	return hex.EncodeToString(sum[:])
}

// slotRange is a run of slots whose keys have the same home nodes.
type slotRange struct {
	first, last int
	homes       []admin.Member // master first
}

// topology is one read of the cluster for a CLUSTER reply.
type topology struct {
	self   string
	view   clusterView
	ranges []slotRange // sorted, covering every slot
}

// topology reads the ring: for every partition its homes (the first
// Replicas of its preference list), alive ones first, adjacent partitions
// with the same homes merged.
func (s *Server) topology() (topology, error) {
	v := s.clusterView()
	t := topology{self: v.self, view: v}
	byID := map[string]admin.Member{}
	for _, m := range v.members {
		byID[m.ID] = m
	}
	if s.admin == nil {
		t.ranges = []slotRange{{0, hashslot.Count - 1, []admin.Member{v.members[0]}}}
		return t, nil
	}
	n := max(s.backend.Stats().Replicas, 1)
	per := hashslot.Count / max(v.q, 1)
	for first := 0; first < hashslot.Count; first += per {
		_, prefs, err := s.admin.Preference(first)
		if err != nil {
			return t, err
		}
		var alive, down []admin.Member
		for _, id := range prefs[:min(n, len(prefs))] {
			m, ok := byID[id]
			if !ok {
				m = admin.Member{ID: id}
			}
			if m.Alive {
				alive = append(alive, m)
			} else {
				down = append(down, m)
			}
		}
		homes := append(alive, down...)
		if k := len(t.ranges); k > 0 && sameHomes(t.ranges[k-1].homes, homes) {
			t.ranges[k-1].last = first + per - 1
			continue
		}
		t.ranges = append(t.ranges, slotRange{first, first + per - 1, homes})
	}
	return t, nil
}

func sameHomes(a, b []admin.Member) bool {
	return slices.EqualFunc(a, b, func(x, y admin.Member) bool { return x.ID == y.ID })
}

// hostPort splits a member's client address; an unknown one is ("", 0).
func hostPort(addr string) (string, int) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0
	}
	p, _ := strconv.Atoi(port)
	return host, p
}

func (s *Server) cmdClusterSlots(c *session, _ [][]byte) error {
	t, err := s.topology()
	if err != nil {
		return err
	}
	c.w.array(len(t.ranges))
	for _, r := range t.ranges {
		c.w.array(2 + len(r.homes))
		c.w.integer(int64(r.first))
		c.w.integer(int64(r.last))
		for _, m := range r.homes {
			host, port := hostPort(m.ClientAddr)
			c.w.array(4)
			c.w.bulkString(host)
			c.w.integer(int64(port))
			c.w.bulkString(clusterNodeID(m.ID))
			c.w.array(0) // no hostname
		}
	}
	return nil
}

// cmdClusterShards reports one shard per distinct list of homes, with
// every slot range it serves.
func (s *Server) cmdClusterShards(c *session, _ [][]byte) error {
	t, err := s.topology()
	if err != nil {
		return err
	}
	type shard struct {
		homes  []admin.Member
		ranges []slotRange
	}
	var shards []*shard
	for _, r := range t.ranges {
		i := slices.IndexFunc(shards, func(sh *shard) bool { return sameHomes(sh.homes, r.homes) })
		if i < 0 {
			shards = append(shards, &shard{homes: r.homes})
			i = len(shards) - 1
		}
		shards[i].ranges = append(shards[i].ranges, r)
	}
	c.w.array(len(shards))
	for _, sh := range shards {
		c.w.mapLen(2)
		c.w.bulkString("slots")
		c.w.array(2 * len(sh.ranges))
		for _, r := range sh.ranges {
			c.w.integer(int64(r.first))
			c.w.integer(int64(r.last))
		}
		c.w.bulkString("nodes")
		c.w.array(len(sh.homes))
		for i, m := range sh.homes {
			host, port := hostPort(m.ClientAddr)
			role, health := "replica", "online"
			if i == 0 {
				role = "master"
			}
			if !m.Alive {
				health = "fail"
			}
			c.w.mapLen(7)
			for _, f := range []struct {
				k string
				v any
			}{{"id", clusterNodeID(m.ID)}, {"port", port}, {"ip", host}, {"endpoint", host},
				{"role", role}, {"replication-offset", 0}, {"health", health}} {
				c.w.bulkString(f.k)
				switch v := f.v.(type) {
				case string:
					c.w.bulkString(v)
				case int:
					c.w.integer(int64(v))
				}
			}
		}
	}
	return nil
}

// cmdClusterNodes reports every member as a master (Redis Cluster's format
// has no node that is both a master and a replica, as every dynkv node is)
// with the slots it is the first home of.
func (s *Server) cmdClusterNodes(c *session, _ [][]byte) error {
	t, err := s.topology()
	if err != nil {
		return err
	}
	slots := map[string][]string{}
	for _, r := range t.ranges {
		id := r.homes[0].ID
		if r.first == r.last {
			slots[id] = append(slots[id], strconv.Itoa(r.first))
		} else {
			slots[id] = append(slots[id], strconv.Itoa(r.first)+"-"+strconv.Itoa(r.last))
		}
	}
	var b strings.Builder
	for _, m := range t.view.members {
		host, port := hostPort(m.ClientAddr)
		flags, link := "master", "connected"
		if m.ID == t.self {
			flags = "myself,master"
		}
		if !m.Alive {
			flags, link = flags+",fail", "disconnected"
		}
		fmt.Fprintf(&b, "%s %s:%d@%d %s - 0 0 %d %s", clusterNodeID(m.ID), host, port, port+10000, flags, t.view.version, link)
		for _, sl := range slots[m.ID] {
			b.WriteString(" " + sl)
		}
		b.WriteString("\n")
	}
	c.w.verbatim(b.String())
	return nil
}

func (s *Server) cmdClusterInfo(c *session, _ [][]byte) error {
	t, err := s.topology()
	if err != nil {
		return err
	}
	masters := map[string]bool{}
	for _, r := range t.ranges {
		masters[r.homes[0].ID] = true
	}
	state := "ok"
	failing := 0
	for _, r := range t.ranges {
		if !slices.ContainsFunc(r.homes, func(m admin.Member) bool { return m.Alive }) {
			failing += r.last - r.first + 1
		}
	}
	if failing > 0 {
		state = "fail"
	}
	var b strings.Builder
	for _, f := range []struct {
		k string
		v any
	}{
		{"cluster_state", state}, {"cluster_slots_assigned", hashslot.Count}, {"cluster_slots_ok", hashslot.Count - failing},
		{"cluster_slots_pfail", 0}, {"cluster_slots_fail", failing}, {"cluster_known_nodes", len(t.view.members)},
		{"cluster_size", len(masters)}, {"cluster_current_epoch", t.view.version}, {"cluster_my_epoch", t.view.version},
		{"cluster_stats_messages_sent", 0}, {"cluster_stats_messages_received", 0},
		{"total_cluster_links_buffer_limit_exceeded", 0},
	} {
		fmt.Fprintf(&b, "%s:%v\r\n", f.k, f.v)
	}
	c.w.verbatim(b.String())
	return nil
}

func (s *Server) cmdClusterKeySlot(c *session, args [][]byte) error {
	c.w.integer(int64(hashslot.Of(args[2])))
	return nil
}

func (s *Server) cmdClusterMyID(c *session, _ [][]byte) error {
	c.w.bulkString(clusterNodeID(s.clusterView().self))
	return nil
}

// cmdReadOnly and cmdReadWrite accept Redis Cluster's replica-read switch:
// every dynkv node serves reads of every key anyway.
func (s *Server) cmdReadOnly(c *session, _ [][]byte) error {
	c.w.ok()
	return nil
}

func (s *Server) cmdClusterHelp(c *session, _ [][]byte) error {
	writeHelp(c.w, "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"COUNTKEYSINSLOT <slot>", "    Return the number of keys in <slot>.",
		"GETKEYSINSLOT <slot> <count>", "    Return key names stored by current node in a slot (dynkv: in the cluster).",
		"INFO", "    Return information about the cluster.",
		"KEYSLOT <key>", "    Return the hash slot for <key>.",
		"MYID", "    Return the node id.",
		"NODES", "    Return cluster configuration seen by node. Output format:",
		"    <id> <ip:port@cport> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
		"    (every dynkv node is listed as a master of the slots it is the first home of).",
		"SHARDS", "    Return information about slot range mappings and the nodes serving them.",
		"SLOTS", "    Return information about slots range mappings. Each range is made of:",
		"    start, end, master and replicas IP addresses, ports and ids",
		"    (the master is the range's first home node, the replicas its other home nodes).")
	return nil
}

// slotCursorShift places a slot in a SCAN cursor: slot << 50 | position
// within it (replica.PositionBits, checked by a test; resp does not import
// replica).
const slotCursorShift = 50

// slotKeys walks the keys of slot (a range of the keyspace walk, SCAN's
// cursors), calling f with each live key until it returns false.
func (s *Server) slotKeys(c *session, slot int, f func(key []byte) bool) error {
	cursor := uint64(slot) << slotCursorShift
	end := uint64(slot+1) << slotCursorShift
	for {
		recs, next, err := s.backend.Scan(c.ctx, cursor, walkBatch)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if hashslot.Of(r.Key) != slot {
				return nil
			}
			if !f(r.Key) {
				return nil
			}
		}
		if next == 0 || next >= end {
			return nil
		}
		cursor = next
	}
}

// parseSlot parses a hash slot argument as Redis does.
func parseSlot(arg []byte) (int, error) {
	n, ok := parseInt(arg)
	if !ok || n < 0 || n >= hashslot.Count {
		return 0, errInvalidSlot
	}
	return int(n), nil
}

// errInvalidSlot is Redis's reply to a slot outside 0..16383.
const errInvalidSlot replyErr = "ERR Invalid slot"

// cmdClusterCountKeysInSlot counts the live keys of a slot, cluster-wide.
func (s *Server) cmdClusterCountKeysInSlot(c *session, args [][]byte) error {
	slot, err := parseSlot(args[2])
	if err != nil {
		return err
	}
	var n int64
	if err := s.slotKeys(c, slot, func([]byte) bool { n++; return true }); err != nil {
		return err
	}
	c.w.integer(n)
	return nil
}

// cmdClusterGetKeysInSlot returns up to count live keys of a slot.
func (s *Server) cmdClusterGetKeysInSlot(c *session, args [][]byte) error {
	slot, err := parseSlot(args[2])
	if err != nil {
		return err
	}
	count, ok := parseInt(args[3])
	if !ok || count < 0 {
		return replyErr("ERR Invalid number of keys")
	}
	var keys [][]byte
	if count > 0 {
		err = s.slotKeys(c, slot, func(k []byte) bool {
			keys = append(keys, k)
			return int64(len(keys)) < count
		})
		if err != nil {
			return err
		}
	}
	c.w.array(len(keys))
	for _, k := range keys {
		c.w.bulk(k)
	}
	return nil
}
