package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dynkv/dynkv/conf"
	"github.com/dynkv/dynkv/internal/launch"
)

// devOptions configure `dynkv dev`.
type devOptions struct {
	nodes    int
	dir      string
	port     int // client port of the first node; node i uses port+i
	gossip   int // gossip port of the first node; node i uses gossip+i
	n, r, w  int
	logLevel string
}

func newDevCmd(stdout, stderr io.Writer) *cobra.Command {
	o := devOptions{}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a local cluster of several nodes on loopback, for trying dynkv out",
		Long: `Run a local cluster in one process: --nodes nodes on 127.0.0.1, node i serving
clients on port --port+i (6379, 6380, ...), peers on that port + 10000 and gossip
on --gossip-port+i (7946, 7947, ...). Every node accepts every command. Data lives under --dir (a new
temporary directory, removed on exit, when not given). Ctrl-C stops the cluster.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDev(ctx, o, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.nodes, "nodes", 3, "number of nodes")
	f.StringVar(&o.dir, "dir", "", "data directory (one sub-directory per node); empty: a temporary one, removed on exit")
	f.IntVar(&o.port, "port", 6379, "client port of the first node")
	f.IntVar(&o.gossip, "gossip-port", 7946, "gossip port of the first node")
	f.IntVar(&o.n, "n", 3, "replicas of each key")
	f.IntVar(&o.r, "r", 2, "replicas that must answer a read")
	f.IntVar(&o.w, "w", 2, "replicas that must acknowledge a write")
	f.StringVar(&o.logLevel, "log.level", "warn", "lowest level logged: debug, info, warn, error")
	return cmd
}

// devConfig returns the configuration of node i of a dev cluster.
func devConfig(o devOptions, i int, seed, secret string) (conf.Config, error) {
	cfg := conf.DefaultConfig()
	cfg.Peer.Secret, cfg.Gossip.Secret = secret, secret
	cfg.Node.ID = "node-" + strconv.Itoa(i+1)
	cfg.Resp.Listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(o.port+i))
	cfg.Gossip.Listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(o.gossip+i))
	cfg.Gossip.Local = true
	if seed != "" {
		cfg.Gossip.Seeds = []string{seed}
	}
	cfg.Replica.Dir = filepath.Join(o.dir, cfg.Node.ID)
	cfg.Coordinator.N, cfg.Coordinator.R, cfg.Coordinator.W = o.n, o.r, o.w
	cfg.Coordinator.Timeout = 2 * time.Second
	cfg.ShutdownTimeout = 5 * time.Second
	var err error
	if cfg.Log.Level, err = parseDevLevel(o.logLevel); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

func parseDevLevel(s string) (l slog.Level, err error) {
	err = l.UnmarshalText([]byte(s))
	if err != nil {
		return l, fmt.Errorf("log.level: %q is not one of debug, info, warn, error", s)
	}
	return l, nil
}

// runDev runs the dev cluster until ctx is done. Node 1 starts first; the
// others join through its gossip address, one after another.
func runDev(ctx context.Context, o devOptions, stdout, stderr io.Writer) error {
	if o.nodes < 1 || o.nodes > 64 {
		return usageError{fmt.Errorf("--nodes: must be between 1 and 64, got %d", o.nodes)}
	}
	if o.dir == "" {
		dir, err := os.MkdirTemp("", "dynkv-dev-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.dir = dir
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, o.nodes)
	// One cluster secret for all the nodes, drawn for this run: the
	// cluster ports refuse every process that does not have it.
	seed, secret := "", launch.NewSecret()
	for i := 0; i < o.nodes; i++ {
		cfg, err := devConfig(o, i, seed, secret)
		if err != nil {
			cancel()
			wg.Wait()
			return usageError{err}
		}
		ready := make(chan net.Addr, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := runNode(ctx, cfg, newLogger(cfg.Log, stderr), func(a net.Addr) { ready <- a }); err != nil {
				errs <- fmt.Errorf("%s: %w", cfg.Node.ID, err)
				cancel()
			}
		}()
		select {
		case <-ready:
		case err := <-errs:
			cancel()
			wg.Wait()
			return err
		}
		seed = cfg.Gossip.Listen
	}
	fmt.Fprintf(stdout, "dynkv dev: %d nodes, N=%d R=%d W=%d, data in %s\n", o.nodes, o.n, o.r, o.w, o.dir)
	for i := 0; i < o.nodes; i++ {
		fmt.Fprintf(stdout, "  node-%d  redis-cli -p %d\n", i+1, o.port+i)
	}
	fmt.Fprintf(stdout, "every node accepts every command; try: redis-cli -p %d SET a 1 && redis-cli -p %d GET a\n", o.port, o.port+o.nodes-1)
	fmt.Fprintln(stdout, "Ctrl-C stops the cluster")
	<-ctx.Done()
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}
