package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/dynkv/dynkv/antientropy"
	"github.com/dynkv/dynkv/conf"
	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/peer"
	"github.com/dynkv/dynkv/replica"
	"github.com/dynkv/dynkv/resp"
	"github.com/dynkv/dynkv/ring"
)

// ErrClosed is returned by Close after the first call.
var ErrClosed = errors.New("node: closed")

// metaRing names the ring state in the store's metadata.
const metaRing = "ring"

// Node is one running dynkv node.
type Node struct {
	cfg     conf.Config
	log     *slog.Logger
	store   *replica.Store
	members *ring.Membership
	tr      *peer.TCP
	co      *coordinator.Coordinator
	ae      *antientropy.Syncer
	srv     *resp.Server
	ln      net.Listener // the client listener

	served      chan struct{} // closed when Serve returned, once Start ran
	serveErr    error         // Serve's result; read after served is closed
	stopHandoff context.CancelFunc
	wg          sync.WaitGroup
	closeOnce   sync.Once
}

// New opens the store in cfg.Replica.Dir, binds cfg.Resp.Listen and the
// peer port, joins the cluster (or starts a one-node one) and builds the
// RESP server. It serves peers at once and clients after Start. On error
// everything opened so far is closed.
func New(cfg conf.Config, log *slog.Logger) (_ *Node, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Node{cfg: cfg, log: log}
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	rcfg := cfg.Replica
	rcfg.Logger = log.With("pkg", "replica")
	if n.store, err = replica.Open(rcfg); err != nil {
		return nil, err
	}
	undo = append(undo, func() { _ = n.store.Close() })
	if n.ln, err = net.Listen("tcp", cfg.Resp.Listen); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	undo = append(undo, func() { _ = n.ln.Close() })
	peerLn, err := net.Listen("tcp", cfg.PeerListen())
	if err != nil {
		return nil, fmt.Errorf("peer.listen: %w", err)
	}
	if err := n.join(peerLn); err != nil {
		_ = peerLn.Close()
		return nil, err
	}
	undo = append(undo, func() { _ = n.closeCluster() })
	pcfg := cfg.Resp
	pcfg.Logger = log.With("pkg", "resp")
	if n.srv, err = resp.New(pcfg, n.co, n.store, pcfg.Logger); err != nil {
		return nil, err
	}
	n.srv.SetAdmin(adminView{n})
	return n, nil
}

// join starts membership, the peer transport serving peerLn, the
// coordinator, anti-entropy and hinted handoff.
func (n *Node) join(peerLn net.Listener) (err error) {
	cfg, log := n.cfg, n.log
	saved, err := n.store.GetMeta(context.Background(), metaRing)
	if err != nil {
		return err
	}
	g := cfg.Gossip
	g.NodeID, g.ClientAddr, g.PeerAddr = cfg.Node.ID, n.ln.Addr().String(), peerLn.Addr().String()
	g.Logger = log.With("pkg", "ring")
	g.Replicas = cfg.Coordinator.N
	n.members, err = ring.Join(g, saved, func(b []byte) error {
		return n.store.SetMeta(context.Background(), metaRing, b)
	})
	if err != nil {
		return fmt.Errorf("gossip: %w", err)
	}
	tcfg := cfg.Peer
	tcfg.Listen = peerLn.Addr().String()
	tcfg.Logger = log.With("pkg", "peer")
	mux := peer.NewMux(n.store)
	// n.co is set before the transport serves peerLn (below), so no
	// forwarded write arrives before the coordinator exists.
	mux.Handle(peer.OpForward, func(ctx context.Context, req []byte) []byte { return n.co.Serve(ctx, req) })
	if n.tr, err = peer.NewTCP(tcfg, cfg.Node.ID, n.members.PeerAddr, mux.Serve); err != nil {
		_ = n.members.Close()
		return err
	}
	if n.co, err = coordinator.NewCluster(cfg.Coordinator, n.store, n.members, n.tr, nil, log.With("pkg", "coordinator")); err != nil {
		_ = n.tr.Close()
		_ = n.members.Close()
		return err
	}
	acfg := cfg.AntiEntropy
	acfg.N, acfg.Logger = cfg.Coordinator.N, log.With("pkg", "antientropy")
	if n.ae, err = antientropy.New(acfg, n.store, n.members, n.tr, nil); err != nil {
		_ = n.co.Close()
		_ = n.tr.Close()
		_ = n.members.Close()
		return err
	}
	n.wg.Go(func() {
		if err := n.tr.Serve(peerLn); err != nil && !errors.Is(err, peer.ErrClosed) {
			log.Error("peer transport stopped", "err", err)
		}
	})
	hctx, cancel := context.WithCancel(context.Background())
	n.stopHandoff = cancel
	n.wg.Go(func() { _ = n.co.RunHandoff(hctx, cfg.HandoffInterval) })
	n.wg.Go(func() { _ = n.ae.Run(hctx) })
	log.Info("cluster joined", "gossip", n.members.Addr(), "peer", tcfg.Listen,
		"members", len(n.members.Members()), "seeds", len(cfg.Gossip.Seeds))
	return nil
}

// Start serves clients on the bound address. Done reports when serving
// stopped by itself (a listener failure).
func (n *Node) Start() {
	n.served = make(chan struct{})
	go func() { // awaited by Close
		defer close(n.served)
		n.serveErr = n.srv.Serve(n.ln)
	}()
	n.log.Info("ready", "addr", n.ln.Addr().String())
}

// Addr returns the address clients dial.
func (n *Node) Addr() net.Addr { return n.ln.Addr() }

// Done returns a channel closed when the RESP server stopped serving: after
// Close, or before it on a listener failure (see Err). REQUIRES: Start was
// called.
func (n *Node) Done() <-chan struct{} { return n.served }

// Err returns why the RESP server stopped serving. REQUIRES: Done is closed.
func (n *Node) Err() error { return n.serveErr }

// Close shuts the node down (see the package doc). In-flight client
// commands get until ctx is done; then their connections are closed and
// Close goes on. It returns the first errors of the parts, joined.
func (n *Node) Close(ctx context.Context) error {
	err := ErrClosed
	n.closeOnce.Do(func() {
		err = n.close(ctx)
	})
	return err
}

func (n *Node) close(ctx context.Context) error {
	n.log.Info("shutting down")
	var serr error
	if n.served != nil {
		cerr := n.srv.Close(ctx)
		if errors.Is(cerr, context.DeadlineExceeded) {
			n.log.Warn("shutdown timeout: closed connections with requests in flight")
			cerr = nil
		}
		<-n.served
		serr = n.serveErr
		if serr == nil || errors.Is(serr, net.ErrClosed) || errors.Is(serr, resp.ErrClosed) {
			serr = nil
		}
		serr = errors.Join(cerr, serr)
	} else {
		_ = n.ln.Close()
	}
	cerr := n.closeCluster()
	if cerr != nil {
		n.log.Error("close cluster", "err", cerr)
	}
	sterr := n.store.Close()
	if sterr != nil {
		n.log.Error("close store", "err", sterr)
	} else {
		n.log.Info("store closed")
	}
	return errors.Join(serr, cerr, sterr)
}

// closeCluster stops handoff and anti-entropy, leaves gossip (so the
// others route around this node at once), closes the transport (no more
// forwarded writes come in; deliveries still under way fail and become
// local hints) and then the coordinator, which waits for its background
// work. The store is closed after it.
func (n *Node) closeCluster() error {
	n.stopHandoff()
	merr := n.members.Close()
	terr := n.tr.Close()
	cerr := n.co.Close()
	n.wg.Wait()
	if errors.Is(terr, peer.ErrClosed) {
		terr = nil
	}
	return errors.Join(cerr, terr, merr)
}
