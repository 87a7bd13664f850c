package ring

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// GossipConfig configures a node's membership.
type GossipConfig struct {
	// NodeID names this node; unique in the cluster. Required.
	NodeID string
	// Listen is the gossip address, host:port. Default "127.0.0.1:7946".
	Listen string
	// Seeds are gossip addresses of nodes to join through. Empty: a new
	// one-node cluster (or, with a saved state, the cluster it knew).
	Seeds []string
	// Secret, when set, encrypts and authenticates gossip (AES-GCM with a
	// key derived from it). Every node must share it. Default empty.
	Secret string
	// Weight is this node's share of partitions relative to others. Default 1.
	Weight int
	// Partitions is Q for a new cluster; every node must agree.
	// Default DefaultPartitions.
	Partitions int
	// Replicas is N, the replicas of each partition: it decides which
	// nodes gain data in a change, and so when ownership flips (see
	// State.Active). Every node must agree. Default 3.
	Replicas int
	// ClientAddr and PeerAddr are gossiped so others can reach this node.
	ClientAddr, PeerAddr string
	// RejoinInterval is how often the node re-joins its seeds, so that a
	// partition longer than memberlist's dead-node timeout heals. Default 30s.
	RejoinInterval time.Duration
	// Local selects memberlist's fast loopback profile (tests and dev).
	Local bool
	// Logger receives membership logs; nil discards them.
	Logger *slog.Logger
}

// DefaultGossipConfig returns the defaults documented on GossipConfig.
func DefaultGossipConfig() GossipConfig {
	return GossipConfig{Listen: "127.0.0.1:7946", Weight: 1, Partitions: DefaultPartitions, Replicas: 3, RejoinInterval: 30 * time.Second}
}

// Validate reports the first invalid field.
func (c GossipConfig) Validate() error {
	if c.NodeID == "" {
		return fmt.Errorf("ring: node.id: must not be empty")
	}
	if _, _, err := splitHostPort(c.Listen); err != nil {
		return fmt.Errorf("ring: gossip.listen: %w", err)
	}
	for _, s := range c.Seeds {
		if _, _, err := splitHostPort(s); err != nil {
			return fmt.Errorf("ring: seeds: %w", err)
		}
	}
	if c.Weight < 1 {
		return fmt.Errorf("ring: weight: must be at least 1, got %d", c.Weight)
	}
	if c.Partitions < 1 || c.Partitions > Slots || c.Partitions&(c.Partitions-1) != 0 {
		return fmt.Errorf("ring: partitions: %d is not a power of two between 1 and %d", c.Partitions, Slots)
	}
	if c.Replicas < 1 {
		return fmt.Errorf("ring: n: must be at least 1, got %d", c.Replicas)
	}
	if c.RejoinInterval <= 0 {
		return fmt.Errorf("ring: rejoin interval: must be positive")
	}
	return nil
}

func splitHostPort(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%q is not host:port", addr)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%q: bad port", addr)
	}
	return h, port, nil
}

// Member is what one node knows of another.
type Member struct {
	ID         string
	Alive      bool
	ClientAddr string
	PeerAddr   string
	Partitions int // partitions it claims in the active ring
	// Target is the partitions it claims once the transfer under way
	// completes (Partitions when none is).
	Target int
	// Joining: it is in the target ring but not yet in the active one;
	// Leaving: the other way round.
	Joining, Leaving bool
	// Ready: it has received the data it gains in the transfer under way
	// (or gains none).
	Ready bool
}

// Membership is a node's view of the cluster: the ring state it shares by
// gossip, and liveness from memberlist (SWIM). It implements the
// coordinator's Cluster. Safe for concurrent use.
type Membership struct {
	cfg     GossipConfig
	log     *slog.Logger
	persist func([]byte) error
	ml      *memberlist.Memberlist
	queue   *memberlist.TransmitLimitedQueue

	// Lock order: mu only; memberlist callbacks take it briefly and never
	// call back into memberlist while holding it.
	mu struct {
		sync.Mutex
		state State
		ring  *Ring
		alive map[string]bool
		addrs map[string][2]string // client, peer
	}
	saveMu sync.Mutex // serialises persist; not held with mu
	// folder computes the active ring from a state, reusing the rings of
	// the changes it saw before; guarded by foldMu, not held with mu.
	folder Folder
	foldMu sync.Mutex
	// joining, while JoinCluster runs, collects the seeds' states (under
	// joinMu) instead of merging them.
	joining atomic.Pointer[State]
	joinMu  sync.Mutex
	saved   int // events in the last state persisted; guarded by saveMu

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// ErrNoSeed reports that no seed answered and the node is not yet a member.
var ErrNoSeed = errors.New("ring: no seed reachable")

// Join starts membership: it loads the saved state (nil for none), joins
// the seeds, and adds this node to the ring if it is not yet a member.
// persist is called with the encoded state after every change.
func Join(cfg GossipConfig, saved []byte, persist func([]byte) error) (*Membership, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Membership{cfg: cfg, log: cfg.Logger, persist: persist, stop: make(chan struct{})}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	m.mu.state = State{Q: cfg.Partitions}
	m.mu.alive = map[string]bool{}
	m.mu.addrs = map[string][2]string{cfg.NodeID: {cfg.ClientAddr, cfg.PeerAddr}}
	if saved != nil {
		st, err := DecodeState(saved)
		if err != nil {
			return nil, fmt.Errorf("ring: saved state: %w", err)
		}
		m.mu.state = st
		if r, err := st.Active(cfg.Replicas); err == nil {
			m.mu.ring = r
		}
	}
	if err := m.startMemberlist(); err != nil {
		return nil, err
	}
	if len(cfg.Seeds) > 0 {
		if _, err := m.ml.Join(cfg.Seeds); err != nil && !m.isMember() {
			_ = m.ml.Shutdown()
			return nil, fmt.Errorf("%w: %v", ErrNoSeed, err)
		}
	}
	if !m.isMember() {
		m.mu.Lock()
		st := m.mu.state
		m.mu.Unlock()
		m.apply(st.With(Event{Stamp: st.Stamp() + 1, Node: cfg.NodeID, Kind: EventJoin, Weight: cfg.Weight}))
	}
	m.wg.Add(1)
	go m.rejoinLoop()
	return m, nil
}

func (m *Membership) startMemberlist() error {
	mc := memberlist.DefaultLANConfig()
	if m.cfg.Local {
		mc = memberlist.DefaultLocalConfig()
	}
	host, port, _ := splitHostPort(m.cfg.Listen)
	mc.Name, mc.BindAddr, mc.BindPort, mc.AdvertisePort = m.cfg.NodeID, host, port, port
	if m.cfg.Secret != "" {
		key := sha256.Sum256([]byte("dynkv-gossip:" + m.cfg.Secret))
		mc.SecretKey = key[:]
	}
	d := delegate{m}
	mc.Delegate, mc.Events = d, d
	mc.LogOutput = logWriter{m.log}
	if src := sourceIP(host); src != nil {
		// memberlist dials its TCP streams from the kernel's choice of
		// address (127.0.0.1 for any loopback peer); a node on a loopback
		// IP dials from that IP instead.
		nt, err := newBoundTransport(mc, src, m.log)
		if err != nil {
			return fmt.Errorf("ring: gossip on %s: %w", m.cfg.Listen, err)
		}
		mc.Transport = nt
	}
	m.queue = &memberlist.TransmitLimitedQueue{NumNodes: func() int { return max(1, m.ml.NumMembers()) }, RetransmitMult: 3}
	ml, err := memberlist.Create(mc)
	if err != nil {
		return fmt.Errorf("ring: gossip on %s: %w", m.cfg.Listen, err)
	}
	m.ml = ml
	return nil
}

func (m *Membership) isMember() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.state.Member(m.cfg.NodeID)
}

// apply merges st into the state; on change it rebuilds the ring, persists
// and broadcasts the new state.
func (m *Membership) apply(st State) {
	for {
		m.mu.Lock()
		if st.Q != m.mu.state.Q && len(m.mu.state.Events) > 0 {
			m.mu.Unlock()
			m.log.Error("ring state with different partitions ignored", "ours", m.mu.state.Q, "theirs", st.Q)
			return
		}
		merged := m.mu.state.Merge(st)
		if len(merged.Events) == len(m.mu.state.Events) {
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
		// The fold runs outside mu: coordinators read the ring on every
		// request and must not wait for it.
		m.foldMu.Lock()
		r, err := m.folder.Active(merged, m.cfg.Replicas)
		m.foldMu.Unlock()
		if err != nil {
			m.log.Error("ring state does not apply", "err", err)
			return
		}
		m.mu.Lock()
		if len(m.mu.state.Merge(merged).Events) != len(merged.Events) {
			// Another apply installed events merged lacks: fold the union.
			m.mu.Unlock()
			st = merged
			continue
		}
		prev := m.mu.ring
		m.mu.state, m.mu.ring = merged, r
		m.mu.Unlock()
		enc := merged.Encode()
		if prev == nil || !prev.sameOwners(r) {
			m.log.Info("ring changed", "stamp", merged.Stamp(), "members", len(r.Nodes()), "transfer_pending", r.Next() != nil)
		} else {
			m.log.Debug("ring state merged", "stamp", merged.Stamp())
		}
		m.save(merged)
		m.queue.QueueBroadcast(broadcast(enc))
		return
	}
}

// save persists st unless a state with as many events was saved already:
// concurrent applies (a gossip message and a push/pull) must not leave an
// older state on disk. States only grow, so more events means newer.
func (m *Membership) save(st State) {
	if m.persist == nil {
		return
	}
	m.saveMu.Lock()
	defer m.saveMu.Unlock()
	if len(st.Events) <= m.saved {
		return
	}
	if err := m.persist(st.Encode()); err != nil {
		m.log.Error("persist ring state failed", "err", err)
		return
	}
	m.saved = len(st.Events)
}

// Plan returns what the change e (a join or leave; its stamp is ignored)
// would do to the ring: from the current target to the ring after it.
func (m *Membership) Plan(e Event) (Plan, error) {
	m.mu.Lock()
	st := m.mu.state
	m.mu.Unlock()
	pl, _, err := m.plan(st, e)
	return pl, err
}

func (m *Membership) plan(st State, e Event) (Plan, State, error) {
	switch {
	case e.Kind == EventJoin && st.Member(e.Node):
		return Plan{}, st, fmt.Errorf("ring: node %s: already a member", e.Node)
	case e.Kind == EventJoin && e.Weight < 1:
		return Plan{}, st, fmt.Errorf("ring: node %s: weight must be at least 1, got %d", e.Node, e.Weight)
	case e.Kind == EventLeave && !st.Member(e.Node):
		return Plan{}, st, fmt.Errorf("ring: node %s: not a member", e.Node)
	case e.Kind != EventJoin && e.Kind != EventLeave:
		return Plan{}, st, fmt.Errorf("ring: not a membership change")
	}
	from, err := st.Ring()
	if err != nil {
		return Plan{}, st, err
	}
	if e.Kind == EventLeave && len(from.Nodes()) == 1 {
		return Plan{}, st, fmt.Errorf("ring: node %s: the last member cannot leave", e.Node)
	}
	e.Stamp = st.Stamp() + 1
	next := st.With(e)
	to, err := next.Ring()
	if err != nil {
		return Plan{}, st, err
	}
	return PlanChange(from, to, m.cfg.Replicas), next, nil
}

// Leave removes node from the ring (an explicit, administrative change)
// and returns the plan it committed. The node keeps its partitions until
// their new homes have received its data.
func (m *Membership) Leave(node string) (Plan, error) {
	return m.change(Event{Node: node, Kind: EventLeave})
}

// ErrChangeUnderWay refuses a membership change while another one's data
// is still moving: changes go one at a time, as in Riak, so that every
// transfer has one target.
var ErrChangeUnderWay = errors.New("ring: a ring change is under way (partitions are moving); commit the next one once dynkv ring shows it complete")

// change commits e and returns its plan.
func (m *Membership) change(e Event) (Plan, error) {
	m.mu.Lock()
	st, r := m.mu.state, m.mu.ring
	m.mu.Unlock()
	if r != nil && r.Next() != nil {
		return Plan{}, ErrChangeUnderWay
	}
	pl, next, err := m.plan(st, e)
	if err != nil {
		return Plan{}, err
	}
	m.log.Info("ring change committed", "kind", e.Kind.String(), "node", e.Node, "partitions_moving", len(pl.Moves))
	m.apply(next)
	return pl, nil
}

// Ready records that this node holds the data of every partition it
// replicates in the ring of stamp with digest (see State.Active). A second
// call for the same ring changes nothing.
func (m *Membership) Ready(stamp, digest uint64) {
	m.mu.Lock()
	st := m.mu.state
	m.mu.Unlock()
	if next, ok := st.WithReady(m.cfg.NodeID, stamp, digest); ok {
		m.log.Info("transfer complete: ready to own", "stamp", stamp)
		m.apply(next)
	}
}

// Drained records that this node, which has left the ring, holds no
// records and no hints any more (see Ring.Undrained). A node that is a
// member, or has recorded it already, changes nothing.
func (m *Membership) Drained() {
	m.mu.Lock()
	st := m.mu.state
	m.mu.Unlock()
	if next, ok := st.WithDrained(m.cfg.NodeID); ok {
		m.log.Info("left the ring and holds no data: drained")
		m.apply(next)
	}
}

// Forget records EventDrained for node, a node that left the ring and will
// not come back (its disk is gone): the cluster stops waiting for its
// handoff before collecting tombstones. What it still held is lost to the
// cluster; if it does come back, versions it holds may bring deleted keys
// back.
func (m *Membership) Forget(node string) error {
	m.mu.Lock()
	st := m.mu.state
	m.mu.Unlock()
	switch {
	case st.Member(node):
		return fmt.Errorf("ring: node %s: is a member; it must leave first", node)
	case !st.everJoined(node):
		return fmt.Errorf("ring: node %s: never was a member", node)
	case st.IsDrained(node):
		return fmt.Errorf("ring: node %s: has handed off its data already", node)
	}
	next, _ := st.WithDrained(node)
	m.log.Warn("departed node forgotten without its handoff", "node", node)
	m.apply(next)
	return nil
}

// JoinCluster makes a node that is alone in its ring join the cluster of
// seeds: it forgets its one-node ring, takes the cluster's state from the
// seeds and adds itself to it. The data it holds is handed to the
// cluster's homes by anti-entropy. A node that is in a ring with other
// members must leave it first.
func (m *Membership) JoinCluster(seeds []string) (Plan, error) {
	if len(seeds) == 0 {
		return Plan{}, fmt.Errorf("ring: join: no seed given")
	}
	for _, s := range seeds {
		if _, _, err := splitHostPort(s); err != nil {
			return Plan{}, fmt.Errorf("ring: join: %w", err)
		}
	}
	m.mu.Lock()
	st := m.mu.state
	if r, err := st.Ring(); err == nil && (len(r.Nodes()) > 1 || !r.Has(m.cfg.NodeID)) {
		m.mu.Unlock()
		return Plan{}, fmt.Errorf("ring: join: already in a ring of %d members; leave it first", len(r.Nodes()))
	}
	m.mu.Unlock()
	// The seeds' state arrives by push/pull during Join, into a fresh
	// state: this node's own one-node history is not merged into theirs.
	var theirs State
	m.joining.Store(&theirs)
	_, err := m.ml.Join(seeds)
	m.joining.Store(nil)
	if err != nil {
		return Plan{}, fmt.Errorf("%w: %v", ErrNoSeed, err)
	}
	if len(theirs.Events) == 0 {
		return Plan{}, fmt.Errorf("ring: join: the seeds sent no ring state")
	}
	if theirs.Q != st.Q {
		return Plan{}, fmt.Errorf("ring: join: the cluster has %d partitions, this node %d", theirs.Q, st.Q)
	}
	if theirs.Member(m.cfg.NodeID) {
		return Plan{}, fmt.Errorf("ring: join: the cluster already has a member named %s", m.cfg.NodeID)
	}
	if r, err := theirs.Active(m.cfg.Replicas); err == nil && r.Next() != nil {
		return Plan{}, ErrChangeUnderWay
	}
	pl, next, err := m.plan(theirs, Event{Node: m.cfg.NodeID, Kind: EventJoin, Weight: m.cfg.Weight})
	if err != nil {
		return Plan{}, err
	}
	r, err := next.Active(m.cfg.Replicas)
	if err != nil {
		return Plan{}, err
	}
	m.mu.Lock()
	m.mu.state, m.mu.ring = next, r
	m.mu.Unlock()
	m.saveMu.Lock()
	m.saved = 0 // the new state may have fewer events than the old
	m.saveMu.Unlock()
	m.save(next)
	m.queue.QueueBroadcast(broadcast(next.Encode()))
	m.log.Info("joined cluster", "seeds", seeds, "members", len(pl.To.Nodes()), "partitions_moving", len(pl.Moves))
	return pl, nil
}

// Target returns the ring the transfer under way leads to, or the active
// ring when none is under way.
func (m *Membership) Target() *Ring {
	if r := m.Ring(); r != nil {
		return r.Target()
	}
	return nil
}

func (m *Membership) rejoinLoop() {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.RejoinInterval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			if len(m.cfg.Seeds) > 0 {
				if _, err := m.ml.Join(m.cfg.Seeds); err != nil {
					m.log.Debug("rejoin seeds failed", "err", err)
				}
			}
		}
	}
}

// Self returns this node's ID.
func (m *Membership) Self() string { return m.cfg.NodeID }

// Ring returns the current ring.
func (m *Membership) Ring() *Ring {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.ring
}

// State returns the current ring state.
func (m *Membership) State() State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.state
}

// Alive reports whether memberlist sees node alive (or only suspected).
func (m *Membership) Alive(node string) bool {
	if node == m.cfg.NodeID {
		return true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.alive[node]
}

// PeerAddr returns the last peer address node gossiped.
func (m *Membership) PeerAddr(node string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.mu.addrs[node]
	return a[1], ok && a[1] != ""
}

// Members returns every member of the active or the target ring with its
// liveness, addresses and partitions.
func (m *Membership) Members() []Member {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.mu.ring
	if r == nil {
		return nil
	}
	target := r.Target()
	claims, next := r.Claims(), target.Claims()
	var out []Member
	for _, id := range r.Members() {
		a := m.mu.addrs[id]
		out = append(out, Member{ID: id, Alive: id == m.cfg.NodeID || m.mu.alive[id],
			ClientAddr: a[0], PeerAddr: a[1], Partitions: len(claims[id]), Target: len(next[id]),
			Joining: !r.Has(id), Leaving: !target.Has(id),
			Ready: !slices.Contains(r.Waiting(), id)})
	}
	return out
}

// Close leaves gossip (not the ring: the node stays a member while down)
// and stops background work. Idempotent.
func (m *Membership) Close() error {
	m.once.Do(func() {
		close(m.stop)
		m.wg.Wait()
		_ = m.ml.Leave(time.Second)
		_ = m.ml.Shutdown()
	})
	return nil
}

// delegate adapts memberlist's callbacks: they copy, merge and return.
type delegate struct{ m *Membership }

func (d delegate) NodeMeta(limit int) []byte {
	meta := []byte(d.m.cfg.ClientAddr + "\x00" + d.m.cfg.PeerAddr)
	if len(meta) > limit {
		return nil
	}
	return meta
}

func (d delegate) NotifyMsg(b []byte) { d.merge(b) }

func (d delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.m.queue.GetBroadcasts(overhead, limit)
}

func (d delegate) LocalState(bool) []byte {
	if d.m.joining.Load() != nil {
		// JoinCluster: this node's one-node history stays out of theirs.
		return State{Q: d.m.cfg.Partitions}.Encode()
	}
	return d.m.State().Encode()
}

func (d delegate) MergeRemoteState(b []byte, _ bool) { d.merge(b) }

func (d delegate) merge(b []byte) {
	st, err := DecodeState(b)
	if err != nil {
		d.m.log.Warn("malformed ring state from a peer", "err", err)
		return
	}
	if j := d.m.joining.Load(); j != nil {
		// JoinCluster collects the seeds' state apart from ours.
		d.m.joinMu.Lock()
		*j = j.Merge(st)
		d.m.joinMu.Unlock()
		return
	}
	d.m.apply(st)
}

func (d delegate) NotifyJoin(n *memberlist.Node)   { d.update(n, true) }
func (d delegate) NotifyUpdate(n *memberlist.Node) { d.update(n, true) }
func (d delegate) NotifyLeave(n *memberlist.Node)  { d.update(n, false) }

func (d delegate) update(n *memberlist.Node, alive bool) {
	client, peer, _ := strings.Cut(string(n.Meta), "\x00")
	d.m.mu.Lock()
	defer d.m.mu.Unlock()
	d.m.mu.alive[n.Name] = alive
	if client != "" || peer != "" {
		d.m.mu.addrs[n.Name] = [2]string{client, peer}
	}
}

// broadcast is a ring state to gossip; a newer state replaces an older one
// in the queue (both are whole states, so the newer includes the older).
type broadcast []byte

func (b broadcast) Invalidates(memberlist.Broadcast) bool { return true }
func (b broadcast) Message() []byte                       { return b }
func (b broadcast) Finished()                             {}

// logWriter sends memberlist's log lines to slog.
type logWriter struct{ l *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	line := string(bytes.TrimSpace(p))
	switch {
	case strings.Contains(line, "[ERR]"):
		w.l.Error("memberlist", "msg", line)
	case strings.Contains(line, "[WARN]"):
		w.l.Warn("memberlist", "msg", line)
	default:
		w.l.Debug("memberlist", "msg", line)
	}
	return len(p), nil
}

// Addr returns the gossip address this node bound (useful with port 0).
func (m *Membership) Addr() string {
	n := m.ml.LocalNode()
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
}

// sourceIP returns host as an IP when it is a loopback address, else nil:
// nodes sharing a host on 127.0.0.x gossip from their own addresses; on
// other addresses the kernel's routing picks the source.
func sourceIP(host string) net.IP {
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil
	}
	return ip
}

// boundTransport is memberlist's network transport with its TCP streams
// dialled from the node's own IP, so that peers and firewall rules see
// gossip streams come from the address the node gossips on, as its UDP
// packets do.
type boundTransport struct {
	*memberlist.NetTransport
	src *net.TCPAddr
}

// newBoundTransport creates the transport for mc, resolving a zero port as
// memberlist would (retrying a port taken between the TCP and UDP binds).
func newBoundTransport(mc *memberlist.Config, src net.IP, lg *slog.Logger) (*boundTransport, error) {
	nc := &memberlist.NetTransportConfig{
		BindAddrs: []string{mc.BindAddr},
		BindPort:  mc.BindPort,
		Logger:    slog.NewLogLogger(lg.Handler(), slog.LevelWarn),
	}
	tries := 1
	if mc.BindPort == 0 {
		tries = 10
	}
	var nt *memberlist.NetTransport
	var err error
	for range tries {
		if nt, err = memberlist.NewNetTransport(nc); err == nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	if mc.BindPort == 0 {
		mc.BindPort = nt.GetAutoBindPort()
		mc.AdvertisePort = mc.BindPort
	}
	return &boundTransport{NetTransport: nt, src: &net.TCPAddr{IP: src}}, nil
}

// DialTimeout implements memberlist.Transport.
func (t *boundTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout implements memberlist.NodeAwareTransport.
func (t *boundTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout, LocalAddr: t.src}
	return d.Dial("tcp", a.Addr)
}
