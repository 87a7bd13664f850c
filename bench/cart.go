package bench

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"
)

// The cart workload is the shopping cart of the Dynamo paper: each client
// reads a cart with DGET, merges its siblings (the union of their items),
// adds an item and writes the result back with DPUT and the context it
// read. Several clients write each cart (Load.Keys carts for Load.Clients
// clients), so concurrent writes make siblings; Stats.Versions counts how
// many siblings each DGET saw. A cart keeps its last cartItems items.
//
// Against a server without DGET/DPUT (redis-server) the same loop runs
// with GET and SET (Load.PlainCart): the same round trips, without
// versions, and with the lost updates docs/design.md describes (promise 2).

const cartItems = 16

var (
	cmdDGet = []byte("DGET")
	cmdDPut = []byte("DPUT")
)

// runCart runs the cart loop of connection conn until end, the budget or
// ctx runs out or the connection breaks. One cart update is two requests.
func runCart(ctx context.Context, c *conn, l Load, connID int, end time.Time, budget *atomic.Int64, st *Stats) {
	rng := rand.New(rand.NewPCG(l.Seed, uint64(connID)|1<<32))
	for seq := 0; ctx.Err() == nil && time.Now().Before(end); seq++ {
		if take(budget, 2) < 2 {
			return
		}
		key := cartKey(rng.IntN(l.Keys))
		item := fmt.Appendf(nil, "c%d.%d", connID, seq)
		if !cartUpdate(c, l.PlainCart, key, item, st) {
			return
		}
	}
}

// cartUpdate reads, merges and writes one cart. It returns false when the
// connection broke.
func cartUpdate(c *conn, plain bool, key, item []byte, st *Stats) bool {
	t0 := time.Now()
	read := cmdDGet
	if plain {
		read = cmdGet
	}
	rep, err := c.do(read, key)
	if err != nil {
		st.fail(2, err.Error())
		return false
	}
	st.Latency.Record(time.Since(t0))
	var vctx []byte
	var sibs [][]byte
	if plain {
		if rep.Kind != '$' {
			st.fail(2, replyText(rep, "GET"))
			return true
		}
		if !rep.Nil {
			sibs = [][]byte{rep.Str}
		}
	} else {
		var ok bool
		if vctx, sibs, ok = parseDGet(rep); !ok {
			st.fail(2, replyText(rep, "DGET"))
			return true
		}
		st.Versions[len(sibs)]++
	}
	st.Requests++
	value := mergeCart(sibs, item)
	t1 := time.Now()
	if plain {
		rep, err = c.do(cmdSet, key, value)
	} else {
		rep, err = c.do(cmdDPut, key, vctx, value)
	}
	if err != nil {
		st.fail(1, err.Error())
		return false
	}
	st.Latency.Record(time.Since(t1))
	if rep.Kind != '+' {
		st.fail(1, replyText(rep, "DPUT"))
		return true
	}
	st.Requests++
	return true
}

// replyText describes an unexpected reply to cmd.
func replyText(r Reply, cmd string) string {
	if r.IsError() {
		return string(r.Str)
	}
	return fmt.Sprintf("unexpected %s reply of type %q", cmd, r.Kind)
}

// parseDGet splits a DGET reply, [context, [value ...]].
func parseDGet(r Reply) (ctx []byte, values [][]byte, ok bool) {
	if r.Kind != '*' || len(r.Elems) != 2 || r.Elems[0].Kind != '$' || r.Elems[1].Kind != '*' {
		return nil, nil, false
	}
	for _, v := range r.Elems[1].Elems {
		if v.Kind != '$' {
			return nil, nil, false
		}
		values = append(values, v.Str)
	}
	return r.Elems[0].Str, values, true
}

// mergeCart returns the union of the items of the siblings (comma-separated
// lists) in first-seen order, plus item, keeping the last cartItems.
func mergeCart(sibs [][]byte, item []byte) []byte {
	seen := map[string]bool{}
	var items [][]byte
	for _, s := range sibs {
		for it := range bytes.SplitSeq(s, []byte(",")) {
			if len(it) > 0 && !seen[string(it)] {
				seen[string(it)] = true
				items = append(items, it)
			}
		}
	}
	items = append(items, item)
	if len(items) > cartItems {
		items = items[len(items)-cartItems:]
	}
	return bytes.Join(items, []byte(","))
}

// versionsLine renders a versions histogram as "1:980 2:20".
func versionsLine(v map[int]uint64) string {
	var b []byte
	for k := 0; k <= 64; k++ {
		if n, ok := v[k]; ok {
			if len(b) > 0 {
				b = append(b, ' ')
			}
			b = strconv.AppendInt(b, int64(k), 10)
			b = append(b, ':')
			b = strconv.AppendUint(b, n, 10)
		}
	}
	return string(b)
}
