package jepsen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dynkv/dynkv/internal/launch"
)

// node is one dynkv process of the cluster under test.
type node struct {
	id     string
	ip     string // the address it binds: its own 127.0.0.x in a namespace
	client string // host:port of its RESP listener
	peer   string // host:port of its peer listener
	gossip string // host:port of its gossip listener
	dir    string // data directory
	logf   string // its log file

	mu struct {
		sync.Mutex
		proc   *launch.Process // nil until started, and once killed or stopped
		starts int
	}
}

// cluster runs and controls the nodes. Its methods are safe for concurrent
// use.
type cluster struct {
	cfg    Config
	nodes  []*node
	log    *slog.Logger
	secret string // the cluster secret every node is started with
}

// newCluster lays out cfg.Nodes nodes under cfg.Dir. In a namespace node i
// binds 127.0.0.(i+2) on the standard ports; otherwise every node binds
// 127.0.0.1 on ports of its own, below the kernel's ephemeral range so that
// no outgoing connection takes a killed node's port before it restarts.
func newCluster(cfg Config, log *slog.Logger) (*cluster, error) {
	c := &cluster{cfg: cfg, log: log, secret: launch.NewSecret()}
	base := 0
	if !cfg.Netns {
		var err error
		if base, err = launch.FreeRange(cfg.Seed, 3*cfg.Nodes); err != nil {
			return nil, err
		}
	}
	for i := range cfg.Nodes {
		nd := &node{id: "n" + strconv.Itoa(i+1)}
		if cfg.Netns {
			nd.ip = "127.0.0." + strconv.Itoa(i+2)
			nd.client = net.JoinHostPort(nd.ip, "6379")
			nd.peer = net.JoinHostPort(nd.ip, "16379")
			nd.gossip = net.JoinHostPort(nd.ip, "7946")
		} else {
			nd.ip = "127.0.0.1"
			nd.client = net.JoinHostPort(nd.ip, strconv.Itoa(base+3*i))
			nd.peer = net.JoinHostPort(nd.ip, strconv.Itoa(base+3*i+1))
			nd.gossip = net.JoinHostPort(nd.ip, strconv.Itoa(base+3*i+2))
		}
		nd.dir = filepath.Join(cfg.Dir, nd.id)
		nd.logf = filepath.Join(cfg.Dir, nd.id+".log")
		c.nodes = append(c.nodes, nd)
	}
	return c, nil
}

func (c *cluster) ids() []string {
	ids := make([]string, len(c.nodes))
	for i, nd := range c.nodes {
		ids[i] = nd.id
	}
	return ids
}

// start starts nd. The first node of a new cluster starts alone; every
// other start names the other nodes as seeds.
func (c *cluster) start(nd *node) error {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if nd.mu.proc != nil {
		return nil
	}
	var seeds []string
	if nd != c.nodes[0] || nd.mu.starts > 0 {
		for _, o := range c.nodes {
			if o != nd {
				seeds = append(seeds, o.gossip)
			}
		}
	}
	sv := launch.Serve{ID: nd.id, Listen: nd.client, PeerListen: nd.peer, GossipListen: nd.gossip,
		DataDir: nd.dir, N: c.cfg.N, R: c.cfg.R, W: c.cfg.W, Seeds: seeds, Secret: c.secret,
		Extra: []string{"--timeout", c.cfg.NodeTimeout.String(), "--handoff-interval", "200ms", "--log.level", "info",
			// Rounds every second (the default is 10 s), so that the final
			// check of the replicas' tree roots does not wait long.
			"--antientropy.interval", "1s",
		}}
	// A node dies with the harness, whatever kills the harness.
	p, err := launch.Start(launch.Config{Name: nd.id, Binary: c.cfg.Binary, Args: sv.Args(), Env: sv.Env(),
		LogPath: nd.logf, DieWithParent: true, Log: c.log})
	if err != nil {
		return fmt.Errorf("jepsen: %w", err)
	}
	nd.mu.proc = p
	nd.mu.starts++
	return nil
}

// take returns nd's process, which the caller is to end, and forgets it.
func (nd *node) take() *launch.Process {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	p := nd.mu.proc
	nd.mu.proc = nil
	return p
}

// kill kills nd with SIGKILL and waits until it is gone.
func (c *cluster) kill(nd *node) {
	if p := nd.take(); p != nil {
		_ = p.Kill(context.Background())
	}
}

// stop stops nd gracefully (SIGTERM, after SIGCONT if it is paused),
// killing it if it does not exit in time.
func (c *cluster) stop(nd *node, timeout time.Duration) {
	p := nd.take()
	if p == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_ = p.Stop(ctx)
}

// pause stops nd with SIGSTOP; resume continues it.
func (c *cluster) pause(nd *node) { c.withProc(nd, (*launch.Process).Pause) }

func (c *cluster) resume(nd *node) { c.withProc(nd, (*launch.Process).Resume) }

func (c *cluster) withProc(nd *node, f func(*launch.Process) error) {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if nd.mu.proc != nil {
		_ = f(nd.mu.proc)
	}
}

// status reports whether the harness started nd's process and, if so,
// whether it has exited since.
func (nd *node) status() (started, exited bool) {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if nd.mu.proc == nil {
		return false, false
	}
	return true, nd.mu.proc.Exited()
}

// running reports whether nd's process runs (paused counts as running).
func (nd *node) running() bool {
	started, exited := nd.status()
	return started && !exited
}

// exited reports a node that died although the harness did not kill it.
func (nd *node) exited() bool {
	_, exited := nd.status()
	return exited
}

// stopAll stops every node.
func (c *cluster) stopAll() {
	var wg sync.WaitGroup
	for _, nd := range c.nodes {
		wg.Go(func() { c.stop(nd, 10*time.Second) })
	}
	wg.Wait()
}

// errNotReady reports a cluster that did not form or recover in time.
var errNotReady = errors.New("jepsen: cluster not ready")

// waitReady waits until every node answers PING and sees every node of
// the cluster as an alive ring member.
func (c *cluster) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		missing := ""
		for _, nd := range c.nodes {
			if err := c.ready(ctx, nd); err != nil {
				missing = fmt.Sprintf("%s: %v", nd.id, err)
				break
			}
		}
		if missing == "" {
			return nil
		}
		for _, nd := range c.nodes {
			if nd.exited() {
				return fmt.Errorf("%w: %s exited (see %s)", errNotReady, nd.id, nd.logf)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w after %s: %s", errNotReady, timeout, missing)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ready reports why nd does not yet see the whole cluster alive, every
// member owning partitions (a new node owns them only once it has received
// their data).
func (c *cluster) ready(ctx context.Context, nd *node) error {
	rdb := redis.NewClient(&redis.Options{Addr: nd.client, MaxRetries: -1, DialTimeout: time.Second,
		ReadTimeout: time.Second, WriteTimeout: time.Second, Protocol: 2, DisableIdentity: true})
	defer rdb.Close()
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	v, err := rdb.Do(rctx, "RING").Slice()
	if err != nil {
		return err
	}
	alive, owning := 0, 0
	for _, m := range v {
		if f, ok := m.([]any); ok && len(f) >= 5 && f[1] == "alive" {
			alive++
			if n, ok := f[4].(int64); ok && n > 0 {
				owning++
			}
		}
	}
	if len(v) != len(c.nodes) || alive != len(c.nodes) || owning != len(c.nodes) {
		return fmt.Errorf("sees %d members, %d alive, %d owning partitions", len(v), alive, owning)
	}
	return nil
}
