package jepsen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Workload names one of the run's workloads.
type Workload string

// The workloads. Every run drives all three at once, on disjoint keys.
const (
	Cart Workload = "cart" // DGET, union, DPUT with context: loses nothing
	Keys Workload = "keys" // one SET per new key: loses nothing
	LWW  Workload = "lww"  // GET, add, SET: the control, which loses adds
)

// Workloads lists the workloads in report order.
var Workloads = []Workload{Cart, Keys, LWW}

// Outcome is how an operation ended, as its client saw it.
type Outcome uint8

const (
	// OK: acknowledged. It must never be lost.
	OK Outcome = iota
	// Failed: the server replied with an error. A Dynamo write that missed
	// its quorum may still have reached some replicas.
	Failed
	// Indeterminate: no reply (deadline, broken connection).
	Indeterminate
)

func (o Outcome) String() string {
	switch o {
	case OK:
		return "ok"
	case Failed:
		return "failed"
	case Indeterminate:
		return "indeterminate"
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// Op is one operation: an add of Item to cart Key, or a SET of Key to Item.
type Op struct {
	Workload Workload
	Client   int
	Key      string
	Item     string
	Node     string // the node the client sent it to
	Start    time.Time
	End      time.Time
	Sent     bool // the write was sent (for carts: the read before it succeeded)
	Outcome  Outcome
	Err      string
}

// history records the operations of all clients; safe for concurrent use.
type history struct {
	mu struct {
		sync.Mutex
		ops []Op
	}
}

func (h *history) record(op Op) {
	h.mu.Lock()
	h.mu.ops = append(h.mu.ops, op)
	h.mu.Unlock()
}

func (h *history) ops() []Op {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.mu.ops)
}

func (h *history) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.mu.ops)
}

// cartKey is the key of cart i of workload w in its generation gen: a cart
// is retired after cartItems adds, so that values stay small in long runs.
// The hash tag keeps every generation of a cart on the same home nodes, so
// that kill-homes hits the cart being written.
func cartKey(w Workload, i, gen int) string { return fmt.Sprintf("%s:{%s%d}:%d", w, w, i, gen) }

// cartItems is how many adds a cart takes before its clients move on to a
// new one.
const cartItems = 300

// parseItems adds the items of a stored cart value to s.
func parseItems(s map[string]bool, v string) {
	for it := range strings.SplitSeq(v, ",") {
		if it != "" {
			s[it] = true
		}
	}
}

// formatItems is the stored form of a set of items: sorted, comma-separated.
func formatItems(s map[string]bool) string {
	items := make([]string, 0, len(s))
	for it := range s {
		items = append(items, it)
	}
	slices.Sort(items)
	return strings.Join(items, ",")
}

// clients drives the workloads against the cluster.
type clients struct {
	cfg   Config
	c     *cluster
	hist  *history
	conns []*redis.Client // one per node, shared by all clients
	wg    sync.WaitGroup

	mu struct {
		sync.Mutex
		adds map[string]int // cart slot ("cart:3") → adds invoked, for generations
	}
}

func newClients(cfg Config, c *cluster, hist *history) *clients {
	cl := &clients{cfg: cfg, c: c, hist: hist}
	cl.mu.adds = map[string]int{}
	for _, nd := range c.nodes {
		cl.conns = append(cl.conns, newClient(nd.client, cfg.OpTimeout, cfg.Clients()))
	}
	return cl
}

// newClient returns a go-redis client that never retries (a retried write
// would hide what happened to the first) and answers within timeout.
func newClient(addr string, timeout time.Duration, pool int) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: addr, MaxRetries: -1, Protocol: 2, DisableIdentity: true,
		DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout,
		PoolSize: pool, MinIdleConns: 0, PoolTimeout: timeout, ContextTimeoutEnabled: true,
	})
}

func (cl *clients) close() {
	for _, c := range cl.conns {
		_ = c.Close()
	}
}

// start starts every client; they run until ctx is done.
func (cl *clients) start(ctx context.Context) {
	id := 0
	spawn := func(w Workload, slot int) {
		client := id
		id++
		rng := rand.New(rand.NewPCG(cl.cfg.Seed, uint64(client)+1))
		cl.wg.Go(func() { cl.run(ctx, w, client, slot, rng) })
	}
	for cart := range cl.cfg.Carts {
		for range cl.cfg.ClientsPerCart {
			spawn(Cart, cart)
		}
	}
	for range cl.cfg.KeyClients {
		spawn(Keys, 0)
	}
	for cart := range cl.cfg.LWWCarts {
		for range cl.cfg.ClientsPerCart {
			spawn(LWW, cart)
		}
	}
}

func (cl *clients) wait() { cl.wg.Wait() }

func (cl *clients) run(ctx context.Context, w Workload, client, slot int, rng *rand.Rand) {
	for seq := 0; ctx.Err() == nil; seq++ {
		i := rng.IntN(len(cl.conns))
		nd := cl.c.nodes[i]
		if !nd.running() {
			// Nothing listens there; a real client would fail over too.
			i = (i + 1 + rng.IntN(len(cl.conns)-1)) % len(cl.conns)
			nd = cl.c.nodes[i]
		}
		op := Op{Workload: w, Client: client, Item: fmt.Sprintf("c%d-%d", client, seq), Node: nd.id}
		rdb := cl.conns[i]
		op.Start = time.Now()
		switch w {
		case Keys:
			op.Key = "key:" + op.Item
			cl.set(ctx, rdb, &op)
		default:
			op.Key = cl.cartFor(w, slot)
			cl.add(ctx, rdb, &op)
		}
		op.End = time.Now()
		if ctx.Err() != nil && op.Outcome != OK && !op.Sent {
			return // stopped before anything was sent: not an operation
		}
		cl.hist.record(op)
		if op.Outcome != OK {
			// Back off a little, as a client would, so that a fault does
			// not turn into a flood of instant failures.
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(10+rng.IntN(40)) * time.Millisecond):
			}
		}
	}
}

// cartFor returns the cart key the next add to cart slot of w goes to.
func (cl *clients) cartFor(w Workload, slot int) string {
	k := fmt.Sprintf("%s:%d", w, slot)
	cl.mu.Lock()
	n := cl.mu.adds[k]
	cl.mu.adds[k] = n + 1
	cl.mu.Unlock()
	return cartKey(w, slot, n/cartItems)
}

// set is one keys operation: SET a new key.
func (cl *clients) set(ctx context.Context, rdb *redis.Client, op *Op) {
	op.Sent = true
	err := rdb.Set(ctx, op.Key, op.Item, 0).Err()
	op.Outcome, op.Err = classify(err)
}

// add is one cart (or lww) operation: read, add the item, write.
func (cl *clients) add(ctx context.Context, rdb *redis.Client, op *Op) {
	items := map[string]bool{}
	var err error
	switch op.Workload {
	case Cart:
		var ctxt string
		var values []string
		ctxt, values, err = dget(ctx, rdb, op.Key, cl.cfg.R)
		if err == nil {
			for _, v := range values {
				parseItems(items, v)
			}
			items[op.Item] = true
			op.Sent = true
			err = rdb.Do(ctx, "DPUT", op.Key, ctxt, formatItems(items), "W", cl.cfg.W).Err()
		}
	case LWW:
		var v string
		v, err = rdb.Get(ctx, op.Key).Result()
		if errors.Is(err, redis.Nil) {
			err = nil
		}
		if err == nil {
			parseItems(items, v)
			items[op.Item] = true
			op.Sent = true
			err = rdb.Set(ctx, op.Key, formatItems(items), 0).Err()
		}
	}
	op.Outcome, op.Err = classify(err)
	if !op.Sent && op.Outcome == Indeterminate {
		op.Outcome = Failed // only the read went unanswered: nothing was written
	}
}

// dget reads key's context and sibling values at quorum r.
func dget(ctx context.Context, rdb *redis.Client, key string, r int) (string, []string, error) {
	v, err := rdb.Do(ctx, "DGET", key, "R", r).Slice()
	if err != nil {
		return "", nil, err
	}
	if len(v) != 2 {
		return "", nil, fmt.Errorf("jepsen: DGET %s: reply of %d elements", key, len(v))
	}
	ctxt, ok := v[0].(string)
	sibs, ok2 := v[1].([]any)
	if !ok || !ok2 {
		return "", nil, fmt.Errorf("jepsen: DGET %s: malformed reply %v", key, v)
	}
	values := make([]string, 0, len(sibs))
	for _, s := range sibs {
		str, ok := s.(string)
		if !ok {
			return "", nil, fmt.Errorf("jepsen: DGET %s: sibling %v is not a string", key, s)
		}
		values = append(values, str)
	}
	return ctxt, values, nil
}

// classify maps a client error to an outcome: a server error reply is a
// failure, anything else (deadline, connection) leaves the fate unknown.
func classify(err error) (Outcome, string) {
	if err == nil {
		return OK, ""
	}
	var rerr redis.Error
	var nerr net.Error
	switch {
	case errors.As(err, &rerr) && !errors.As(err, &nerr):
		return Failed, err.Error()
	}
	return Indeterminate, err.Error()
}
