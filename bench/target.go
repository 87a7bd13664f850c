package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dynkv/dynkv/internal/launch"
)

// Target kinds.
const (
	KindDynkv    = "dynkv"    // dynkv serve processes started by the bench
	KindRedis    = "redis"    // a redis-server started by the bench, the reference
	KindRedcon   = "redcon"   // the minimal redcon server (ServeRedcon), dynkv bench-redcon started by the bench
	KindExternal = "external" // servers already running, at TargetSpec.Addrs
)

// TargetSpec describes a target: what to start, or where it runs.
type TargetSpec struct {
	Name       string   // shown in reports; unique in a run
	Kind       string   // KindDynkv, KindRedis, KindRedcon or KindExternal
	Addrs      []string // external: client addresses, host:port
	Nodes      int      // dynkv: processes (≥ 1)
	N, R, W    int      // dynkv: replicas, read and write quorum
	Durability string   // dynkv: none, process or fsync; "" is dynkv's default
	Args       []string // dynkv: more arguments of dynkv serve
}

// String describes the target in one line, for reports.
func (s TargetSpec) String() string {
	switch s.Kind {
	case KindDynkv:
		d := s.Durability
		if d == "" {
			d = "default"
		}
		line := fmt.Sprintf("%s: dynkv, %d node(s), N=%d R=%d W=%d, durability %s", s.Name, s.Nodes, s.N, s.R, s.W, d)
		if len(s.Args) > 0 {
			line += ", " + strings.Join(s.Args, " ")
		}
		return line
	case KindRedis:
		return s.Name + ": redis-server, appendonly yes, appendfsync everysec"
	case KindRedcon:
		return s.Name + ": the minimal redcon server (map + RWMutex, in memory), the Go front-end ceiling"
	}
	return fmt.Sprintf("%s: running server(s) at %s", s.Name, strings.Join(s.Addrs, ","))
}

// Env is what starting targets needs.
type Env struct {
	Binary string       // the dynkv binary
	Dir    string       // where the targets' data and logs go (a directory of the caller's)
	Log    *slog.Logger // nil: discard
	// Progress, when not nil, gets a line per process started, with its
	// pid.
	Progress io.Writer
}

// Target is a running target: its client addresses and, when the bench
// started it, its processes.
type Target struct {
	Spec    TargetSpec
	Addrs   []string // client addresses, one per node
	Version string   // the server's version, as it reports it
	procs   []*launch.Process
}

// startTimeout bounds the start of one target, processes and cluster
// formation included.
const startTimeout = 60 * time.Second

// Start starts the target of spec (or checks that an external one
// answers) and waits until it serves: every node answers PING and, for a
// cluster, every node sees every member alive. On error, whatever was
// started is stopped. The caller must Close the target.
func Start(ctx context.Context, spec TargetSpec, env Env) (*Target, error) {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	t := &Target{Spec: spec}
	var err error
	switch spec.Kind {
	case KindDynkv:
		err = t.startDynkv(ctx, env)
	case KindRedis:
		err = t.startRedis(ctx, env)
	case KindRedcon:
		err = t.startRedcon(ctx, env)
	case KindExternal:
		t.Addrs = spec.Addrs
		for _, a := range t.Addrs {
			if err = waitPing(ctx, a, nil); err != nil {
				break
			}
		}
		t.Version = serverVersion(ctx, t.Addrs[0])
	default:
		err = fmt.Errorf("bench: target %s: unknown kind %q", spec.Name, spec.Kind)
	}
	if err != nil {
		_ = t.Close()
		return nil, fmt.Errorf("bench: start %s: %w", spec.Name, err)
	}
	return t, nil
}

// Close stops the processes the bench started: SIGTERM, then SIGKILL after
// a grace period. It is idempotent.
func (t *Target) Close() error {
	var wg sync.WaitGroup
	errs := make([]error, len(t.procs))
	for i, p := range t.procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = stop(p)
		}()
	}
	wg.Wait()
	t.procs = nil
	return errors.Join(errs...)
}

func (t *Target) startDynkv(ctx context.Context, env Env) error {
	if env.Binary == "" {
		return errors.New("no dynkv binary")
	}
	if t.Spec.Nodes < 1 {
		return fmt.Errorf("nodes: must be at least 1, got %d", t.Spec.Nodes)
	}
	if t.Spec.N < 1 || t.Spec.R < 1 || t.Spec.W < 1 {
		// launch.Serve leaves zero out; dynkv serve refuses it.
		return fmt.Errorf("n, r, w: must be at least 1, got %d, %d, %d", t.Spec.N, t.Spec.R, t.Spec.W)
	}
	seed, secret := "", launch.NewSecret()
	for i := range t.Spec.Nodes {
		id := fmt.Sprintf("%s-%d", t.Spec.Name, i+1)
		client, peer, gossip := freePort(), freePort(), freePort()
		sv := launch.Serve{ID: id, Listen: client, PeerListen: peer, GossipListen: gossip,
			DataDir: filepath.Join(env.Dir, id), N: t.Spec.N, R: t.Spec.R, W: t.Spec.W, Secret: secret,
			Extra: []string{"--log.level", "warn"}}
		if seed != "" {
			sv.Seeds = []string{seed}
		}
		if t.Spec.Durability != "" {
			sv.Extra = append(sv.Extra, "--durability", t.Spec.Durability)
		}
		sv.Extra = append(sv.Extra, t.Spec.Args...)
		p, err := startProc(env, id, env.Binary, sv.Env(), sv.Args()...)
		if err != nil {
			return err
		}
		t.procs = append(t.procs, p)
		t.Addrs = append(t.Addrs, client)
		if err := waitPing(ctx, client, p); err != nil {
			return err
		}
		if seed == "" {
			seed = gossip
		}
	}
	for i, a := range t.Addrs {
		if err := waitMembers(ctx, a, t.Spec.Nodes, t.procs[i]); err != nil {
			return err
		}
	}
	t.Version = binaryVersion(ctx, env.Binary)
	return nil
}

// binaryVersion returns what dynkv version of bin prints, or "".
func binaryVersion(ctx context.Context, bin string) string {
	out, err := exec.CommandContext(ctx, bin, "version").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// startRedcon starts dynkv bench-redcon, the minimal redcon server, as a
// process of its own: its CPU is then its own in /proc, and it shares no
// Go runtime with the load generator. Its version is the dynkv binary's,
// whose go.mod pins redcon's.
func (t *Target) startRedcon(ctx context.Context, env Env) error {
	if env.Binary == "" {
		return errors.New("no dynkv binary")
	}
	addr := freePort()
	p, err := startProc(env, t.Spec.Name, env.Binary, nil, "bench-redcon", "--listen", addr)
	if err != nil {
		return err
	}
	t.procs = append(t.procs, p)
	t.Addrs = []string{addr}
	if err := waitPing(ctx, addr, p); err != nil {
		return err
	}
	if v := binaryVersion(ctx, env.Binary); v != "" {
		t.Version = "bench-redcon of " + v
	}
	return nil
}

func (t *Target) startRedis(ctx context.Context, env Env) error {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return fmt.Errorf("%w: redis-server", ErrNoTool)
	}
	dir := filepath.Join(env.Dir, t.Spec.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	addr := freePort()
	_, port, _ := net.SplitHostPort(addr)
	p, err := startProc(env, t.Spec.Name, bin, nil, "--port", port, "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "yes", "--appendfsync", "everysec", "--dir", dir, "--daemonize", "no", "--loglevel", "warning")
	if err != nil {
		return err
	}
	t.procs = append(t.procs, p)
	t.Addrs = []string{addr}
	if err := waitPing(ctx, addr, p); err != nil {
		return err
	}
	t.Version = serverVersion(ctx, addr)
	return nil
}

// freePort returns a loopback address whose port is free for TCP and UDP
// now (launch.FreeAddr), or 127.0.0.1:0 if there is none: the start then
// fails clearly.
func freePort() string {
	addr, err := launch.FreeAddr()
	if err != nil {
		return "127.0.0.1:0"
	}
	return addr
}

// poll calls cond every 20 ms until it returns true or an error, ctx is
// done or p (when not nil) exits.
func poll(ctx context.Context, p *launch.Process, what string, cond func() (bool, error)) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		last = err
		var exited <-chan struct{}
		if p != nil {
			exited = p.Done()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last: %v)", what, ctx.Err(), last)
		case <-exited:
			return fmt.Errorf("%s exited while waiting for %s: %s", p.Name(), what, p.Tail(10))
		case <-tick.C:
		}
	}
}

// command sends one command on a new connection and returns its reply.
func command(ctx context.Context, addr string, args ...string) (Reply, error) {
	c, err := dial(ctx, addr)
	if err != nil {
		return Reply{}, err
	}
	defer c.close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.nc.SetDeadline(dl)
	} else {
		_ = c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	}
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	return c.do(bs...)
}

// waitPing waits until the server at addr answers PING, with anything: a
// server that wants a password answers with an error, which the load then
// counts.
func waitPing(ctx context.Context, addr string, p *launch.Process) error {
	return poll(ctx, p, "PING on "+addr, func() (bool, error) {
		_, err := command(ctx, addr, "PING")
		return err == nil, err
	})
}

// waitMembers waits until the node at addr sees n ring members, all alive,
// with their client addresses and owning partitions: a new node owns its
// partitions only once it has received their data (the ring has flipped).
func waitMembers(ctx context.Context, addr string, n int, p *launch.Process) error {
	return poll(ctx, p, fmt.Sprintf("%d members alive on %s", n, addr), func() (bool, error) {
		r, err := command(ctx, addr, "RING")
		if err != nil || r.Kind != '*' || len(r.Elems) != n {
			return false, err
		}
		for _, m := range r.Elems {
			if len(m.Elems) < 5 || string(m.Elems[1].Str) != "alive" || len(m.Elems[2].Str) == 0 || m.Elems[4].Int < 1 {
				return false, nil
			}
		}
		return true, nil
	})
}

// serverVersion returns redis_version of INFO server, or "".
func serverVersion(ctx context.Context, addr string) string {
	r, err := command(ctx, addr, "INFO", "server")
	if err != nil || r.Kind != '$' {
		return ""
	}
	for line := range strings.SplitSeq(string(r.Str), "\r\n") {
		if v, ok := strings.CutPrefix(line, "redis_version:"); ok {
			return "redis " + v
		}
	}
	return ""
}

// startProc starts a process of the bench, its output in name.log in the
// run's directory, in a process group of its own (so that a Ctrl-C in the
// terminal reaches only the bench, which then stops its children in order)
// and killed by the kernel should the bench die without doing so.
func startProc(env Env, name, bin string, environ []string, args ...string) (*launch.Process, error) {
	p, err := launch.Start(launch.Config{Name: name, Binary: bin, Args: args, Env: environ,
		LogPath: filepath.Join(env.Dir, name+".log"), OwnGroup: true, DieWithParent: true, Log: env.Log})
	if err != nil {
		return nil, err
	}
	if env.Progress != nil {
		fmt.Fprintf(env.Progress, "bench: started %s, pid %d\n", name, p.Pid())
	}
	return p, nil
}

// stopGrace is how long a process may take to exit after SIGTERM.
const stopGrace = 15 * time.Second

// stop stops p: SIGTERM, then SIGKILL after stopGrace.
func stop(p *launch.Process) error {
	ctx, cancel := context.WithTimeout(context.Background(), stopGrace)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		return fmt.Errorf("bench: %s did not stop within %s of SIGTERM: %w", p.Name(), stopGrace, launch.ErrKilled)
	}
	return nil
}
