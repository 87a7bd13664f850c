package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/dynkv/dynkv/conf"
	"github.com/dynkv/dynkv/replica"
	"github.com/dynkv/dynkv/resp"
)

// runNode runs one node configured by cfg until ctx is done, then shuts it
// down gracefully: the server stops accepting, in-flight requests get
// cfg.ShutdownTimeout to finish, the coordinator stops its background work
// and the store is closed. It returns nil
// after a clean shutdown. ready, when not nil, is called with the bound
// address once the node accepts connections (cfg.Resp.Listen may ask for
// port 0). runNode blocks until the node is down.
func runNode(ctx context.Context, cfg conf.Config, log *slog.Logger, ready func(net.Addr)) (err error) {
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	log = log.With("node", cfg.Node.ID)
	log.Info("starting", append([]any{"version", Version}, configAttrs(cfg)...)...)

	rcfg := cfg.Replica
	rcfg.Logger = log.With("pkg", "replica")
	store, err := replica.Open(rcfg)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := store.Close(); cerr != nil {
			log.Error("close store", "err", cerr)
			err = errors.Join(err, cerr)
			return
		}
		log.Info("store closed")
	}()

	ln, err := net.Listen("tcp", cfg.Resp.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close() // harmless after the server closed it
	peerLn, err := net.Listen("tcp", cfg.PeerListen())
	if err != nil {
		return fmt.Errorf("peer.listen: %w", err)
	}
	node, err := startCluster(cfg, store, ln.Addr().String(), peerLn, log)
	if err != nil {
		_ = peerLn.Close()
		return err
	}
	// Runs before the store is closed: the coordinator's background work
	// uses the store.
	defer func() {
		if cerr := node.close(); cerr != nil {
			log.Error("close cluster", "err", cerr)
			err = errors.Join(err, cerr)
		}
	}()
	pcfg := cfg.Resp
	pcfg.Logger = log.With("pkg", "resp")
	srv, err := resp.New(pcfg, node.co, store, pcfg.Logger)
	if err != nil {
		return err
	}
	srv.SetCluster(node.members)
	srv.SetAntiEntropy(node.ae)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("ready", "addr", ln.Addr().String())
	if ready != nil {
		ready(ln.Addr())
	}

	select {
	case err := <-served:
		// The server stopped by itself: a listener failure.
		cctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		_ = srv.Close(cctx)
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	return shutdown(cfg, log, srv, served)
}

// shutdown closes srv gracefully and waits for Serve to return.
func shutdown(cfg conf.Config, log *slog.Logger, srv *resp.Server, served <-chan error) error {
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	cctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	cerr := srv.Close(cctx)
	if errors.Is(cerr, context.DeadlineExceeded) {
		log.Warn("shutdown timeout: closed connections with requests in flight")
		cerr = nil
	}
	serr := <-served
	if isClosed(serr) {
		serr = nil
	}
	if err := errors.Join(cerr, serr); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// isClosed reports whether err is what Serve returns after Close.
func isClosed(err error) bool {
	return err == nil || errors.Is(err, net.ErrClosed) || errors.Is(err, resp.ErrClosed)
}
