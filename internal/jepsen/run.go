package jepsen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/dynkv/dynkv/internal/history"
)

// Config configures a run.
type Config struct {
	// Binary is the dynkv executable the nodes run.
	Binary string
	// Dir holds the nodes' data directories and logs.
	Dir string
	// Seed seeds the fault schedule and the clients' choices.
	Seed uint64
	// Nodes is the cluster size (at least 5 with partitions).
	Nodes int
	// N, R, W are the replication and quorum settings.
	N, R, W int
	// Duration is how long the workloads run while faults are injected.
	Duration time.Duration
	// Kinds are the fault kinds drawn from. Partition kinds are dropped
	// (and the report says so) when partitions cannot run here.
	Kinds []Kind
	// Hold is how long a fault lasts; Gap how long the cluster runs
	// fault-free between two faults.
	Hold, Gap time.Duration
	// Carts and LWWCarts are the cart slots of the cart and lww workloads,
	// ClientsPerCart the clients adding to each; KeyClients write new keys.
	Carts, LWWCarts, ClientsPerCart, KeyClients int
	// ExpiryClients write keys with TTLs and probe them once expired
	// (expiry.go).
	ExpiryClients int
	// LatencyClients measure the latency and throughput of requests to the
	// nodes a fault leaves healthy (latency.go).
	LatencyClients int
	// OpTimeout is a client's deadline for one request; NodeTimeout the
	// nodes' own deadline for a read or write over the replicas.
	OpTimeout, NodeTimeout time.Duration
	// ConvergeTimeout bounds the wait for convergence after healing.
	ConvergeTimeout time.Duration
	// Netns is set when the run is inside its own network namespace and
	// may partition the nodes with nftables.
	Netns bool
	// MinAvailability is the fraction of operations on the majority side
	// that must succeed during a minority fault. Default 0.99.
	MinAvailability float64
	// RequirePartitions makes a run that cannot partition (no namespace,
	// no nft) an error instead of a run without partitions.
	RequirePartitions bool
}

// DefaultConfig returns a 5-node, N=3 R=2 W=2, one-minute run with every
// fault kind.
func DefaultConfig() Config {
	return Config{
		Seed: 1, Nodes: 5, N: 3, R: 2, W: 2, Duration: time.Minute, Kinds: slices.Clone(Kinds),
		Hold: 8 * time.Second, Gap: 4 * time.Second,
		Carts: 3, LWWCarts: 2, ClientsPerCart: 3, KeyClients: 3, ExpiryClients: 2, LatencyClients: 3,
		OpTimeout: 3 * time.Second, NodeTimeout: 2 * time.Second, ConvergeTimeout: time.Minute,
		MinAvailability: 0.99,
	}
}

// Clients returns the number of concurrent clients.
func (c Config) Clients() int {
	return (c.Carts+c.LWWCarts)*c.ClientsPerCart + c.KeyClients + c.ExpiryClients
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.Binary == "":
		return errors.New("jepsen: binary: missing")
	case c.Dir == "":
		return errors.New("jepsen: dir: missing")
	case c.Nodes < 3:
		return fmt.Errorf("jepsen: nodes: at least 3, got %d", c.Nodes)
	case c.N < 1 || c.N > c.Nodes || c.R < 1 || c.R > c.N || c.W < 1 || c.W > c.N:
		return fmt.Errorf("jepsen: n, r, w: need 1 <= r, w <= n <= nodes, got n=%d r=%d w=%d", c.N, c.R, c.W)
	case c.Duration <= 0 || c.Hold <= 0 || c.Gap < 0 || c.OpTimeout <= 0 || c.NodeTimeout <= 0 || c.ConvergeTimeout <= 0:
		return errors.New("jepsen: duration, hold, op timeout, node timeout, converge timeout: must be positive")
	case c.Carts < 1 || c.LWWCarts < 0 || c.ClientsPerCart < 1 || c.KeyClients < 0 || c.ExpiryClients < 0 || c.LatencyClients < 0:
		return errors.New("jepsen: carts and clients per cart: at least 1")
	case c.MinAvailability < 0 || c.MinAvailability > 1:
		return fmt.Errorf("jepsen: min availability: a fraction, got %v", c.MinAvailability)
	}
	for _, k := range c.Kinds {
		if k.needsNet() && c.Nodes < 5 {
			return fmt.Errorf("jepsen: fault %s needs at least 5 nodes", k)
		}
	}
	return nil
}

// FaultRecord is a fault as it happened.
type FaultRecord struct {
	Fault
	Desc       string
	Start, End time.Time
	Minority   []string // node names on the minority side
	// Detected is how long the failure detector took to report a paused
	// node down (-1: not within the wait); zero for other kinds.
	Detected time.Duration
}

// Run runs one seeded run and checks it. It returns an error only when the
// run could not be carried out (the cluster did not start, a fault could
// not be injected); what it found is in the Report, whose Pass says
// whether dynkv kept its promises. progress receives a line per event.
func Run(ctx context.Context, cfg Config, log *slog.Logger, progress io.Writer) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	began := time.Now()
	rep := &Report{Seed: cfg.Seed, Config: cfg}
	var fw *firewall
	kinds := slices.Clone(cfg.Kinds)
	if slices.ContainsFunc(kinds, Kind.needsNet) {
		var err error
		if fw, err = newFirewall(cfg.Netns); err != nil {
			if cfg.RequirePartitions {
				return nil, err
			}
			rep.Notes = append(rep.Notes, fmt.Sprintf("partitions skipped: %v", err))
			kinds = slices.DeleteFunc(kinds, Kind.needsNet)
		}
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("jepsen: %w", err)
	}
	c, err := newCluster(cfg, log)
	if err != nil {
		return nil, err
	}
	defer c.stopAll()
	say := func(format string, args ...any) {
		fmt.Fprintf(progress, "%7.1fs  %s\n", time.Since(began).Seconds(), fmt.Sprintf(format, args...))
	}
	say("seed %d: starting %d nodes under %s (N=%d R=%d W=%d)", cfg.Seed, cfg.Nodes, cfg.Dir, cfg.N, cfg.R, cfg.W)
	for _, nd := range c.nodes {
		if err := c.start(nd); err != nil {
			return nil, err
		}
		if nd == c.nodes[0] {
			// The seed of the others must be up before they join.
			if err := waitPing(ctx, nd, 30*time.Second); err != nil {
				return nil, err
			}
		}
	}
	if err := c.waitReady(ctx, 60*time.Second); err != nil {
		return nil, err
	}
	say("cluster ready; workloads run for %s with faults %s", cfg.Duration, joinKinds(kinds))

	hist := history.New()
	cl := newClients(cfg, c, hist)
	defer cl.close()
	wctx, stopClients := context.WithCancel(ctx)
	defer stopClients()
	workFrom := time.Now()
	cl.start(wctx)

	d := &driver{cfg: cfg, c: c, fw: fw, cl: cl, say: say}
	if len(kinds) > 0 {
		err = d.run(ctx, newSchedule(cfg.Seed, kinds, cfg.Nodes, cfg.Carts), time.Now().Add(cfg.Duration))
	} else {
		err = sleep(ctx, cfg.Duration)
	}
	workTo := time.Now()
	stopClients()
	cl.wait()
	rep.Faults = d.faults
	samples := cl.lat.samples()
	rep.Healthy, rep.HealthyCalm = measureLatency(samples, d.faults, workFrom, workTo)
	rep.HealthySlowest = slowestLatency(samples, d.faults, 5)
	if err != nil {
		return rep, err
	}
	say("workloads stopped after %d operations; healing", hist.Len())

	healed := time.Now()
	if err := d.healAll(ctx); err != nil {
		return rep, err
	}
	ops := hist.Ops()
	conv, err := converge(ctx, cfg, c, cl, ops, say)
	if err != nil {
		return rep, err
	}
	rep.ConvergeTime = conv.at.Sub(healed)
	rep.Converged = conv.ok
	rep.ConvergeNote = conv.note
	rep.RootsAgree, rep.RootsNote, err = rootsAgree(ctx, cfg, cl, say)
	if err != nil {
		return rep, err
	}
	rep.RootsTime = time.Since(healed)
	cl.mu.Lock()
	probes, readAfter := cl.mu.probes, cl.mu.readAfterExpiry
	cl.mu.Unlock()
	judge(rep, ops, conv.final, probes, readAfter)
	tally(rep, ops)
	rep.Crashed = d.crashed
	for _, nd := range c.nodes {
		if nd.exited() {
			rep.Crashed = append(rep.Crashed, nd.id)
		}
	}
	rep.Elapsed = time.Since(began)
	rep.evaluate()
	return rep, nil
}

// waitPing waits until nd answers PING.
func waitPing(ctx context.Context, nd *node, timeout time.Duration) error {
	rdb := newClient(nd.client, time.Second, 1)
	defer rdb.Close()
	deadline := time.Now().Add(timeout)
	for {
		if err := rdb.Ping(ctx).Err(); err == nil {
			return nil
		} else if time.Now().After(deadline) || nd.exited() {
			return fmt.Errorf("%w: %s does not answer PING (see %s): %v", errNotReady, nd.id, nd.logf, err)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// driver injects a schedule's faults.
type driver struct {
	cfg      Config
	c        *cluster
	fw       *firewall
	cl       *clients
	say      func(string, ...any)
	faults   []FaultRecord
	crashed  []string      // nodes that exited without being killed, when noticed
	detected time.Duration // how long the failure detector took to see the last pause
}

// restartCrashed records and restarts the nodes that exited on their own.
func (d *driver) restartCrashed() error {
	for _, nd := range d.c.nodes {
		if !nd.exited() {
			continue
		}
		d.crashed = append(d.crashed, nd.id)
		d.say("%s exited on its own (see %s); restarting it", nd.id, nd.logf)
		d.c.kill(nd) // reaps it
		if err := d.c.start(nd); err != nil {
			return err
		}
	}
	return nil
}

// run injects faults until end: a gap, a fault held for Hold, healed, and
// again.
func (d *driver) run(ctx context.Context, s *schedule, end time.Time) error {
	names := d.c.ids()
	for time.Until(end) > d.cfg.Gap+d.cfg.Hold/2 {
		if err := sleep(ctx, d.cfg.Gap); err != nil {
			return err
		}
		f := s.next()
		if f.Kind == KillHomes {
			homes, err := d.homes(ctx, cartKey(history.Cart, f.Cart, 0))
			if err != nil {
				return err
			}
			f.Nodes = homes[:2]
		}
		rec := FaultRecord{Fault: f, Desc: f.Desc(names), Start: time.Now()}
		for _, i := range f.Minority() {
			rec.Minority = append(rec.Minority, names[i])
		}
		d.say("fault: %s", rec.Desc)
		d.detected = 0
		d.cl.lat.setAvoid(rec.Minority)
		if err := d.inject(ctx, f); err != nil {
			return err
		}
		if err := d.heal(ctx, f); err != nil {
			return err
		}
		rec.End = time.Now()
		d.cl.lat.setAvoid(nil)
		rec.Detected = d.detected
		d.faults = append(d.faults, rec)
		if err := d.restartCrashed(); err != nil {
			return err
		}
	}
	return sleep(ctx, time.Until(end))
}

// homes returns the indexes of key's home nodes, asking a running node.
func (d *driver) homes(ctx context.Context, key string) ([]int, error) {
	for i, nd := range d.c.nodes {
		if !nd.running() {
			continue
		}
		v, err := d.cl.conns[i].Do(ctx, "RING", "KEY", key).Slice()
		if err != nil || len(v) != 3 {
			continue
		}
		prefs, _ := v[2].([]any)
		var out []int
		for _, p := range prefs {
			id, _ := p.(string)
			if j := slices.Index(d.c.ids(), id); j >= 0 {
				out = append(out, j)
			}
		}
		if len(out) >= d.cfg.N {
			return out[:d.cfg.N], nil
		}
	}
	return nil, fmt.Errorf("jepsen: no node told the home nodes of %s", key)
}

// inject applies f and holds it.
func (d *driver) inject(ctx context.Context, f Fault) error {
	nodes := func(idx []int) []*node {
		out := make([]*node, len(idx))
		for i, x := range idx {
			out[i] = d.c.nodes[x]
		}
		return out
	}
	switch f.Kind {
	case Kill:
		d.c.kill(d.c.nodes[f.Nodes[0]])
	case KillHomes:
		// The first home goes down, then the second while the first is
		// still down.
		d.c.kill(d.c.nodes[f.Nodes[0]])
		if err := sleep(ctx, d.cfg.Hold/2); err != nil {
			return err
		}
		d.c.kill(d.c.nodes[f.Nodes[1]])
		return sleep(ctx, d.cfg.Hold/2)
	case Pause:
		// Held until the others' failure detector has declared the node
		// dead, and at least Hold.
		nd := d.c.nodes[f.Nodes[0]]
		start := time.Now()
		d.c.pause(nd)
		d.detected = -1
		if err := d.waitDown(ctx, nd, 30*time.Second); err != nil {
			d.say("%v", err)
		} else {
			d.detected = time.Since(start)
		}
		return sleep(ctx, d.cfg.Hold-time.Since(start))
	case LeaveJoin:
		i := f.Nodes[0]
		if err := d.leave(ctx, i); err != nil {
			return err
		}
		return sleep(ctx, d.cfg.Hold)
	case Halves, Isolate, Bridge, OneWay:
		cuts := partition(nodes(f.Nodes), nodes(f.Other))
		if f.Kind == OneWay {
			cuts = oneWay(nodes(f.Nodes), nodes(f.Other))
		}
		if err := d.fw.apply(cuts); err != nil {
			return err
		}
		if err := d.fw.verify(ctx, d.c.nodes, cuts); err != nil {
			return err
		}
	}
	return sleep(ctx, d.cfg.Hold)
}

// leaveTimeout bounds each half of a leave-join: the leave (transfer,
// flip, handoff) and the join (transfer, flip).
const leaveTimeout = 2 * time.Minute

// leave asks another node to remove node i from the ring (RING LEAVE) and
// waits until the others' ring no longer has it, and it holds no keys
// and no hints: a node that left holds no data.
func (d *driver) leave(ctx context.Context, i int) error {
	nd := d.c.nodes[i]
	other := (i + 1) % len(d.c.nodes)
	if err := d.cl.conns[other].Do(ctx, "RING", "LEAVE", nd.id).Err(); err != nil {
		return fmt.Errorf("jepsen: RING LEAVE %s on %s: %w", nd.id, d.c.nodes[other].id, err)
	}
	deadline := time.Now().Add(leaveTimeout)
	var why string
	for time.Now().Before(deadline) {
		why = d.leftWhy(ctx, i, other)
		if why == "" {
			return nil
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("jepsen: %s did not leave within %s: %s", nd.id, leaveTimeout, why)
}

// leftWhy returns why node i has not yet left the ring as node other sees
// it, or "" if it has.
func (d *driver) leftWhy(ctx context.Context, i, other int) string {
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	v, err := d.cl.conns[other].Do(rctx, "RING").Slice()
	if err != nil {
		return err.Error()
	}
	for _, m := range v {
		if f, ok := m.([]any); ok && len(f) >= 1 && f[0] == d.c.nodes[i].id {
			return "still a ring member"
		}
	}
	// DBSIZE counts the whole cluster; the node's own replica is INFO's.
	info, err := d.cl.conns[i].Info(rctx, "dynkv").Result()
	if err != nil || !strings.Contains(info, "dynkv_store_keys:0\r\n") {
		return fmt.Sprintf("holds keys (%v)", err)
	}
	info, err = d.cl.conns[i].Info(rctx, "cluster").Result()
	if err != nil || !strings.Contains(info, "hints_held:0\r\n") {
		return fmt.Sprintf("holds hints (%v)", err)
	}
	return ""
}

// waitDown waits until a running node other than nd reports nd down.
func (d *driver) waitDown(ctx context.Context, nd *node, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for i, o := range d.c.nodes {
			if o == nd || !o.running() {
				continue
			}
			rctx, cancel := context.WithTimeout(ctx, time.Second)
			v, err := d.cl.conns[i].Do(rctx, "RING").Slice()
			cancel()
			if err != nil {
				continue
			}
			for _, m := range v {
				if f, ok := m.([]any); ok && len(f) >= 2 && f[0] == nd.id && f[1] == "down" {
					return nil
				}
			}
			break
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("jepsen: %s paused for %s, still not seen down", nd.id, timeout)
}

// heal undoes f: restarts killed nodes, resumes paused ones, drops the
// partition rules.
func (d *driver) heal(ctx context.Context, f Fault) error {
	switch f.Kind {
	case Kill, KillHomes:
		for _, i := range f.Nodes {
			if err := d.c.start(d.c.nodes[i]); err != nil {
				return err
			}
		}
		for _, i := range f.Nodes {
			if err := waitPing(ctx, d.c.nodes[i], 60*time.Second); err != nil {
				return err
			}
		}
	case Pause:
		d.c.resume(d.c.nodes[f.Nodes[0]])
	case LeaveJoin:
		// Wiped, the node starts as a new one with the others as seeds:
		// it joins, receives its partitions, and the ring flips to it.
		nd := d.c.nodes[f.Nodes[0]]
		d.c.kill(nd)
		if err := os.RemoveAll(nd.dir); err != nil {
			return fmt.Errorf("jepsen: wipe %s: %w", nd.id, err)
		}
		if err := d.c.start(nd); err != nil {
			return err
		}
		return d.c.waitReady(ctx, leaveTimeout)
	default:
		if err := d.fw.apply(nil); err != nil {
			return err
		}
		return d.fw.verify(ctx, d.c.nodes, nil)
	}
	return nil
}

// healAll undoes every fault there could be and waits for the whole
// cluster to see itself alive.
func (d *driver) healAll(ctx context.Context) error {
	if d.fw != nil {
		if err := d.fw.apply(nil); err != nil {
			return err
		}
	}
	for _, nd := range d.c.nodes {
		d.c.resume(nd)
	}
	if err := d.restartCrashed(); err != nil {
		return err
	}
	for _, nd := range d.c.nodes {
		if err := d.c.start(nd); err != nil {
			return err
		}
	}
	return d.c.waitReady(ctx, d.cfg.ConvergeTimeout)
}
