package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/dynkv/dynkv/conf"
	"github.com/dynkv/dynkv/node"
)

// runNode runs one node configured by cfg (assembled by package node) until
// ctx is done, then shuts it down gracefully: the server stops accepting,
// in-flight requests get cfg.ShutdownTimeout to finish, the coordinator
// stops its background work and the store is closed. It returns nil after a
// clean shutdown. ready, when not nil, is called with the bound address
// once the node accepts connections (cfg.Resp.Listen may ask for port 0).
// runNode blocks until the node is down.
func runNode(ctx context.Context, cfg conf.Config, log *slog.Logger, ready func(net.Addr)) error {
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	log = log.With("node", cfg.Node.ID)
	log.Info("starting", append([]any{"version", Version}, configAttrs(cfg)...)...)
	n, err := node.New(cfg, log)
	if err != nil {
		return err
	}
	if cfg.PprofListen != "" {
		_, stop, err := servePprof(cfg.PprofListen, log)
		if err != nil {
			_ = n.Close(ctx)
			return err
		}
		defer stop()
	}
	n.Start()
	if ready != nil {
		ready(n.Addr())
	}
	var serr error
	select {
	case <-n.Done():
		// The server stopped by itself: a listener failure.
		serr = fmt.Errorf("serve: %w", n.Err())
	case <-ctx.Done():
	}
	cctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := n.Close(cctx); err != nil {
		return errors.Join(serr, fmt.Errorf("shutdown: %w", err))
	}
	return serr
}
