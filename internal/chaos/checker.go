package chaos

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/internal/clustertest"
	"github.com/dynkv/dynkv/internal/history"
	"github.com/dynkv/dynkv/version"
)

// Result is what a run found.
type Result struct {
	Seed     uint64
	Workload history.Workload

	Ops           int // adds invoked
	OK            int // acknowledged
	Failed        int
	Indeterminate int

	Lost       []history.Op // acknowledged, absent from some final read
	Unexpected []string
	Recovered  []history.Op // failed or indeterminate, present in the final reads

	Faults       []FaultRecord
	Availability map[Kind]history.Avail // adds in flight while a fault of the kind was active
	DuringFaults history.Avail          // adds in flight while a fault was active
	Calm         history.Avail          // adds in flight while no fault was active

	HintRounds   int           // handoff passes until no hint was held
	RepairRounds int           // read-repair passes until every cart's home replicas were equal
	Converged    bool          // every cart's home replicas ended equal
	ConvergeTime time.Duration // from healing everything to converged
	// FinalReadRounds is how many rounds of final reads it took until
	// every node's reads agreed (1: the first).
	FinalReadRounds int
	Problems        []string // the run could not check something it should
	Elapsed         time.Duration
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
	fmt.Fprintf(&b, "] hint-rounds=%d repair-rounds=%d final-read-rounds=%d converged=%v in %s problems=%d elapsed=%s",
		r.HintRounds, r.RepairRounds, r.FinalReadRounds, r.Converged, r.ConvergeTime.Round(time.Millisecond), len(r.Problems), r.Elapsed.Round(time.Millisecond))
	return b.String()
}

// Explain describes the lost items, the unexpected ones and the problems,
// one per line, with the faults active when each lost add ran.
func (r *Result) Explain() string {
	var b strings.Builder
	for _, op := range r.Lost {
		fmt.Fprintf(&b, "lost %s: %s via %s, %s … %s", op.Item, op.Key, op.Node, op.Start.Format("15:04:05.000000"), op.End.Format("15:04:05.000000"))
		for _, f := range r.Faults {
			if op.Overlaps(f.Start, f.End) {
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
func check(ctx context.Context, cfg Config, c *clustertest.Cluster, homes [][]string, ops []history.Op, res *Result) {
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

	// Each read may consult a fallback for a home that misses its hop
	// deadline (under the race detector, 20 ms is short): the reads of
	// every node must come to agree, as in the multi-process checker,
	// within MaxRounds rounds (each read repairs what it saw).
	var final [][]map[string]bool
	for round := 0; ; round++ {
		var disagree []string
		final = finalItems(ctx, c, homes, func(format string, args ...any) {
			disagree = append(disagree, fmt.Sprintf(format, args...))
		})
		res.FinalReadRounds = round + 1
		if len(disagree) == 0 || round == cfg.MaxRounds {
			for _, d := range disagree {
				problem("%s", d)
			}
			break
		}
	}
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
func tally(res *Result, ops []history.Op) {
	c := history.Count(ops)
	res.Ops, res.OK, res.Failed, res.Indeterminate = c.Ops, c.OK, c.Failed, c.Indeterminate
	spans := make([]history.Span[Kind], len(res.Faults))
	for i, f := range res.Faults {
		spans[i] = history.Span[Kind]{Kind: f.Kind, Start: f.Start, End: f.End, Minority: f.Minority}
	}
	av := history.Tally(ops, spans)
	res.Availability = map[Kind]history.Avail{}
	for k, a := range av.ByKind {
		res.Availability[k] = *a
	}
	res.DuringFaults, res.Calm = av.During, av.Calm
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
				problem("final reads of cart:%d disagree (%s and %s): %s against %s", cart, c.IDs()[0], id, dots(first), dots(ss))
			}
			out[cart] = append(out[cart], items(ss))
		}
	}
	return out
}

// judge compares the final reads, per cart the items of each read of it,
// with the history. A cart none of whose reads succeeded loses every
// acknowledged add to it.
func judge(res *Result, ops []history.Op, final [][]map[string]bool) {
	reads := history.Reads{}
	for cart, rs := range final {
		reads[string(cartKey(cart))] = rs
	}
	v := history.Judge(ops, reads)
	res.Lost, res.Recovered = v.Lost, v.Recovered
	res.Unexpected = history.Format(v.Unexpected, "/")
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

// dots describes a sibling set by its versions, for a problem report.
func dots(ss version.Siblings) string {
	var b strings.Builder
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%x:%d", uint64(s.Dot.Actor)&0xffff, s.Dot.Counter)
		if s.Tombstone {
			b.WriteString("(del)")
		}
	}
	return "[" + b.String() + "]"
}
