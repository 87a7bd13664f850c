package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dynkv/dynkv/internal/jepsen"
)

// chaosOptions configure `dynkv chaos`.
type chaosOptions struct {
	cfg     jepsen.Config
	seeds   string
	faults  string
	noNetns bool
	keep    bool
	jsonOut string
}

func newChaosCmd(stdout, stderr io.Writer) *cobra.Command {
	o := chaosOptions{cfg: jepsen.DefaultConfig()}
	cmd := &cobra.Command{
		Use:   "chaos",
		Short: "Check that no acknowledged write is lost under faults (Jepsen-style)",
		Long: `Start a cluster of dynkv processes on loopback, run the cart, new-key and
last-writer-wins workloads against it while injecting faults (kill -9,
kill of two of a key's home nodes, SIGSTOP pauses, network partitions), heal,
and check that no acknowledged write was lost. The LWW workload is the
control: it must lose writes, or the checker could not see loss.

Partitions need root: the run then re-executes itself in a network namespace
of its own (ip netns), each node on its own 127.0.0.x address, and cuts
traffic with nftables. Without root, nft or ip, partition faults are skipped
and the report says so.

The schedule is a function of the seed (printed; --seeds replays it). The
exit status is non-zero when a check fails. A long run:

    dynkv chaos --duration 30m --seeds 7`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runChaos(cmd, o, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.seeds, "seeds", "", "comma-separated seeds, one run each (default: one random seed)")
	f.StringVar(&o.faults, "faults", "all", "fault kinds to draw from: all, or a list of "+strings.Join(kindNames(), ","))
	f.IntVar(&o.cfg.Nodes, "nodes", o.cfg.Nodes, "cluster size")
	f.IntVar(&o.cfg.N, "n", o.cfg.N, "replicas of each key")
	f.IntVar(&o.cfg.R, "r", o.cfg.R, "read quorum")
	f.IntVar(&o.cfg.W, "w", o.cfg.W, "write quorum")
	f.DurationVar(&o.cfg.Duration, "duration", o.cfg.Duration, "how long the workloads run under faults")
	f.DurationVar(&o.cfg.Hold, "hold", o.cfg.Hold, "how long each fault lasts")
	f.DurationVar(&o.cfg.Gap, "gap", o.cfg.Gap, "fault-free time between faults")
	f.IntVar(&o.cfg.Carts, "carts", o.cfg.Carts, "cart keys at a time (cart workload)")
	f.IntVar(&o.cfg.LWWCarts, "lww-carts", o.cfg.LWWCarts, "cart keys at a time of the LWW control (0: no control)")
	f.IntVar(&o.cfg.ClientsPerCart, "clients-per-cart", o.cfg.ClientsPerCart, "concurrent clients adding to each cart")
	f.IntVar(&o.cfg.KeyClients, "key-clients", o.cfg.KeyClients, "clients writing new keys")
	f.IntVar(&o.cfg.ExpiryClients, "expiry-clients", o.cfg.ExpiryClients, "clients writing keys with TTLs and probing them once expired")
	f.IntVar(&o.cfg.LatencyClients, "latency-clients", o.cfg.LatencyClients, "clients measuring latency and throughput of requests to the nodes a fault leaves healthy")
	f.DurationVar(&o.cfg.OpTimeout, "op-timeout", o.cfg.OpTimeout, "a client's deadline for one request")
	f.DurationVar(&o.cfg.NodeTimeout, "node-timeout", o.cfg.NodeTimeout, "the nodes' deadline for a read or write over the replicas")
	f.DurationVar(&o.cfg.ConvergeTimeout, "converge-timeout", o.cfg.ConvergeTimeout, "how long the cluster may take to converge after healing")
	f.StringVar(&o.cfg.Binary, "binary", "", "dynkv executable the nodes run (default: this one)")
	f.StringVar(&o.cfg.Dir, "dir", "", "directory for the nodes' data and logs (default: a temporary one, removed after a passing run)")
	f.BoolVar(&o.keep, "keep", false, "keep the data and logs of a passing run too")
	f.BoolVar(&o.noNetns, "no-netns", false, "do not create a network namespace (partition faults are skipped)")
	f.BoolVar(&o.cfg.RequirePartitions, "require-partitions", false, "fail when partitions cannot run here instead of skipping them")
	f.StringVar(&o.jsonOut, "json", "", "also write the reports as JSON to this file")
	return cmd
}

func kindNames() []string {
	s := make([]string, len(jepsen.Kinds))
	for i, k := range jepsen.Kinds {
		s[i] = string(k)
	}
	return s
}

func runChaos(cmd *cobra.Command, o chaosOptions, stdout, stderr io.Writer) error {
	kinds, err := jepsen.ParseKinds(o.faults)
	if err != nil {
		return usageError{err}
	}
	o.cfg.Kinds = kinds
	seeds, err := parseSeeds(o.seeds)
	if err != nil {
		return usageError{err}
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.cfg.Binary == "" {
		if o.cfg.Binary, err = os.Executable(); err != nil {
			return fmt.Errorf("chaos: %w", err)
		}
	}
	wantsNet := slices.ContainsFunc(kinds, func(k jepsen.Kind) bool {
		return k == jepsen.Halves || k == jepsen.Isolate || k == jepsen.Bridge || k == jepsen.OneWay
	})
	if wantsNet && !o.noNetns {
		if ok, why := jepsen.CanNetns(); ok {
			// The same command, inside a namespace of its own, with the
			// seeds fixed so that the inner run prints the same ones.
			var set []string
			cmd.Flags().Visit(func(f *pflag.Flag) { set = append(set, "--"+f.Name+"="+f.Value.String()) })
			args := append([]string{"chaos"}, withSeeds(set, seeds)...)
			args = append(args, "--binary", o.cfg.Binary)
			// The inner run is this harness; --binary is what the nodes run.
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("chaos: %w", err)
			}
			err = jepsen.InNetns(ctx, self, args, stdout, stderr)
			if !errors.Is(err, jepsen.ErrNetnsSetup) {
				return err
			}
			if o.cfg.RequirePartitions {
				return err
			}
			fmt.Fprintf(stderr, "chaos: %v: partition faults are skipped\n", err)
		} else if os.Getenv(jepsen.NetnsEnv) == "" {
			if o.cfg.RequirePartitions {
				return fmt.Errorf("chaos: --require-partitions: no network namespace: %s", why)
			}
			fmt.Fprintf(stderr, "chaos: no network namespace (%s): partition faults are skipped\n", why)
		}
	}
	o.cfg.Netns = os.Getenv(jepsen.NetnsEnv) != "" && !o.noNetns
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// go-redis logs every failed dial, which a run provokes by design.
	redis.SetLogger(quietRedisLog{log})

	var reports []*jepsen.Report
	failed := 0
	for _, seed := range seeds {
		cfg := o.cfg
		cfg.Seed = seed
		dir, temp := cfg.Dir, cfg.Dir == ""
		if temp {
			if dir, err = os.MkdirTemp("", "dynkv-chaos-"); err != nil {
				return fmt.Errorf("chaos: %w", err)
			}
		} else {
			dir = filepath.Join(dir, "seed-"+strconv.FormatUint(seed, 10))
		}
		cfg.Dir = dir
		rep, err := jepsen.Run(ctx, cfg, log, stderr)
		if rep != nil {
			rep.Print(stdout)
			reports = append(reports, rep)
		}
		if err != nil || !rep.Pass {
			failed++
			fmt.Fprintf(stdout, "data and node logs kept in %s\n", dir)
		} else if temp && !o.keep {
			_ = os.RemoveAll(dir)
		}
		if err != nil {
			return fmt.Errorf("chaos: seed %d: %w", seed, err)
		}
	}
	if o.jsonOut != "" {
		b, err := json.MarshalIndent(reports, "", "  ")
		if err != nil {
			return fmt.Errorf("chaos: %w", err)
		}
		if err := os.WriteFile(o.jsonOut, b, 0o644); err != nil {
			return fmt.Errorf("chaos: %w", err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("chaos: %d of %d runs failed", failed, len(seeds))
	}
	return nil
}

// quietRedisLog sends go-redis's log lines to slog at debug level.
type quietRedisLog struct{ log *slog.Logger }

func (l quietRedisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, v...), "pkg", "go-redis")
}

// parseSeeds parses a comma-separated seed list; empty means one random
// seed.
func parseSeeds(s string) ([]uint64, error) {
	if s == "" {
		return []uint64{uint64(time.Now().UnixNano()) % 1_000_000}, nil
	}
	var seeds []uint64
	for part := range strings.SplitSeq(s, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(part), 10, 64)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("chaos: --seeds: %q is not a positive integer", part)
		}
		seeds = append(seeds, n)
	}
	return seeds, nil
}

// withSeeds returns args with --seeds set to seeds.
func withSeeds(args []string, seeds []uint64) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--seeds" && i+1 < len(args):
			i++
			continue
		case strings.HasPrefix(a, "--seeds="):
			continue
		}
		out = append(out, a)
	}
	s := make([]string, len(seeds))
	for i, seed := range seeds {
		s[i] = strconv.FormatUint(seed, 10)
	}
	return append(out, "--seeds", strings.Join(s, ","))
}
