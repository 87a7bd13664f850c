package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dynkv/dynkv/admission"
	"github.com/dynkv/dynkv/antientropy"
	"github.com/dynkv/dynkv/conf"
	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/peer"
	"github.com/dynkv/dynkv/replica"
	"github.com/dynkv/dynkv/resp"
	"github.com/dynkv/dynkv/ring"
	"github.com/dynkv/dynkv/version"
)

// ErrClosed is returned by Close after the first call.
var ErrClosed = errors.New("node: closed")

// metaRing names the ring state in the store's metadata.
const metaRing = "ring"

// Node is one running dynkv node.
type Node struct {
	cfg      conf.Config
	log      *slog.Logger
	store    *replica.Store
	ownStore bool             // Build opened store: Close closes it
	members  *ring.Membership // nil unless Build joined by gossip
	tr       *peer.TCP        // nil unless Build bound the peer port
	co       *coordinator.Coordinator
	ae       *antientropy.Syncer // nil for a standalone node
	srv      *resp.Server
	bus      *pubsubBus                  // nil for a standalone node
	deliver  atomic.Pointer[resp.Server] // srv, for messages of other nodes        // nil with Deps.NoClients
	ln       net.Listener                // the client listener; nil with Deps.NoClients
	tlsLn    net.Listener                // the TLS client listener; nil without tls-port or with Deps.NoClients
	peerAddr net.Addr                    // the peer port; nil unless Build bound it

	served      chan struct{}      // closed when Serve returned, once Start ran
	serveErr    error              // Serve's result; read after served is closed
	tlsServed   chan struct{}      // closed when ServeTLS returned, once Start ran with a TLS listener
	stopHandoff context.CancelFunc // stops the background loops; nil when none run
	stopExpiry  context.CancelFunc // stops active expiry; nil when it does not run
	wg          sync.WaitGroup
	closeOnce   sync.Once
}

// expiryInterval is how often active expiry runs (Redis's hz 10): each run
// reclaims at most coordinator.ExpiryBatch records.
const expiryInterval = 100 * time.Millisecond

// New opens the store in cfg.Replica.Dir, binds cfg.Resp.Listen and the
// peer port, joins the cluster (or starts a one-node one) and builds the
// RESP server. It serves peers at once and clients after Start. On error
// everything opened so far is closed. New validates cfg and is Build with
// the zero Deps.
func New(cfg conf.Config, log *slog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Read the TLS certificates before anything opens: a bad file is a
	// configuration error (resp.New reads them again).
	if _, err := cfg.Resp.TLS.Load(); err != nil {
		return nil, err
	}
	return Build(cfg, Deps{}, log)
}

// Build assembles a node from cfg as New does, with the parts deps gives
// instead of those New would make, and without those deps leaves out (see
// Deps); the test harnesses build their nodes with it, so that they run
// the production wiring. Build does not run cfg.Validate, whose cross
// checks refuse the test profiles (no tombstone grace, no loops); every
// part still validates its own configuration. On error everything Build
// opened is closed.
func Build(cfg conf.Config, deps Deps, log *slog.Logger) (_ *Node, err error) {
	if err := deps.validate(cfg.HandoffInterval); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Node{cfg: cfg, log: log, store: deps.Store}
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	if n.store == nil {
		rcfg := cfg.Replica
		rcfg.Logger = log.With("pkg", "replica")
		if n.store, err = replica.Open(rcfg); err != nil {
			return nil, err
		}
		n.ownStore = true
		undo = append(undo, func() { _ = n.store.Close() })
	}
	if !deps.NoClients {
		if n.ln, err = net.Listen("tcp", cfg.Resp.Listen); err != nil {
			return nil, fmt.Errorf("listen: %w", err)
		}
		undo = append(undo, func() { _ = n.ln.Close() })
		if addr := cfg.Resp.TLSListen(); addr != "" {
			if n.tlsLn, err = net.Listen("tcp", addr); err != nil {
				return nil, fmt.Errorf("tls-port: %w", err)
			}
			undo = append(undo, func() { _ = n.tlsLn.Close() })
		}
	}
	undo = append(undo, func() { _ = n.closeCluster() })
	if deps.Standalone {
		n.co, err = coordinator.New(coordinatorConfig(cfg), n.store, deps.Now, log.With("pkg", "coordinator"))
	} else {
		err = n.join(deps)
	}
	if err != nil {
		return nil, err
	}
	if !deps.NoLoops {
		ectx, cancel := context.WithCancel(context.Background())
		n.stopExpiry = cancel
		n.wg.Go(func() { _ = n.co.RunExpiry(ectx, expiryInterval) })
	}
	if deps.NoClients {
		return n, nil
	}
	pcfg := cfg.Resp
	pcfg.Logger = log.With("pkg", "resp")
	pcfg.InMemory = cfg.Replica.Storage == replica.StorageMemory
	if secret := n.cfg.Peer.Secret; secret != "" {
		// Every node of the cluster signs and checks contexts alike.
		pcfg.ContextKey = version.DeriveContextKey(secret)
	}
	if accepted := n.cfg.Peer.AcceptedSecret; accepted != "" {
		pcfg.AcceptedContextKey = version.DeriveContextKey(accepted)
	}
	if n.srv, err = resp.New(pcfg, n.co, n.store, pcfg.Logger); err != nil {
		return nil, err
	}
	if n.members != nil {
		n.srv.SetAdmin(adminView{AdminView: ring.AdminView{Src: n.members}, n: n})
	}
	if n.bus != nil {
		n.srv.SetBus(n.bus)
		n.deliver.Store(n.srv)
	}
	return n, nil
}

// coordinatorConfig is cfg.Coordinator with the bound on a key's siblings
// that the peer frame limit is derived from (conf.Config.MaxSiblingsSize).
func coordinatorConfig(cfg conf.Config) coordinator.Config {
	c := cfg.Coordinator
	c.MaxSiblingsSize = cfg.MaxSiblingsSize()
	return c
}

// join builds the cluster side of the node: membership (gossip unless
// deps gives it), the peer Mux and transport (TCP unless deps gives it),
// the coordinator, anti-entropy and, unless deps.NoLoops, the hinted
// handoff and anti-entropy loops. What it built is closed by closeCluster.
func (n *Node) join(deps Deps) (err error) {
	cfg, log := n.cfg, n.log
	members, tr := deps.Membership, deps.Transport
	var peerLn net.Listener // nil when deps gives the transport
	if members == nil {
		var secret string
		if secret, err = clusterSecret(context.Background(), cfg.Peer.Secret, cfg.Gossip.Seeds, n.store, log); err != nil {
			return err
		}
		n.cfg.Peer.Secret, n.cfg.Gossip.Secret = secret, secret
		cfg = n.cfg
		if peerLn, err = net.Listen("tcp", cfg.PeerListen()); err != nil {
			return fmt.Errorf("peer.listen: %w", err)
		}
		defer func() {
			if err != nil {
				_ = peerLn.Close()
			}
		}()
		n.peerAddr = peerLn.Addr()
		if err := n.gossip(peerLn.Addr().String()); err != nil {
			return err
		}
		members = n.members
	}
	mux := peer.NewMux(n.store)
	// n.co is set before the transport serves peers (below), so no
	// forwarded write arrives before the coordinator exists.
	mux.Handle(peer.OpForward, func(ctx context.Context, req []byte) []byte { return n.co.Serve(ctx, req) })
	mux.Handle(peer.OpScan, func(ctx context.Context, req []byte) []byte { return n.co.ServeScan(ctx, req) })
	mux.Handle(peer.OpPublish, n.servePublish)
	if tr == nil {
		tcfg := cfg.PeerConfig() // the frame limit derived from the client limits
		tcfg.Listen = peerLn.Addr().String()
		tcfg.Logger = log.With("pkg", "peer")
		if n.tr, err = peer.NewTCP(tcfg, cfg.Node.ID, n.members.PeerAddr, mux.Serve); err != nil {
			return err
		}
		tr = n.tr
	}
	n.bus = &pubsubBus{view: members, tr: tr}
	// One admission controller for the node: the coordinator tells it the
	// latency of the reads and writes it coordinates, and hint replay and
	// anti-entropy (exchanges, transfers, handoff, tombstone collection)
	// get their share of antientropy.rate from it.
	adm, err := admission.New(cfg.Admission, deps.Now)
	if err != nil {
		return err
	}
	ccfg := coordinatorConfig(cfg)
	ccfg.HandoffRate = cfg.AntiEntropy.Rate
	if n.co, err = coordinator.NewCluster(ccfg, n.store, members, tr, deps.Now, adm, log.With("pkg", "coordinator")); err != nil {
		return err
	}
	acfg := cfg.AntiEntropy
	acfg.N, acfg.Logger = cfg.Coordinator.N, log.With("pkg", "antientropy")
	if n.ae, err = antientropy.New(acfg, n.store, members, tr, deps.Now, adm); err != nil {
		return err
	}
	if n.tr != nil {
		n.wg.Go(func() {
			if err := n.tr.Serve(peerLn); err != nil && !errors.Is(err, peer.ErrClosed) {
				log.Error("peer transport stopped", "err", err)
			}
		})
	} else {
		deps.Register(mux.Serve)
	}
	if !deps.NoLoops {
		hctx, cancel := context.WithCancel(context.Background())
		n.stopHandoff = cancel
		n.wg.Go(func() { _ = n.co.RunHandoff(hctx, cfg.HandoffInterval) })
		n.wg.Go(func() { _ = n.ae.Run(hctx) })
	}
	if n.members != nil {
		log.Info("cluster joined", "gossip", n.members.Addr(), "peer", peerLn.Addr().String(),
			"members", len(n.members.Members()), "seeds", len(cfg.Gossip.Seeds))
	}
	return nil
}

// gossip joins the cluster by gossip (ring.Join), advertising the client
// address and peerAddr, with the ring state saved in the store.
func (n *Node) gossip(peerAddr string) error {
	cfg := n.cfg
	saved, err := n.store.GetMeta(context.Background(), metaRing)
	if err != nil {
		return err
	}
	g := cfg.Gossip
	g.NodeID, g.PeerAddr = cfg.Node.ID, peerAddr
	if n.ln != nil {
		g.ClientAddr = n.ln.Addr().String()
	}
	g.Logger = n.log.With("pkg", "ring")
	g.Replicas = cfg.Coordinator.N
	n.members, err = ring.Join(g, saved, func(b []byte) error {
		return n.store.SetMeta(context.Background(), metaRing, b)
	})
	if err != nil {
		return fmt.Errorf("gossip: %w", err)
	}
	return nil
}

// Start serves clients on the bound address, and on the TLS port when
// tls-port is set. Done reports when serving the plain port stopped by
// itself (a listener failure). With Deps.NoClients Start does nothing.
func (n *Node) Start() {
	if n.srv == nil {
		return
	}
	if n.tlsLn != nil {
		n.tlsServed = make(chan struct{})
		go func() { // awaited by Close
			defer close(n.tlsServed)
			if err := n.srv.ServeTLS(n.tlsLn); err != nil && !errors.Is(err, resp.ErrClosed) {
				n.log.Error("tls port stopped", "err", err)
			}
		}()
		n.log.Info("tls ready", "addr", n.tlsLn.Addr().String())
	}
	n.served = make(chan struct{})
	go func() { // awaited by Close
		defer close(n.served)
		n.serveErr = n.srv.Serve(n.ln)
	}()
	n.log.Info("ready", "addr", n.ln.Addr().String())
}

// TLSAddr returns the address of the TLS client port, or nil without
// tls-port.
func (n *Node) TLSAddr() net.Addr {
	if n.tlsLn == nil {
		return nil
	}
	return n.tlsLn.Addr()
}

// PeerAddr returns the address of the node's peer port, or nil when Deps
// gave the transport.
func (n *Node) PeerAddr() net.Addr { return n.peerAddr }

// Addr returns the address clients dial. REQUIRES: not Deps.NoClients.
func (n *Node) Addr() net.Addr { return n.ln.Addr() }

// Done returns a channel closed when the RESP server stopped serving: after
// Close, or before it on a listener failure (see Err). REQUIRES: Start was
// called, without Deps.NoClients.
func (n *Node) Done() <-chan struct{} { return n.served }

// Err returns why the RESP server stopped serving. REQUIRES: Done is closed.
func (n *Node) Err() error { return n.serveErr }

// Store returns the node's local store. It stays open until Close returns
// (and after it when Deps gave it).
func (n *Node) Store() *replica.Store { return n.store }

// Coordinator returns the node's coordinator. It is closed by Close.
func (n *Node) Coordinator() *coordinator.Coordinator { return n.co }

// Syncer returns the node's anti-entropy syncer, nil for a standalone node.
func (n *Node) Syncer() *antientropy.Syncer { return n.ae }

// Server returns the node's RESP server, nil with Deps.NoClients. Close
// closes it.
func (n *Node) Server() *resp.Server { return n.srv }

// Close shuts the node down (see the package doc). In-flight client
// commands get until ctx is done; then their connections are closed and
// Close goes on. It returns the first errors of the parts, joined. What
// Deps gave (store, membership, transport) is left open.
func (n *Node) Close(ctx context.Context) error {
	err := ErrClosed
	n.closeOnce.Do(func() {
		err = n.close(ctx)
	})
	return err
}

func (n *Node) close(ctx context.Context) error {
	if dl, ok := ctx.Deadline(); ok {
		n.log.Info("shutting down", "timeout", time.Until(dl).Round(time.Millisecond).String())
	} else {
		n.log.Info("shutting down")
	}
	var serr error
	switch {
	case n.served != nil:
		cerr := n.srv.Close(ctx)
		if errors.Is(cerr, context.DeadlineExceeded) {
			n.log.Warn("shutdown timeout: closed connections with requests in flight")
			cerr = nil
		}
		<-n.served
		if n.tlsServed != nil {
			<-n.tlsServed
		}
		serr = n.serveErr
		if serr == nil || errors.Is(serr, net.ErrClosed) || errors.Is(serr, resp.ErrClosed) {
			serr = nil
		}
		serr = errors.Join(cerr, serr)
	case n.srv != nil: // never started: nothing is served
		_ = n.srv.Close(ctx)
		_ = n.ln.Close()
		if n.tlsLn != nil {
			_ = n.tlsLn.Close()
		}
	}
	cerr := n.closeCluster()
	if cerr != nil {
		n.log.Error("close cluster", "err", cerr)
	}
	if !n.ownStore {
		return errors.Join(serr, cerr)
	}
	sterr := n.store.Close()
	if sterr != nil {
		n.log.Error("close store", "err", sterr)
	} else {
		n.log.Info("store closed")
	}
	return errors.Join(serr, cerr, sterr)
}

// closeCluster stops active expiry, handoff and anti-entropy, leaves gossip (so the
// others route around this node at once), closes the transport (no more
// forwarded writes come in; deliveries still under way fail and become
// local hints) and then the coordinator, which waits for its background
// work. The store is closed after it. It closes only what Build made, and
// what Build got so far when Build fails.
func (n *Node) closeCluster() error {
	if n.stopExpiry != nil {
		n.stopExpiry()
	}
	if n.stopHandoff != nil {
		n.stopHandoff()
	}
	var merr, terr, cerr error
	if n.members != nil {
		merr = n.members.Close()
	}
	if n.tr != nil {
		terr = n.tr.Close()
	}
	if n.co != nil {
		cerr = n.co.Close()
	}
	n.wg.Wait()
	if errors.Is(terr, peer.ErrClosed) {
		terr = nil
	}
	return errors.Join(cerr, terr, merr)
}
