package chaos

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/internal/history"
	"github.com/dynkv/dynkv/version"
)

// clients runs the workload: ClientsPerCart clients per cart, each adding
// its own items until the op budget is spent or ctx is done.
type clients struct {
	cfg    Config
	t      *target
	hist   *history.History
	budget atomic.Int64 // adds left to invoke; unlimited when cfg.Ops is 0
	wg     sync.WaitGroup
}

func startClients(ctx context.Context, cfg Config, t *target, hist *history.History) *clients {
	cl := &clients{cfg: cfg, t: t, hist: hist}
	cl.budget.Store(int64(cfg.Ops))
	id := 0
	for cart := range cfg.Carts {
		for range cfg.ClientsPerCart {
			client := id
			id++
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(client)+1))
			cl.wg.Add(1)
			go func() {
				defer cl.wg.Done()
				cl.run(ctx, client, cart, rng)
			}()
		}
	}
	return cl
}

// wait blocks until every client has stopped.
func (cl *clients) wait() { cl.wg.Wait() }

func (cl *clients) take() bool {
	if cl.cfg.Ops == 0 {
		return true
	}
	return cl.budget.Add(-1) >= 0
}

func (cl *clients) run(ctx context.Context, client, cart int, rng *rand.Rand) {
	key := cartKey(cart)
	for seq := 0; ctx.Err() == nil && cl.take(); seq++ {
		op := history.Op{Workload: cl.cfg.Workload, Client: client, Key: string(key), Item: itemName(client, seq)}
		node, co, release := cl.pick(rng)
		if co == nil {
			continue // no node is up; nothing was invoked
		}
		op.Node, op.Start = node, time.Now()
		cl.add(ctx, co, key, &op)
		op.End = time.Now()
		release()
		cl.hist.Record(op)
	}
}

// pick returns a random running node and its coordinator, to be released
// after the operation (nil if no node runs).
func (cl *clients) pick(rng *rand.Rand) (string, *coordinator.Coordinator, func()) {
	for range 10 {
		var up []string
		for _, id := range cl.t.c.IDs() {
			if cl.t.c.Node(id).Coord != nil {
				up = append(up, id)
			}
		}
		if len(up) == 0 {
			return "", nil, nil
		}
		id := up[rng.IntN(len(up))]
		if co, release := cl.t.coordinator(id); co != nil {
			return id, co, release
		}
		// Killed since the list was made: pick again.
	}
	return "", nil, nil
}

// add performs one add through co and fills in op's outcome.
func (cl *clients) add(ctx context.Context, co *coordinator.Coordinator, key []byte, op *history.Op) {
	ctx, cancel := context.WithTimeout(ctx, cl.cfg.OpTimeout)
	defer cancel()
	ss, err := co.Get(ctx, key, coordinator.ReadOptions{R: cl.cfg.R})
	if err != nil {
		// Nothing was sent: the add definitely did not happen.
		op.Outcome, op.Err = history.Failed, err.Error()
		return
	}
	items := map[string]bool{}
	w := coordinator.Write{W: cl.cfg.W}
	switch cl.cfg.Workload {
	case history.Cart:
		for _, s := range ss.Live() {
			history.ParseItems(items, string(s.Value))
		}
		w.Context = ss.Context()
	case history.LWW:
		if v, ok := ss.Value(); ok {
			history.ParseItems(items, string(v))
		}
		w.Supersede = true
	}
	items[op.Item] = true
	w.Data = []byte(history.FormatItems(items))
	op.Sent = true
	_, err = co.Put(ctx, key, w)
	op.Outcome = classify(ctx, err)
	if err != nil {
		op.Err = err.Error()
	}
}

// classify maps a write's error to its outcome. A deadline (the client's,
// or the coordinator's reported as a quorum error after it) leaves the
// write's fate unknown; any other error is a failure, which in Dynamo can
// still have reached some replicas.
func classify(ctx context.Context, err error) history.Outcome {
	switch {
	case err == nil:
		return history.OK
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return history.Indeterminate
	}
	return history.Failed
}

// items returns the union of the item lists of ss's live siblings.
func items(ss version.Siblings) map[string]bool {
	s := map[string]bool{}
	for _, sib := range ss.Live() {
		history.ParseItems(s, string(sib.Value))
	}
	return s
}
