package jepsen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dynkv/dynkv/internal/history"
)

// Workloads lists the workloads in report order. Every run drives them
// all at once, on disjoint keys: cart, keys and expiry must lose nothing
// (expiry: nothing before its expiry, and nothing read after it), lww is
// the control, which loses adds.
var Workloads = []history.Workload{history.Cart, history.Keys, history.Expiry, history.LWW}

// cartKey is the key of cart i of workload w in its generation gen: a cart
// is retired after cartItems adds, so that values stay small in long runs.
// The hash tag keeps every generation of a cart on the same home nodes, so
// that kill-homes hits the cart being written.
func cartKey(w history.Workload, i, gen int) string { return fmt.Sprintf("%s:{%s%d}:%d", w, w, i, gen) }

// cartItems is how many adds a cart takes before its clients move on to a
// new one.
const cartItems = 300

// clients drives the workloads against the cluster.
type clients struct {
	cfg   Config
	c     *cluster
	hist  *history.History
	conns []*redis.Client // one per node, shared by all clients
	lat   latencyLog      // latency.go
	wg    sync.WaitGroup

	mu struct {
		sync.Mutex
		adds map[string]int // cart slot ("cart:3") → adds invoked, for generations
		// The expiry workload's probes of expired keys (expiry.go).
		probes          int
		readAfterExpiry []string
	}
}

func newClients(cfg Config, c *cluster, hist *history.History) *clients {
	cl := &clients{cfg: cfg, c: c, hist: hist}
	cl.mu.adds = map[string]int{}
	for _, nd := range c.nodes {
		cl.conns = append(cl.conns, newClient(nd.client, cfg.OpTimeout, cfg.Clients()+cfg.LatencyClients))
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
	spawn := func(w history.Workload, slot int) {
		client := id
		id++
		rng := rand.New(rand.NewPCG(cl.cfg.Seed, uint64(client)+1))
		cl.wg.Go(func() { cl.run(ctx, w, client, slot, rng) })
	}
	for cart := range cl.cfg.Carts {
		for range cl.cfg.ClientsPerCart {
			spawn(history.Cart, cart)
		}
	}
	for range cl.cfg.KeyClients {
		spawn(history.Keys, 0)
	}
	for range cl.cfg.ExpiryClients {
		spawn(history.Expiry, 0)
	}
	for cart := range cl.cfg.LWWCarts {
		for range cl.cfg.ClientsPerCart {
			spawn(history.LWW, cart)
		}
	}
	for p := range cl.cfg.LatencyClients {
		rng := rand.New(rand.NewPCG(cl.cfg.Seed, 1<<32+uint64(p)))
		cl.wg.Go(func() { cl.runLatency(ctx, p, rng) })
	}
}

func (cl *clients) wait() { cl.wg.Wait() }

func (cl *clients) run(ctx context.Context, w history.Workload, client, slot int, rng *rand.Rand) {
	if w == history.Expiry {
		cl.runExpiry(ctx, client, rng)
		return
	}
	for seq := 0; ctx.Err() == nil; seq++ {
		i := rng.IntN(len(cl.conns))
		nd := cl.c.nodes[i]
		if !nd.running() {
			// Nothing listens there; a real client would fail over too.
			i = (i + 1 + rng.IntN(len(cl.conns)-1)) % len(cl.conns)
			nd = cl.c.nodes[i]
		}
		op := history.Op{Workload: w, Client: client, Item: fmt.Sprintf("c%d-%d", client, seq), Node: nd.id}
		rdb := cl.conns[i]
		op.Start = time.Now()
		switch w {
		case history.Keys:
			op.Key = "key:" + op.Item
			cl.set(ctx, rdb, &op)
		default:
			op.Key = cl.cartFor(w, slot)
			cl.add(ctx, rdb, &op)
		}
		op.End = time.Now()
		if ctx.Err() != nil && op.Outcome != history.OK && !op.Sent {
			return // stopped before anything was sent: not an operation
		}
		cl.hist.Record(op)
		if op.Outcome != history.OK {
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
func (cl *clients) cartFor(w history.Workload, slot int) string {
	k := fmt.Sprintf("%s:%d", w, slot)
	cl.mu.Lock()
	n := cl.mu.adds[k]
	cl.mu.adds[k] = n + 1
	cl.mu.Unlock()
	return cartKey(w, slot, n/cartItems)
}

// set is one keys operation: SET a new key.
func (cl *clients) set(ctx context.Context, rdb *redis.Client, op *history.Op) {
	op.Sent = true
	err := rdb.Set(ctx, op.Key, op.Item, 0).Err()
	op.Outcome, op.Err = classify(err)
}

// add is one cart (or lww) operation: read, add the item, write.
func (cl *clients) add(ctx context.Context, rdb *redis.Client, op *history.Op) {
	items := map[string]bool{}
	var err error
	switch op.Workload {
	case history.Cart:
		var ctxt string
		var values []string
		ctxt, values, err = dget(ctx, rdb, op.Key, cl.cfg.R)
		if err == nil {
			for _, v := range values {
				history.ParseItems(items, v)
			}
			items[op.Item] = true
			op.Sent = true
			err = rdb.Do(ctx, "DPUT", op.Key, ctxt, history.FormatItems(items), "W", cl.cfg.W).Err()
		}
	case history.LWW:
		var v string
		v, err = rdb.Get(ctx, op.Key).Result()
		if errors.Is(err, redis.Nil) {
			err = nil
		}
		if err == nil {
			history.ParseItems(items, v)
			items[op.Item] = true
			op.Sent = true
			err = rdb.Set(ctx, op.Key, history.FormatItems(items), 0).Err()
		}
	}
	op.Outcome, op.Err = classify(err)
	if !op.Sent && op.Outcome == history.Indeterminate {
		op.Outcome = history.Failed // only the read went unanswered: nothing was written
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
func classify(err error) (history.Outcome, string) {
	if err == nil {
		return history.OK, ""
	}
	var rerr redis.Error
	var nerr net.Error
	switch {
	case errors.As(err, &rerr) && !errors.As(err, &nerr):
		return history.Failed, err.Error()
	}
	return history.Indeterminate, err.Error()
}
