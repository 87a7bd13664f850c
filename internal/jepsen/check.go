package jepsen

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dynkv/dynkv/internal/history"
)

// finalRead is what the last reads found: per cart key, the items each
// node's read returned; per new key, the values.
type finalRead struct {
	carts      map[string][]map[string]bool
	keys       map[string][]string // new keys of keys and expiry
	errs       []string
	start, end time.Time // when the final reads began and ended
}

type convergence struct {
	ok    bool
	at    time.Time
	note  string
	final finalRead
}

// converge waits until no node holds hints and two consecutive rounds of
// reads at R=N of every cart from every node agree, then reads everything
// one last time.
func converge(ctx context.Context, cfg Config, c *cluster, cl *clients, ops []history.Op, say func(string, ...any)) (convergence, error) {
	deadline := time.Now().Add(cfg.ConvergeTimeout)
	var conv convergence
	carts, keys := keysOf(ops)
	for {
		held, err := hintsHeld(ctx, cl)
		if err == nil && held == 0 {
			break
		}
		if time.Now().After(deadline) {
			conv.note = fmt.Sprintf("hints still held after %s (%d, %v)", cfg.ConvergeTimeout, held, err)
			conv.at = time.Now()
			conv.final = readAll(ctx, cfg, cl, carts, keys)
			return conv, nil
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return conv, err
		}
	}
	say("hints drained; reading %d carts from every node until the reads agree", len(carts))
	var prev map[string]string
	for {
		cur, err := cartContexts(ctx, cfg, cl, carts)
		if err == nil && prev != nil && maps(prev, cur) {
			conv.ok, conv.at = true, time.Now()
			break
		}
		if time.Now().After(deadline) {
			conv.note = fmt.Sprintf("cart reads still differ after %s (%v)", cfg.ConvergeTimeout, err)
			conv.at = time.Now()
			break
		}
		prev = cur
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return conv, err
		}
	}
	say("converged=%v; final reads of %d carts and %d keys at R=%d", conv.ok, len(carts), len(keys), cfg.N)
	conv.final = readAll(ctx, cfg, cl, carts, keys)
	return conv, nil
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// keysOf returns the cart keys (of cart and lww) and the new keys the
// operations touched, sorted.
func keysOf(ops []history.Op) (carts, keys []string) {
	seenC, seenK := map[string]bool{}, map[string]bool{}
	for _, op := range ops {
		switch {
		case (op.Workload == history.Keys || op.Workload == history.Expiry) && !seenK[op.Key]:
			seenK[op.Key] = true
			keys = append(keys, op.Key)
		case op.Workload != history.Keys && op.Workload != history.Expiry && !seenC[op.Key]:
			seenC[op.Key] = true
			carts = append(carts, op.Key)
		}
	}
	slices.Sort(carts)
	slices.Sort(keys)
	return carts, keys
}

// hintsHeld sums INFO cluster's hints_held over the nodes.
func hintsHeld(ctx context.Context, cl *clients) (int, error) {
	total := 0
	for _, rdb := range cl.conns {
		info, err := rdb.Info(ctx, "cluster").Result()
		if err != nil {
			return 0, err
		}
		n, ok := infoField(info, "hints_held")
		if !ok {
			return 0, fmt.Errorf("jepsen: INFO cluster has no hints_held")
		}
		total += n
	}
	return total, nil
}

// infoField returns the integer field name of an INFO reply.
func infoField(info, name string) (int, bool) {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			n, err := strconv.Atoi(v)
			return n, err == nil
		}
	}
	return 0, false
}

// cartContexts reads every cart at R=N from every node (the nodes in
// parallel) and returns the contexts by key; an error if a read failed or
// two nodes' reads of a cart differ.
func cartContexts(ctx context.Context, cfg Config, cl *clients, carts []string) (map[string]string, error) {
	per := make([][]string, len(cl.conns))
	errs := make([]error, len(cl.conns))
	var wg sync.WaitGroup
	for i, rdb := range cl.conns {
		wg.Go(func() {
			for _, key := range carts {
				ctxt, _, err := dget(ctx, rdb, key, cfg.N)
				if err != nil {
					errs[i] = fmt.Errorf("n%d: DGET %s: %w", i+1, key, err)
					return
				}
				per[i] = append(per[i], ctxt)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	out := map[string]string{}
	for k, key := range carts {
		for i := range per {
			if per[i][k] != per[0][k] {
				return nil, fmt.Errorf("reads of %s differ between n1 and n%d", key, i+1)
			}
		}
		out[key] = per[0][k]
	}
	return out, nil
}

// readAll reads every cart from every node and every new key from one
// node (in turn), at R=N.
func readAll(ctx context.Context, cfg Config, cl *clients, carts, keys []string) finalRead {
	fr := finalRead{carts: map[string][]map[string]bool{}, keys: map[string][]string{}, start: time.Now()}
	var mu sync.Mutex
	fail := func(format string, args ...any) {
		mu.Lock()
		fr.errs = append(fr.errs, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	for _, key := range carts {
		for i, rdb := range cl.conns {
			_, values, err := dget(ctx, rdb, key, cfg.N)
			if err != nil {
				fail("final read of %s from n%d: %v", key, i+1, err)
				continue
			}
			items := map[string]bool{}
			for _, v := range values {
				history.ParseItems(items, v)
			}
			fr.carts[key] = append(fr.carts[key], items)
		}
	}
	// New keys: pipelined, from every node in parallel, each key once.
	const batch = 256
	var wg sync.WaitGroup
	for w, rdb := range cl.conns {
		wg.Go(func() {
			for start := w * batch; start < len(keys); start += batch * len(cl.conns) {
				chunk := keys[start:min(start+batch, len(keys))]
				pipe := rdb.Pipeline()
				cmds := make([]*redis.Cmd, len(chunk))
				for i, key := range chunk {
					cmds[i] = pipe.Do(ctx, "DGET", key, "R", cfg.N)
				}
				_, _ = pipe.Exec(ctx)
				for i, cmd := range cmds {
					v, err := cmd.Slice()
					if err == nil && len(v) != 2 {
						err = fmt.Errorf("reply of %d elements", len(v))
					}
					if err != nil {
						fail("final read of %s from n%d: %v", chunk[i], w+1, err)
						continue
					}
					sibs, _ := v[1].([]any)
					vals := make([]string, 0, len(sibs))
					for _, s := range sibs {
						str, _ := s.(string)
						vals = append(vals, str)
					}
					mu.Lock()
					fr.keys[chunk[i]] = vals
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	fr.end = time.Now()
	return fr
}

// judge compares the final reads with the history, workload by workload:
// the carts of cart and lww from every node's read, the new keys from the
// read of each.
func judge(rep *Report, ops []history.Op, fr finalRead, probes int, readAfterExpiry []string) {
	rep.ReadErrors = fr.errs
	rep.Workloads = map[history.Workload]*WorkloadResult{}
	for _, w := range Workloads {
		if w == history.Expiry {
			rep.Workloads[w] = judgeExpiry(ops, fr, probes, readAfterExpiry)
			continue
		}
		var wops []history.Op
		for _, op := range ops {
			if op.Workload == w {
				wops = append(wops, op)
			}
		}
		reads, sep := history.Reads{}, "/"
		if w == history.Keys {
			sep = "="
			for key, vals := range fr.keys {
				if strings.HasPrefix(key, expiryKey("")) {
					continue // the expiry workload's, judged apart
				}
				s := map[string]bool{}
				for _, v := range vals {
					s[v] = true
				}
				reads[key] = []map[string]bool{s}
			}
		} else {
			for key, rs := range fr.carts {
				if strings.HasPrefix(key, string(w)+":") {
					reads[key] = rs
				}
			}
		}
		c, v := history.Count(wops), history.Judge(wops, reads)
		rep.Workloads[w] = &WorkloadResult{Ops: c.Ops, OK: c.OK, Failed: c.Failed, Indeterminate: c.Indeterminate,
			Lost: v.Lost, Unexpected: history.Format(v.Unexpected, sep), Recovered: len(v.Recovered)}
	}
}

// tally computes availability per fault kind: the operations in flight
// while a fault of the kind was active, and those of them sent to nodes
// outside the fault's minority. The control's operations do not count: its
// availability is the cart's.
func tally(rep *Report, ops []history.Op) {
	spans := make([]history.Span[Kind], len(rep.Faults))
	for i, f := range rep.Faults {
		spans[i] = history.Span[Kind]{Kind: f.Kind, Start: f.Start, End: f.End, Minority: f.Minority}
	}
	ops = slices.DeleteFunc(slices.Clone(ops), func(op history.Op) bool { return op.Workload == history.LWW })
	av := history.Tally(ops, spans)
	rep.Availability, rep.Calm = av.ByKind, av.Calm
}

// rootsAgree waits until every partition's replicas report the same Merkle
// tree root (RING ROOTS on every node; each partition must be reported by
// N nodes): anti-entropy has made the replicas equal, keys nobody read
// and tombstones included. It gives up after Config.ConvergeTimeout and
// says why.
func rootsAgree(ctx context.Context, cfg Config, cl *clients, say func(string, ...any)) (bool, string, error) {
	deadline := time.Now().Add(cfg.ConvergeTimeout)
	for {
		why := rootsDiffer(ctx, cfg, cl)
		if why == "" {
			say("every partition's replicas have equal tree roots")
			return true, "", nil
		}
		if time.Now().After(deadline) {
			return false, fmt.Sprintf("after %s: %s", cfg.ConvergeTimeout, why), nil
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return false, why, err
		}
	}
}

// rootsDiffer returns why the replicas' roots do not (yet) agree, or "".
func rootsDiffer(ctx context.Context, cfg Config, cl *clients) string {
	roots := map[int64][]string{} // partition → roots reported
	for i, conn := range cl.conns {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		v, err := conn.Do(rctx, "RING", "ROOTS").Slice()
		cancel()
		if err != nil {
			return fmt.Sprintf("node %d: RING ROOTS: %v", i+1, err)
		}
		for _, e := range v {
			f, ok := e.([]any)
			if !ok || len(f) != 2 {
				return fmt.Sprintf("node %d: RING ROOTS entry %v", i+1, e)
			}
			p, ok1 := f[0].(int64)
			root, ok2 := f[1].(string)
			if !ok1 || !ok2 {
				return fmt.Sprintf("node %d: RING ROOTS entry %v", i+1, e)
			}
			roots[p] = append(roots[p], root)
		}
	}
	differ := 0
	first := int64(-1)
	for p, rs := range roots {
		if len(rs) != cfg.N || slices.ContainsFunc(rs, func(r string) bool { return r != rs[0] }) {
			differ++
			if first < 0 || p < first {
				first = p
			}
		}
	}
	if differ > 0 {
		return fmt.Sprintf("%d partitions differ (first %d: %v)", differ, first, roots[first])
	}
	return ""
}
