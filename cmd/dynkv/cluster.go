package main

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
	"github.com/dynkv/dynkv/ring"
)

// metaRing names the ring state in the store's metadata.
const metaRing = "ring"

// clusterNode is the cluster half of a node: membership (gossip), the peer
// transport and the coordinator over them, hinted handoff and
// anti-entropy.
type clusterNode struct {
	members *ring.Membership
	tr      *peer.TCP
	co      *coordinator.Coordinator
	ae      *antientropy.Syncer
	log     *slog.Logger

	stopHandoff context.CancelFunc
	wg          sync.WaitGroup
}

// startCluster joins the cluster (or starts a one-node one) and serves peer
// requests on peerLn. clientAddr is gossiped for clients and tools.
func startCluster(cfg conf.Config, store *replica.Store, clientAddr string, peerLn net.Listener, log *slog.Logger) (_ *clusterNode, err error) {
	n := &clusterNode{log: log}
	saved, err := store.GetMeta(context.Background(), metaRing)
	if err != nil {
		return nil, err
	}
	g := cfg.Gossip
	g.NodeID, g.ClientAddr, g.PeerAddr = cfg.Node.ID, clientAddr, peerLn.Addr().String()
	g.Logger = log.With("pkg", "ring")
	g.Replicas = cfg.Coordinator.N
	n.members, err = ring.Join(g, saved, func(b []byte) error {
		return store.SetMeta(context.Background(), metaRing, b)
	})
	if err != nil {
		return nil, fmt.Errorf("gossip: %w", err)
	}
	tcfg := cfg.Peer
	tcfg.Listen = peerLn.Addr().String()
	tcfg.Logger = log.With("pkg", "peer")
	var co *coordinator.Coordinator
	mux := peer.NewMux(store)
	mux.Handle(peer.OpForward, func(ctx context.Context, req []byte) []byte { return co.Serve(ctx, req) })
	n.tr, err = peer.NewTCP(tcfg, cfg.Node.ID, n.members.PeerAddr, mux.Serve)
	if err != nil {
		_ = n.members.Close()
		return nil, err
	}
	co, err = coordinator.NewCluster(cfg.Coordinator, store, n.members, n.tr, nil, log.With("pkg", "coordinator"))
	if err != nil {
		_ = n.tr.Close()
		_ = n.members.Close()
		return nil, err
	}
	n.co = co
	acfg := cfg.AntiEntropy
	acfg.N, acfg.Logger = cfg.Coordinator.N, log.With("pkg", "antientropy")
	n.ae, err = antientropy.New(acfg, store, n.members, n.tr, nil)
	if err != nil {
		_ = co.Close()
		_ = n.tr.Close()
		_ = n.members.Close()
		return nil, err
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.tr.Serve(peerLn); err != nil && !errors.Is(err, peer.ErrClosed) {
			log.Error("peer transport stopped", "err", err)
		}
	}()
	hctx, cancel := context.WithCancel(context.Background())
	n.stopHandoff = cancel
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		_ = co.RunHandoff(hctx, cfg.HandoffInterval)
	}()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		_ = n.ae.Run(hctx)
	}()
	log.Info("cluster joined", "gossip", n.members.Addr(), "peer", tcfg.Listen,
		"members", len(n.members.Members()), "seeds", len(cfg.Gossip.Seeds))
	return n, nil
}

// close stops handoff and anti-entropy, leaves gossip (so the others route around this
// node at once), closes the transport (no more forwarded writes come in;
// deliveries still under way fail and become local hints) and then the
// coordinator, which waits for its background work. The store is the
// caller's to close afterwards.
func (n *clusterNode) close() error {
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
