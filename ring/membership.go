package ring

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dynkv/dynkv/admin"
	"github.com/hashicorp/memberlist"
)

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
		// Seal with the secret, accept the accepted one too (a rotation).
		key, others := gossipKey(m.cfg.Secret), [][]byte(nil)
		if m.cfg.AcceptedSecret != "" {
			others = [][]byte{gossipKey(m.cfg.AcceptedSecret)}
		}
		mc.SecretKey = key
		kr, err := memberlist.NewKeyring(others, key)
		if err != nil {
			return fmt.Errorf("ring: gossip keyring: %w", err)
		}
		mc.Keyring = kr
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
func (m *Membership) Members() []admin.Member {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.mu.ring
	if r == nil {
		return nil
	}
	target := r.Target()
	claims, next := r.Claims(), target.Claims()
	var out []admin.Member
	for _, id := range r.Members() {
		a := m.mu.addrs[id]
		out = append(out, admin.Member{ID: id, Alive: id == m.cfg.NodeID || m.mu.alive[id],
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

// Addr returns the gossip address this node bound (useful with port 0).
func (m *Membership) Addr() string {
	n := m.ml.LocalNode()
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
}

// gossipKey derives the AES-256 key of gossip from a cluster secret.
func gossipKey(secret string) []byte {
	key := sha256.Sum256([]byte("dynkv-gossip:" + secret))
	return key[:]
}
