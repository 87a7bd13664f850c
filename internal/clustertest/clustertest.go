// Package clustertest runs a dynkv cluster inside one test process: every
// node is assembled by node.Build, the production wiring (peer Mux,
// coordinator, anti-entropy), over a real replica.Store on pebble's
// in-memory (crashable) filesystem, and the nodes talk over memnet. Tests kill,
// restart, partition and heal nodes; liveness is what a perfect failure
// detector would report (a node sees another alive when it is running and
// reachable from it).
package clustertest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"go.uber.org/goleak"

	"github.com/dynkv/dynkv/admission"
	"github.com/dynkv/dynkv/antientropy"
	"github.com/dynkv/dynkv/conf"
	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/internal/memnet"
	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/node"
	"github.com/dynkv/dynkv/peer"
	"github.com/dynkv/dynkv/replica"
	"github.com/dynkv/dynkv/ring"
)

// Node is one member of a test cluster.
type Node struct {
	ID    string
	Store *replica.Store           // nil while the node is down
	Coord *coordinator.Coordinator // nil while the node is down
	AE    *antientropy.Syncer      // nil while the node is down
	fs    *vfs.MemFS
	full  atomic.Bool  // the disk is full (DiskFull)
	srv   *serving     // nil while the node is down
	n     *node.Node   // nil while the node is down
	skew  atomic.Int64 // this node's clock minus the cluster's, in nanoseconds (Cluster.Skew)
}

// serving tracks the peer requests a running node is serving, so that a
// crash can let them finish first: the coordinator must not be closed
// under a forwarded write it is coordinating (its background work would
// start after Close), and a dead process sends no reply after it died.
type serving struct {
	mu struct {
		sync.RWMutex
		stopped bool
	}
}

// wrap returns h as a memnet handler that serves while s is not stopped.
func (s *serving) wrap(h peer.Handler) memnet.Handler {
	return func(ctx context.Context, req []byte) []byte {
		s.mu.RLock()
		defer s.mu.RUnlock()
		if s.mu.stopped {
			return nil // the process is gone: no reply
		}
		return h(ctx, req)
	}
}

// stop waits for the requests in progress; later ones get no reply.
func (s *serving) stop() {
	s.mu.Lock()
	s.mu.stopped = true
	s.mu.Unlock()
}

// Cluster is a test cluster. Its methods are safe for concurrent use, but
// tests usually drive faults from one goroutine.
type Cluster struct {
	t      testing.TB
	cfg    coordinator.Config
	aeCfg  antientropy.Config
	admCfg admission.Config
	Net    *memnet.Network

	before goleak.Option // the goroutines that existed before the cluster; see invariants.go

	skew atomic.Int64 // what Advance added to the clock, in nanoseconds

	mu struct {
		sync.Mutex
		state ring.State // the gossiped state all nodes share
		ring  *ring.Ring // state.Active(N)
		nodes map[string]*Node
	}
}

// now is the nodes' clock: the real time plus what Advance added.
func (c *Cluster) now() time.Time { return time.Now().Add(time.Duration(c.skew.Load())) }

// Skew sets node id's clock to the cluster's plus d (negative: behind),
// for the coordinator, anti-entropy and active expiry of the node; it
// lasts across restarts.
func (c *Cluster) Skew(id string, d time.Duration) { c.node(id).skew.Store(int64(d)) }

// Now returns node id's clock: the cluster's plus its skew.
func (c *Cluster) Now(id string) time.Time {
	return c.now().Add(time.Duration(c.node(id).skew.Load()))
}

// node returns the harness's own record of node id (Node returns a copy).
func (c *Cluster) node(id string) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	nd := c.mu.nodes[id]
	if nd == nil {
		c.t.Fatalf("no node %s", id)
	}
	return nd
}

// Advance moves every node's clock forward by d (for timeouts measured on
// the coordinator's clock, such as how long a peer stays suspected, and
// for the anti-entropy syncers' tombstone grace).
func (c *Cluster) Advance(d time.Duration) { c.skew.Add(int64(d)) }

// AEConfig returns the test profile of anti-entropy for a coordinator
// configuration: no background loop (tests run rounds with
// AntiEntropyRound), no rate limit, and no tombstone grace beyond the two
// verifications.
func AEConfig(cfg coordinator.Config) antientropy.Config {
	ae := antientropy.DefaultConfig()
	ae.N, ae.Interval, ae.Rate, ae.TombstoneGrace, ae.Seed = cfg.N, 0, 0, 0, 1
	return ae
}

// Config returns the fast test profile of the coordinator: N=3, R=2, W=2
// and a short timeout.
func Config() coordinator.Config {
	cfg := coordinator.DefaultConfig()
	cfg.Timeout = 2e9
	return cfg
}

// New starts n nodes (node-0 … node-n-1) with cfg and stops them at the
// end of the test.
func New(t testing.TB, n int, cfg coordinator.Config) *Cluster {
	t.Helper()
	return NewAE(t, n, cfg, AEConfig(cfg))
}

// NewAE is New with the anti-entropy configuration ae (its N is cfg.N,
// as node.Build sets it). Admission control is off.
func NewAE(t testing.TB, n int, cfg coordinator.Config, ae antientropy.Config) *Cluster {
	t.Helper()
	return NewAdmitted(t, n, cfg, ae, admission.Config{})
}

// NewAdmitted is NewAE with each node's admission controller configured
// by adm: it slows the node's background work (ae.Rate, and hint replay
// at the same rate) while the node's coordinator is slow, by the
// cluster's clock.
func NewAdmitted(t testing.TB, n int, cfg coordinator.Config, ae antientropy.Config, adm admission.Config) *Cluster {
	t.Helper()
	c := &Cluster{t: t, cfg: cfg, aeCfg: ae, admCfg: adm, Net: memnet.New(), before: goroutinesBefore()}
	ids := make([]ring.Node, n)
	st := ring.State{Q: 64}
	for i := range ids {
		ids[i] = ring.Node{ID: fmt.Sprintf("node-%d", i), Weight: 1}
		st = st.With(ring.Event{Stamp: uint64(i + 1), Node: ids[i].ID, Kind: ring.EventJoin, Weight: 1})
	}
	// A new cluster has no data to transfer: every node starts ready.
	full, err := st.Ring()
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		st = st.With(ring.Event{Stamp: uint64(n + 1 + i), Node: id.ID, Kind: ring.EventReady, Target: uint64(n), Digest: full.Digest()})
	}
	c.mu.nodes = map[string]*Node{}
	c.setState(st)
	for _, id := range ids {
		nd := &Node{ID: id.ID, fs: vfs.NewCrashableMem()}
		c.mu.nodes[id.ID] = nd
		c.start(nd)
	}
	t.Cleanup(c.stopAndCheck)
	return c
}

// start opens nd's store and builds the node on it with node.Build: no
// RESP server, no background loops (tests replay hints and run
// anti-entropy rounds themselves), the cluster's clock, nd's view of the
// shared ring and its memnet transport, the peer handler wrapped by
// serving. The store stays the harness's, so that crash can clone the
// filesystem between closing the node and closing the store.
func (c *Cluster) start(nd *Node) {
	st, err := replica.Open(replica.Config{Dir: "db", FS: newDiskFS(nd.fs, &nd.full), Durability: replica.DurabilityProcess,
		ProbeInterval: 10 * time.Millisecond})
	if err != nil {
		c.t.Fatalf("open %s: %v", nd.ID, err)
	}
	srv := &serving{}
	cfg := conf.Config{Node: conf.NodeConfig{ID: nd.ID}, Coordinator: c.cfg, AntiEntropy: c.aeCfg, Admission: c.admCfg}
	n, err := node.Build(cfg, node.Deps{
		Store:      st,
		Membership: view{c: c, self: nd.ID},
		Transport:  c.Net.Transport(nd.ID),
		Register:   func(h peer.Handler) { c.Net.Register(nd.ID, srv.wrap(h)) },
		Now:        func() time.Time { return c.now().Add(time.Duration(nd.skew.Load())) },
		NoClients:  true,
		NoLoops:    true,
	}, nil)
	if err != nil {
		_ = st.Close()
		c.t.Fatalf("build %s: %v", nd.ID, err)
	}
	c.mu.Lock()
	nd.Store, nd.Coord, nd.AE, nd.srv, nd.n = st, n.Coordinator(), n.Syncer(), srv, n
	c.mu.Unlock()
}

// view is one node's view of the cluster.
type view struct {
	c    *Cluster
	self string
}

func (v view) Self() string { return v.self }
func (v view) Ring() *ring.Ring {
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	return v.c.mu.ring
}

// Ready records that v's node holds its data for the ring of stamp with
// digest, as ring.Membership.Ready does.
func (v view) Ready(stamp, digest uint64) {
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	if st, ok := v.c.mu.state.WithReady(v.self, stamp, digest); ok {
		v.c.setStateLocked(st)
	}
}

// Drained records that v's node, which left the ring, holds no data, as
// ring.Membership.Drained does.
func (v view) Drained() {
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	if st, ok := v.c.mu.state.WithDrained(v.self); ok {
		v.c.setStateLocked(st)
	}
}

func (v view) Alive(id string) bool {
	if id == v.self {
		return true
	}
	return v.c.Node(id).Store != nil && v.c.Net.Reachable(v.self, id)
}

// Node returns the node with id.
func (c *Cluster) Node(id string) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	nd := c.mu.nodes[id]
	if nd == nil {
		c.t.Fatalf("no node %s", id)
	}
	return &Node{ID: nd.ID, Store: nd.Store, Coord: nd.Coord, AE: nd.AE, fs: nd.fs, srv: nd.srv, n: nd.n}
}

// IDs returns the node IDs in order.
func (c *Cluster) IDs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	for id := range c.mu.nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Home returns the N home nodes of key, in preference order.
func (c *Cluster) Home(key []byte) []string {
	r := view{c: c}.Ring()
	return r.PreferenceList(r.PartitionOf(key))[:min(c.cfg.N, len(r.Nodes()))]
}

// Others returns the nodes that are not among ids.
func (c *Cluster) Others(ids ...string) []string {
	return slices.DeleteFunc(c.IDs(), func(id string) bool { return slices.Contains(ids, id) })
}

// Kill stops node id as kill -9 would: what its store wrote to the
// operating system survives, nothing is closed gracefully. The peer
// requests it is serving finish first (a kill between two messages); later
// ones get no reply.
func (c *Cluster) Kill(id string) {
	// The process image is gone: keep only what reached the "OS".
	c.crash(id, vfs.CrashCloneCfg{UnsyncedDataPercent: 100, RNG: rand.New(rand.NewPCG(1, 1))})
}

// PowerLoss stops node id as a power cut of its machine would: only what
// its store synced survives. In replica.DurabilityProcess (the cluster's
// mode) that drops the writes since the store last flushed: the node may
// come back without its recent writes and hints.
func (c *Cluster) PowerLoss(id string) { c.crash(id, vfs.CrashCloneCfg{}) }

// crash stops node id, keeping of its data what cfg keeps.
func (c *Cluster) crash(id string, cfg vfs.CrashCloneCfg) {
	c.mu.Lock()
	nd := c.mu.nodes[id]
	st, n, srv := nd.Store, nd.n, nd.srv
	nd.Store, nd.Coord, nd.AE, nd.srv, nd.n = nil, nil, nil, nil, nil
	c.mu.Unlock()
	if st == nil {
		return
	}
	c.Net.Unregister(id)
	srv.stop()
	_ = n.Close(context.Background()) // the coordinator waits for its background work; the store is left open
	crashed := nd.fs.CrashClone(cfg)
	_ = st.Close()
	c.mu.Lock()
	nd.fs = crashed
	c.mu.Unlock()
}

// Restart starts a killed node again on its data.
func (c *Cluster) Restart(id string) {
	c.mu.Lock()
	nd := c.mu.nodes[id]
	c.mu.Unlock()
	if nd.Store == nil {
		c.start(nd)
	}
}

// Leave removes node id from the ring, as an explicit leave: the node keeps
// running (it still serves peer requests and runs its syncer, which hands
// its records to their new homes) but no longer owns anything.
//
// Ownership moves as in a real cluster: the partitions keep their homes
// until the nodes that gain them have pulled their data (in anti-entropy
// rounds) and recorded it.
func (c *Cluster) Leave(id string) {
	c.change(ring.Event{Node: id, Kind: ring.EventLeave})
}

// change commits e to the shared state.
func (c *Cluster) change(e ring.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.Kind == ring.EventLeave && !c.mu.state.Member(e.Node) || e.Kind == ring.EventJoin && c.mu.state.Member(e.Node) {
		c.t.Fatalf("%s %s: not a change", e.Kind, e.Node)
	}
	e.Stamp = c.mu.state.Stamp() + 1
	c.setStateLocked(c.mu.state.With(e))
}

func (c *Cluster) setState(st ring.State) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setStateLocked(st)
}

func (c *Cluster) setStateLocked(st ring.State) {
	r, err := st.Active(c.cfg.N)
	if err != nil {
		c.t.Fatalf("ring state: %v", err)
	}
	c.mu.state, c.mu.ring = st, r
}

// Target returns the ring the change under way leads to, or the active
// ring when none is.
func (c *Cluster) Target() *ring.Ring { return c.Ring().Target() }

// Join starts a new node id on an empty data directory and adds it to the
// ring with weight 1. It owns its partitions once it has pulled their data
// (see Leave).
func (c *Cluster) Join(id string) {
	nd := &Node{ID: id, fs: vfs.NewCrashableMem()}
	c.mu.Lock()
	if c.mu.nodes[id] != nil {
		c.mu.Unlock()
		c.t.Fatalf("join %s: already a node", id)
	}
	c.mu.nodes[id] = nd
	c.mu.Unlock()
	c.start(nd)
	c.change(ring.Event{Node: id, Kind: ring.EventJoin, Weight: 1})
}

// Ring returns the current ring.
func (c *Cluster) Ring() *ring.Ring { return view{c: c}.Ring() }

// Wipe stops node id as Kill does and restarts it on an empty data
// directory: a replaced disk. The node draws a new actor identity.
func (c *Cluster) Wipe(id string) {
	c.Kill(id)
	c.mu.Lock()
	c.mu.nodes[id].fs = vfs.NewCrashableMem()
	c.mu.Unlock()
	c.Restart(id)
}

// AntiEntropyRound runs one anti-entropy round on every running node, one
// node after the other, and returns their sums.
func (c *Cluster) AntiEntropyRound(ctx context.Context) antientropy.Round {
	var sum antientropy.Round
	for _, id := range c.IDs() {
		ae := c.Node(id).AE
		if ae == nil {
			continue
		}
		rd, err := ae.RunRound(ctx)
		if err != nil {
			c.t.Fatalf("anti-entropy round on %s: %v", id, err)
		}
		sum.Exchanges += rd.Exchanges
		sum.Failures += rd.Failures
		sum.Repaired += rd.Repaired
		sum.Collected += rd.Collected
		sum.HandedOff += rd.HandedOff
		sum.Pending += rd.Pending
		sum.Transferred += rd.Transferred
	}
	return sum
}

// Root returns the hash tree root of partition p on node id (which must be
// running).
func (c *Cluster) Root(ctx context.Context, id string, p int) uint64 {
	r := view{c: c}.Ring()
	first, last := r.SlotRange(p)
	lo, hi := merkle.LeafRange(first, last)
	h, err := c.Node(id).Store.TreeNodes(ctx, lo, hi, hi-lo, []int{0})
	if err != nil {
		c.t.Fatalf("root of partition %d on %s: %v", p, id, err)
	}
	return h[0]
}

// Diverged returns the partitions whose running home replicas' tree roots
// differ.
func (c *Cluster) Diverged(ctx context.Context) []int {
	r := view{c: c}.Ring()
	var out []int
	for p := range r.Partitions() {
		pl := r.PreferenceList(p)
		var roots []uint64
		for _, id := range pl[:min(c.cfg.N, len(pl))] {
			if c.Node(id).Store != nil {
				roots = append(roots, c.Root(ctx, id, p))
			}
		}
		for _, h := range roots {
			if h != roots[0] {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// Partition splits the network into groups (see memnet.Network.Partition).
func (c *Cluster) Partition(groups ...[]string) { c.Net.Partition(groups...) }

// Heal removes every network fault.
func (c *Cluster) Heal() { c.Net.Heal() }

// ReplayHints runs hinted handoff once on every running node and returns
// how many hints were delivered.
func (c *Cluster) ReplayHints(ctx context.Context) int {
	n := 0
	for _, id := range c.IDs() {
		if co := c.Node(id).Coord; co != nil {
			d, err := co.ReplayHints(ctx)
			if err != nil {
				c.t.Fatalf("replay hints on %s: %v", id, err)
			}
			n += d
		}
	}
	return n
}

// ReclaimExpired runs active expiry on every running node, by its own
// clock, until nothing more is due, and returns how many records were
// reclaimed.
func (c *Cluster) ReclaimExpired(ctx context.Context) int {
	n := 0
	for _, id := range c.IDs() {
		co := c.Node(id).Coord
		for more := co != nil; more; {
			var d int
			var err error
			d, more, err = co.ReclaimExpired(ctx)
			if err != nil {
				c.t.Fatalf("reclaim expired on %s: %v", id, err)
			}
			n += d
		}
	}
	return n
}

// HintsHeld returns the number of hints held across running nodes.
func (c *Cluster) HintsHeld(ctx context.Context) int {
	n := 0
	for _, id := range c.IDs() {
		if st := c.Node(id).Store; st != nil {
			m, err := st.HintCount(ctx)
			if err != nil {
				c.t.Fatal(err)
			}
			for _, k := range m {
				n += k
			}
		}
	}
	return n
}

func (c *Cluster) stopAll() {
	for _, id := range c.IDs() {
		c.mu.Lock()
		nd := c.mu.nodes[id]
		st, n, srv := nd.Store, nd.n, nd.srv
		nd.Store, nd.Coord, nd.AE, nd.srv, nd.n = nil, nil, nil, nil, nil
		c.mu.Unlock()
		if st != nil {
			srv.stop()
			_ = n.Close(context.Background())
			_ = st.Close()
		}
	}
}
