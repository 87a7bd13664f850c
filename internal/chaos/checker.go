package chaos

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/internal/clustertest"
	"github.com/dynkv/dynkv/version"
)

// Result is what a run found.
type Result struct {
	Seed     uint64
	Workload Workload

	Ops           int // adds invoked
	OK            int // acknowledged
	Failed        int
	Indeterminate int

	Lost       []Op // acknowledged, absent from some final read
	Unexpected []string
	Recovered  []Op // failed or indeterminate, present in the final reads

	Faults       []FaultRecord
	Availability map[Kind]Avail // adds in flight while a fault of the kind was active
	DuringFaults Avail          // adds in flight while a fault was active
	Calm         Avail          // adds in flight while no fault was active

	HintRounds   int           // handoff passes until no hint was held
	RepairRounds int           // read-repair passes until every cart's home replicas were equal
	Converged    bool          // every cart's home replicas ended equal
	ConvergeTime time.Duration // from healing everything to converged
	Problems     []string      // the run could not check something it should
	Elapsed      time.Duration
}

// Avail counts adds and how many succeeded.
type Avail struct {
	Ops, OK int
	// Majority counts the adds coordinated by nodes outside the fault's
	// minority (the side a minority partition cannot reach, the nodes
	// still up).
	MajorityOps, MajorityOK int
}

// Fraction returns OK/Ops (1 when there were no adds).
func (a Avail) Fraction() float64 { return frac(a.OK, a.Ops) }

// MajorityFraction returns MajorityOK/MajorityOps (1 when there were none).
func (a Avail) MajorityFraction() float64 { return frac(a.MajorityOK, a.MajorityOps) }

func frac(n, d int) float64 {
	if d == 0 {
		return 1
	}
	return float64(n) / float64(d)
}

func (a *Avail) add(op Op, majority bool) {
	a.Ops++
	if majority {
		a.MajorityOps++
	}
	if op.Outcome == OK {
		a.OK++
		if majority {
			a.MajorityOK++
		}
	}
}

// Summary is the run in one line.
func (r *Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed=%d workload=%s ops=%d acked=%d failed=%d indeterminate=%d lost=%d unexpected=%d recovered=%d faults=%d",
		r.Seed, r.Workload, r.Ops, r.OK, r.Failed, r.Indeterminate, len(r.Lost), len(r.Unexpected), len(r.Recovered), len(r.Faults))
	fmt.Fprintf(&b, " avail-during-faults=%.1f%% (majority side %.1f%%) calm=%.1f%% [", 100*r.DuringFaults.Fraction(),
		100*r.DuringFaults.MajorityFraction(), 100*r.Calm.Fraction())
	sep := ""
	for _, k := range Kinds() {
		if a, ok := r.Availability[k]; ok {
			fmt.Fprintf(&b, "%s%s %.0f%%/%d", sep, k, 100*a.Fraction(), a.Ops)
			sep = " "
		}
	}
	fmt.Fprintf(&b, "] hint-rounds=%d repair-rounds=%d converged=%v in %s problems=%d elapsed=%s",
		r.HintRounds, r.RepairRounds, r.Converged, r.ConvergeTime.Round(time.Millisecond), len(r.Problems), r.Elapsed.Round(time.Millisecond))
	return b.String()
}

// Explain describes the lost items, the unexpected ones and the problems,
// one per line, with the faults active when each lost add ran.
func (r *Result) Explain() string {
	var b strings.Builder
	for _, op := range r.Lost {
		fmt.Fprintf(&b, "lost %s: cart:%d via %s, %s … %s", op.Item, op.Cart, op.Node, op.Start.Format("15:04:05.000000"), op.End.Format("15:04:05.000000"))
		for _, f := range r.Faults {
			if op.Start.Before(f.End) && op.End.After(f.Start) {
				fmt.Fprintf(&b, "; during %s", f.Desc)
			}
		}
		b.WriteByte('\n')
	}
	if len(r.Unexpected) > 0 {
		fmt.Fprintf(&b, "unexpected: %v\n", r.Unexpected)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "problem: %s\n", p)
	}
	return b.String()
}

// Schedule lists the faults injected, one per line.
func (r *Result) Schedule() string {
	var b strings.Builder
	for i, f := range r.Faults {
		fmt.Fprintf(&b, "%d. %s: %s (%s)\n", i+1, f.Kind, f.Desc, f.End.Sub(f.Start).Round(time.Millisecond))
	}
	return b.String()
}

// check heals the cluster, waits for it to converge and checks the final
// state against the history, filling in res.
func check(ctx context.Context, cfg Config, c *clustertest.Cluster, homes [][]string, ops []Op, res *Result) {
	tally(res, ops)
	healed := time.Now()
	c.Heal()
	for _, id := range c.IDs() {
		c.Restart(id)
	}
	problem := func(format string, args ...any) { res.Problems = append(res.Problems, fmt.Sprintf(format, args...)) }

	if !waitFor(ctx, cfg.SettleTimeout, time.Millisecond, func() bool {
		res.HintRounds++
		replayHints(ctx, c)
		n, err := hintsHeld(ctx, c)
		return err == nil && n == 0
	}) {
		problem("%v: hints still held after %d handoff rounds", ErrNotSettled, res.HintRounds)
	}

	ids := c.IDs()
	converged := func() bool { return homesEqual(ctx, c, homes) }
	for round := 0; ; round++ {
		if waitFor(ctx, 200*time.Millisecond, time.Millisecond, converged) {
			res.RepairRounds, res.Converged, res.ConvergeTime = round, true, time.Since(healed)
			break
		}
		if round == cfg.MaxRounds {
			problem("%v: home replicas differ after %d read-repair rounds", ErrNotSettled, round)
			break
		}
		for cart := range homes {
			// A failed read shows up as a round that does not converge.
			_, _ = read(ctx, c.Node(ids[round%len(ids)]).Coord, cart, len(homes[cart]))
		}
	}

	final := finalItems(ctx, c, homes, problem)
	judge(res, ops, final)
	if cfg.AntiEntropyInterval > 0 {
		for round := 0; len(c.Diverged(ctx)) > 0; round++ {
			if round == 3 {
				problem("%v: partitions %v differ after %d anti-entropy rounds", ErrNotSettled, c.Diverged(ctx), round)
				break
			}
			c.AntiEntropyRound(ctx)
		}
	}
}

// tally counts the outcomes and the availability per fault.
func tally(res *Result, ops []Op) {
	res.Availability = map[Kind]Avail{}
	for _, op := range ops {
		res.Ops++
		switch op.Outcome {
		case OK:
			res.OK++
		case Failed:
			res.Failed++
		case Indeterminate:
			res.Indeterminate++
		}
		active := false
		for _, f := range res.Faults {
			if !op.Start.Before(f.End) || !op.End.After(f.Start) {
				continue
			}
			active = true
			a := res.Availability[f.Kind]
			a.add(op, !slices.Contains(f.Minority, op.Node))
			res.Availability[f.Kind] = a
			res.DuringFaults.add(op, !slices.Contains(f.Minority, op.Node))
		}
		if !active {
			res.Calm.add(op, true)
		}
	}
}

// finalItems reads every cart at R=N from every node and returns, per
// cart, the items of each read. Reads of one cart must agree.
func finalItems(ctx context.Context, c *clustertest.Cluster, homes [][]string, problem func(string, ...any)) [][]map[string]bool {
	out := make([][]map[string]bool, len(homes))
	for cart := range homes {
		var first version.Siblings
		for i, id := range c.IDs() {
			ss, err := read(ctx, c.Node(id).Coord, cart, len(homes[cart]))
			if err != nil {
				problem("final read of cart:%d from %s: %v", cart, id, err)
				continue
			}
			if i == 0 {
				first = ss
			} else if !version.SameVersions(first, ss) {
				problem("final reads of cart:%d disagree (%s and %s)", cart, c.IDs()[0], id)
			}
			out[cart] = append(out[cart], items(ss))
		}
	}
	return out
}

// judge compares the final reads with the history.
func judge(res *Result, ops []Op, final [][]map[string]bool) {
	sentTo := map[string]int{} // item → its cart, for items sent in a write
	for _, op := range ops {
		if op.Sent {
			sentTo[op.Item] = op.Cart
		}
	}
	unexpected := map[string]bool{}
	for cart, reads := range final {
		for _, rd := range reads {
			for it := range rd {
				if to, ok := sentTo[it]; !ok || to != cart {
					unexpected[fmt.Sprintf("cart:%d/%s", cart, it)] = true
				}
			}
		}
	}
	for it := range unexpected {
		res.Unexpected = append(res.Unexpected, it)
	}
	slices.Sort(res.Unexpected)
	for _, op := range ops {
		reads := final[op.Cart]
		inAll := len(reads) > 0
		for _, rd := range reads {
			inAll = inAll && rd[op.Item]
		}
		switch {
		case op.Outcome == OK && !inAll:
			res.Lost = append(res.Lost, op)
		case op.Outcome != OK && op.Sent && inAll:
			res.Recovered = append(res.Recovered, op)
		}
	}
}

// read reads cart at quorum r through co.
func read(ctx context.Context, co *coordinator.Coordinator, cart, r int) (version.Siblings, error) {
	if co == nil {
		return nil, fmt.Errorf("chaos: node down")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return co.Get(ctx, cartKey(cart), coordinator.ReadOptions{R: r})
}

// homesEqual reports whether every cart's home replicas hold the same
// versions.
func homesEqual(ctx context.Context, c *clustertest.Cluster, homes [][]string) bool {
	for cart, hs := range homes {
		var first version.Siblings
		for i, h := range hs {
			st := c.Node(h).Store
			if st == nil {
				return false
			}
			ss, err := st.Get(ctx, cartKey(cart))
			if err != nil {
				return false
			}
			if i == 0 {
				first = ss
			} else if !version.SameVersions(first, ss) {
				return false
			}
		}
	}
	return true
}

// settle waits, while the clients may still be running, until no hints are
// held and every cart's home replicas hold at least what a full read of it
// returns. Read repair and handoff do the work; settle only reads.
func settle(ctx context.Context, c *clustertest.Cluster, homes [][]string, timeout time.Duration) error {
	if !waitFor(ctx, timeout, time.Millisecond, func() bool {
		replayHints(ctx, c)
		n, err := hintsHeld(ctx, c)
		return err == nil && n == 0
	}) {
		return fmt.Errorf("%w: hints still held after %s", ErrNotSettled, timeout)
	}
	for cart, hs := range homes {
		var want version.Siblings
		var readAt time.Time
		if !waitFor(ctx, timeout, time.Millisecond, func() bool {
			if want == nil || time.Since(readAt) > 200*time.Millisecond {
				// Read again now and then, in case a repair was lost.
				ss, err := read(ctx, c.Node(hs[0]).Coord, cart, len(hs))
				if err != nil {
					return false
				}
				want, readAt = ss, time.Now()
			}
			return covered(ctx, c, hs, cartKey(cart), want)
		}) {
			return fmt.Errorf("%w: cart:%d not on all its home replicas after %s", ErrNotSettled, cart, timeout)
		}
	}
	return nil
}

// covered reports whether every node of hs holds every version of want or
// a successor of it.
func covered(ctx context.Context, c *clustertest.Cluster, hs []string, key []byte, want version.Siblings) bool {
	for _, h := range hs {
		st := c.Node(h).Store
		if st == nil {
			return false
		}
		cur, err := st.Get(ctx, key)
		if err != nil || !version.SameVersions(version.Sync(cur, want), cur) {
			return false
		}
	}
	return true
}
