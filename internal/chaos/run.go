package chaos

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/internal/clustertest"
	"github.com/dynkv/dynkv/internal/history"
)

// Config configures one run.
type Config struct {
	// Seed seeds the fault schedule, the clients' choice of nodes and the
	// drop and delay decisions. Default 1.
	Seed uint64
	// Workload is the workload the clients run: history.Cart or
	// history.LWW. Default history.Cart.
	Workload history.Workload
	// Nodes is the cluster size. Default 5.
	Nodes int
	// Carts is the number of carts (keys). Default 3.
	Carts int
	// ClientsPerCart is the number of concurrent clients adding to each
	// cart. Default 4.
	ClientsPerCart int
	// Ops bounds the adds of the whole run; 0 means unbounded (Duration
	// must be set). Default 600.
	Ops int
	// Duration bounds the run's workload in time; 0 means unbounded (Ops
	// must be set). Default 0.
	Duration time.Duration
	// R and W are the clients' read and write quorums. Default 2 and 2.
	R, W int
	// OpTimeout is a client's deadline for one add (read and write).
	// Default 250ms.
	OpTimeout time.Duration
	// Kinds are the fault kinds the schedule draws from; nil means all,
	// empty non-nil means no faults.
	Kinds []Kind
	// FaultOps is how many adds complete while a fault is held (split over
	// its phases). Default 60.
	FaultOps int
	// GapOps is how many adds complete between two faults. Default 15.
	GapOps int
	// MaxHold bounds a fault's hold (and a gap) in time when adds are slow.
	// Default 3s.
	MaxHold time.Duration
	// HandoffInterval is how often every running node replays its hints
	// during the run, as a node's handoff loop does. Default 20ms.
	HandoffInterval time.Duration
	// AntiEntropyInterval is how often every running node runs an
	// anti-entropy round during the run, as a node's anti-entropy loop
	// does; 0 disables it. The final check also requires anti-entropy to
	// bring every partition's replicas to the same tree root. Default 200ms.
	AntiEntropyInterval time.Duration
	// SettleTimeout bounds each wait for the cluster to settle: after a
	// power loss, and each phase of the final check. Default 20s.
	SettleTimeout time.Duration
	// MaxRounds bounds the read-repair rounds of the final check.
	// Default 10.
	MaxRounds int
	// Coordinator configures every node's coordinator. Default
	// clustertest.Config() with a 1s Timeout.
	Coordinator coordinator.Config
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	co := clustertest.Config()
	co.Timeout = time.Second
	return Config{
		Seed: 1, Workload: history.Cart, Nodes: 5, Carts: 3, ClientsPerCart: 4, Ops: 600, R: 2, W: 2,
		OpTimeout: 250 * time.Millisecond, FaultOps: 60, GapOps: 15, MaxHold: 3 * time.Second,
		HandoffInterval: 20 * time.Millisecond, AntiEntropyInterval: 200 * time.Millisecond, SettleTimeout: 20 * time.Second, MaxRounds: 10, Coordinator: co,
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.Workload != history.Cart && c.Workload != history.LWW:
		return fmt.Errorf("chaos: workload: must be %s or %s, got %q", history.Cart, history.LWW, c.Workload)
	case c.Nodes < 3:
		return fmt.Errorf("chaos: nodes: must be at least 3, got %d", c.Nodes)
	case c.Carts < 1:
		return fmt.Errorf("chaos: carts: must be at least 1, got %d", c.Carts)
	case c.ClientsPerCart < 1:
		return fmt.Errorf("chaos: clients per cart: must be at least 1, got %d", c.ClientsPerCart)
	case c.Ops < 0 || c.Duration < 0 || c.Ops == 0 && c.Duration == 0:
		return fmt.Errorf("chaos: ops, duration: one must be positive, got %d and %s", c.Ops, c.Duration)
	case c.OpTimeout <= 0 || c.MaxHold <= 0 || c.HandoffInterval <= 0 || c.SettleTimeout <= 0:
		return fmt.Errorf("chaos: op timeout, max hold, handoff interval, settle timeout: must be positive")
	case c.FaultOps < 1 || c.GapOps < 0:
		return fmt.Errorf("chaos: fault ops: must be positive, gap ops not negative, got %d and %d", c.FaultOps, c.GapOps)
	case c.MaxRounds < 1:
		return fmt.Errorf("chaos: max rounds: must be positive, got %d", c.MaxRounds)
	case c.Nodes < 5 && (c.Kinds == nil || len(c.Kinds) > 0):
		return fmt.Errorf("chaos: kinds: faults need at least 5 nodes, got %d", c.Nodes)
	}
	return c.Coordinator.Validate()
}

// FaultRecord is a fault as it happened.
type FaultRecord struct {
	Fault
	Start, End time.Time // the first action and the last (undoing) one
}

// Run runs one seeded run on c and checks it. It returns an error only if
// the run could not be carried out; what the check finds is in the Result.
//
// REQUIRES: c is a new cluster of cfg.Nodes nodes, made by clustertest.New
// with cfg.Coordinator, that Run may break, heal and restart; Run is
// called from the goroutine of c's test, since clustertest fails the test
// from it (Run drives the faults from the calling goroutine).
func Run(ctx context.Context, c *clustertest.Cluster, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if n := len(c.IDs()); n != cfg.Nodes {
		return nil, fmt.Errorf("chaos: nodes: the cluster has %d, the config says %d", n, cfg.Nodes)
	}
	began := time.Now()
	homes := make([][]string, cfg.Carts)
	for i := range homes {
		homes[i] = c.Home(cartKey(i))
	}
	hist := history.New()

	stopHandoff := startHandoff(ctx, c, cfg.HandoffInterval)
	stopAE := startAntiEntropy(ctx, c, cfg.AntiEntropyInterval)
	clientCtx, cancelClients := context.WithCancel(ctx)
	if cfg.Duration > 0 {
		clientCtx, cancelClients = context.WithTimeout(ctx, cfg.Duration)
	}
	defer cancelClients()
	tg := newTarget(c)
	cl := startClients(clientCtx, cfg, tg, hist)
	done := make(chan struct{})
	go func() { cl.wait(); close(done) }()

	d := &driver{cfg: cfg, t: tg, hist: hist, done: done, homes: homes}
	d.run(ctx, newSchedule(cfg, c.IDs(), homes))
	<-done
	stopHandoff()
	stopAE()

	res := &Result{Seed: cfg.Seed, Workload: cfg.Workload, Faults: d.faults, Problems: d.problems}
	check(ctx, cfg, c, homes, hist.Ops(), res)
	res.Elapsed = time.Since(began)
	return res, nil
}

// driver injects the faults of a schedule while the clients run.
type driver struct {
	cfg      Config
	t        *target
	hist     *history.History
	done     <-chan struct{} // closed when every client has stopped
	homes    [][]string
	faults   []FaultRecord
	problems []string
}

func (d *driver) run(ctx context.Context, s *schedule) {
	if d.cfg.Kinds != nil && len(d.cfg.Kinds) == 0 {
		return
	}
	for d.hold(d.cfg.GapOps) {
		f := s.next()
		rec := FaultRecord{Fault: f, Start: time.Now()}
		for i, act := range f.actions {
			if i > 0 {
				// Hold even when the clients have stopped: the fault is
				// undone at once then.
				d.hold(d.cfg.FaultOps / (len(f.actions) - 1))
			}
			act(d.t)
		}
		rec.End = time.Now()
		d.faults = append(d.faults, rec)
		if f.Settle {
			if err := settle(ctx, d.t.c, d.homes, d.cfg.SettleTimeout); err != nil {
				d.problems = append(d.problems, fmt.Sprintf("after %s: %v", f.Desc, err))
			}
		}
	}
}

// hold waits until n more adds have completed, MaxHold has passed, or the
// clients have stopped; it reports whether they are still running.
func (d *driver) hold(n int) bool {
	target := d.hist.Len() + n
	timer := time.NewTimer(d.cfg.MaxHold)
	defer timer.Stop()
	for d.hist.Len() < target {
		select {
		case <-d.hist.Progress():
		case <-d.done:
			return false
		case <-timer.C:
			return true
		}
	}
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// startHandoff replays hints on every running node every interval, as
// each node's handoff loop would, until the returned stop is called.
func startHandoff(ctx context.Context, c *clustertest.Cluster, interval time.Duration) (stop func()) {
	return every(ctx, interval, func(ctx context.Context) { replayHints(ctx, c) })
}

// startAntiEntropy runs an anti-entropy round on every running node every
// interval, as each node's loop would, until the returned stop is called.
// Rounds on a node that is killed meanwhile fail and are ignored.
func startAntiEntropy(ctx context.Context, c *clustertest.Cluster, interval time.Duration) (stop func()) {
	if interval == 0 {
		return func() {}
	}
	return every(ctx, interval, func(ctx context.Context) {
		for _, id := range c.IDs() {
			if ae := c.Node(id).AE; ae != nil {
				_, _ = ae.RunRound(ctx)
			}
		}
	})
}

// every runs f at once and then every interval on a goroutine of its own
// until the returned stop is called, which waits for it.
func every(ctx context.Context, interval time.Duration, f func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			f(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	return func() { cancel(); wg.Wait() }
}

// replayHints runs hinted handoff once on every running node. Errors (a
// node stopping meanwhile, a peer failing) leave hints for the next time.
func replayHints(ctx context.Context, c *clustertest.Cluster) {
	for _, id := range c.IDs() {
		if co := c.Node(id).Coord; co != nil {
			_, _ = co.ReplayHints(ctx)
		}
	}
}

// hintsHeld counts the hints held by running nodes.
func hintsHeld(ctx context.Context, c *clustertest.Cluster) (int, error) {
	n := 0
	for _, id := range c.IDs() {
		st := c.Node(id).Store
		if st == nil {
			continue
		}
		m, err := st.HintCount(ctx)
		if err != nil {
			return 0, err
		}
		for _, k := range m {
			n += k
		}
	}
	return n, nil
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(ctx context.Context, timeout, every time.Duration, cond func() bool) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(every)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return cond()
		case <-t.C:
		}
	}
	return true
}
