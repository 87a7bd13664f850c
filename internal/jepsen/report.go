package jepsen

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/dynkv/dynkv/internal/history"
)

// Report is what a run found.
type Report struct {
	Seed   uint64
	Config Config

	Workloads    map[history.Workload]*WorkloadResult
	Faults       []FaultRecord
	Availability map[Kind]*history.Avail // operations in flight during faults of each kind
	Calm         history.Avail           // operations in flight while no fault was active
	// Healthy: the latency clients' requests to the nodes each kind of
	// fault left healthy, and while no fault was active (latency.go).
	Healthy        map[Kind]*Latency
	HealthyCalm    Latency
	HealthySlowest []LatencySample // the slowest of those requests, slowest first

	Converged    bool
	ConvergeTime time.Duration // from healing to converged (or giving up)
	ConvergeNote string
	// RootsAgree: after the final reads, every partition's replicas reported
	// the same Merkle tree root (RING ROOTS), RootsTime after healing.
	RootsAgree bool
	RootsTime  time.Duration
	RootsNote  string
	ReadErrors []string // final reads that failed
	Crashed    []string // nodes that exited without being killed
	Notes      []string
	Elapsed    time.Duration

	Pass    bool
	Reasons []string // why it did not pass
}

// WorkloadResult is one workload's outcome.
type WorkloadResult struct {
	Ops, OK, Failed, Indeterminate int
	Lost                           []history.Op // acknowledged, absent from a final read
	Unexpected                     []string     // read, never written there
	Recovered                      int          // not acknowledged, present
	// The expiry workload: probes of expired keys made during the run,
	// and the keys read after their expiry (by a probe or the final reads).
	Probes          int
	ReadAfterExpiry []string
}

// evaluate sets Pass and Reasons. A run passes when the cart, keys and
// expiry workloads lost no acknowledged write (expiry: none whose expiry
// was still ahead), no key was read after its expiry, saw no value nobody wrote and had
// something acknowledged; the lww control lost something (else the checker
// cannot see loss) and invented nothing; every pause was seen by the
// failure detector; the cluster converged and the replicas' Merkle roots
// agree; every final read succeeded; no node exited on its own; and during
// every fault that takes out at most a minority (kills, pauses, minority
// partitions) at least Config.MinAvailability of the operations on the
// majority side succeeded.
func (r *Report) evaluate() {
	fail := func(format string, args ...any) { r.Reasons = append(r.Reasons, fmt.Sprintf(format, args...)) }
	for _, w := range []history.Workload{history.Cart, history.Keys, history.Expiry} {
		wr := r.Workloads[w]
		if wr == nil || (w == history.Expiry && r.Config.ExpiryClients == 0) {
			continue
		}
		if len(wr.ReadAfterExpiry) > 0 {
			fail("%s: %d keys read after their expiry", w, len(wr.ReadAfterExpiry))
		}
		if w == history.Expiry && wr.OK > 0 && wr.Probes == 0 {
			fail("%s: no expired key was probed: the run checked no expiry", w)
		}
		if len(wr.Lost) > 0 {
			fail("%s: %d acknowledged writes lost", w, len(wr.Lost))
		}
		if len(wr.Unexpected) > 0 {
			fail("%s: %d unexpected values", w, len(wr.Unexpected))
		}
		if wr.OK == 0 && wr.Ops > 0 {
			fail("%s: nothing acknowledged: the run checked nothing", w)
		}
	}
	if lww := r.Workloads[history.LWW]; r.Config.LWWCarts > 0 {
		if len(lww.Lost) == 0 {
			fail("lww control lost nothing: can the checker see loss?")
		}
		if len(lww.Unexpected) > 0 {
			fail("lww: %d unexpected values", len(lww.Unexpected))
		}
	}
	for _, f := range r.Faults {
		if f.Detected < 0 {
			fail("%s: the failure detector never saw the node down: the pause tested nothing", f.Desc)
		}
	}
	if !r.Converged {
		fail("did not converge: %s", r.ConvergeNote)
	}
	if !r.RootsAgree {
		fail("replicas' Merkle roots differ: %s", r.RootsNote)
	}
	if len(r.ReadErrors) > 0 {
		fail("%d final reads failed (first: %s)", len(r.ReadErrors), r.ReadErrors[0])
	}
	if len(r.Crashed) > 0 {
		fail("nodes exited on their own: %s", strings.Join(r.Crashed, ","))
	}
	for _, k := range Kinds {
		a := r.Availability[k]
		if a == nil || !k.minorityOK() {
			continue
		}
		if f := a.MajorityFraction(); f < r.Config.MinAvailability {
			fail("%s: %.2f%% of %d operations on the majority side succeeded, want ≥ %.0f%%",
				k, 100*f, a.MajorityOps, 100*r.Config.MinAvailability)
		}
	}
	r.Pass = len(r.Reasons) == 0
}

// Print writes the report for people.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "\nseed %d, %d nodes, N=%d R=%d W=%d, workload %s, %d faults, elapsed %s\n",
		r.Seed, r.Config.Nodes, r.Config.N, r.Config.R, r.Config.W, r.Config.Duration, len(r.Faults), r.Elapsed.Round(time.Second))
	fmt.Fprintf(w, "\n%-6s %8s %8s %7s %8s %6s %10s %9s\n", "", "ops", "acked", "failed", "indeterm", "lost", "unexpected", "recovered")
	for _, wl := range Workloads {
		wr := r.Workloads[wl]
		if wr == nil {
			continue
		}
		fmt.Fprintf(w, "%-6s %8d %8d %7d %8d %6d %10d %9d\n", wl, wr.Ops, wr.OK, wr.Failed, wr.Indeterminate,
			len(wr.Lost), len(wr.Unexpected), wr.Recovered)
	}
	if e := r.Workloads[history.Expiry]; e != nil && e.Ops > 0 {
		fmt.Fprintf(w, "expiry: %d expired keys probed during the run, %d read after their expiry\n", e.Probes, len(e.ReadAfterExpiry))
	}
	fmt.Fprintf(w, "\n%-11s %7s %8s %10s %14s\n", "fault", "faults", "ops", "succeeded", "majority side")
	for _, k := range Kinds {
		a := r.Availability[k]
		if a == nil {
			continue
		}
		n := 0
		for _, f := range r.Faults {
			if f.Kind == k {
				n++
			}
		}
		fmt.Fprintf(w, "%-11s %7d %8d %9.2f%% %13.2f%%\n", k, n, a.Ops, 100*a.Fraction(), 100*a.MajorityFraction())
	}
	fmt.Fprintf(w, "%-11s %7s %8d %9.2f%%\n", "(none)", "", r.Calm.Ops, 100*r.Calm.Fraction())
	r.printLatency(w)
	fmt.Fprintf(w, "\nconverged: %v in %s after healing", r.Converged, r.ConvergeTime.Round(time.Millisecond))
	if r.ConvergeNote != "" {
		fmt.Fprintf(w, " (%s)", r.ConvergeNote)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "replica trees equal: %v in %s after healing", r.RootsAgree, r.RootsTime.Round(time.Millisecond))
	if r.RootsNote != "" {
		fmt.Fprintf(w, " (%s)", r.RootsNote)
	}
	fmt.Fprintln(w)
	for i, f := range r.Faults {
		fmt.Fprintf(w, "  fault %d: %s (%s", i+1, f.Desc, f.End.Sub(f.Start).Round(100*time.Millisecond))
		switch {
		case f.Detected > 0:
			fmt.Fprintf(w, "; seen down after %s", f.Detected.Round(100*time.Millisecond))
		case f.Detected < 0:
			fmt.Fprintf(w, "; never seen down")
		}
		fmt.Fprintln(w, ")")
	}
	for _, wl := range Workloads {
		wr := r.Workloads[wl]
		if wr == nil || wl == history.LWW {
			continue
		}
		for i, op := range wr.Lost {
			if i == 20 {
				fmt.Fprintf(w, "  ... %d more lost\n", len(wr.Lost)-i)
				break
			}
			fmt.Fprintf(w, "  lost %s %s via %s at %s%s\n", op.Key, op.Item, op.Node, op.Start.Format("15:04:05.000"), r.during(op))
		}
		for i, u := range wr.Unexpected {
			if i == 20 {
				break
			}
			fmt.Fprintf(w, "  unexpected %s\n", u)
		}
		for i, u := range wr.ReadAfterExpiry {
			if i == 20 {
				break
			}
			fmt.Fprintf(w, "  read after expiry: %s\n", u)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if r.Pass {
		fmt.Fprintf(w, "\nPASS (seed %d)\n", r.Seed)
		return
	}
	fmt.Fprintf(w, "\nFAIL (seed %d; replay with --seed %d):\n", r.Seed, r.Seed)
	for _, why := range r.Reasons {
		fmt.Fprintf(w, "  - %s\n", why)
	}
}

// during names the faults active while op ran.
func (r *Report) during(op history.Op) string {
	var ds []string
	for _, f := range r.Faults {
		if op.Overlaps(f.Start, f.End) {
			ds = append(ds, f.Desc)
		}
	}
	if len(ds) == 0 {
		return ""
	}
	slices.Sort(ds)
	return " during " + strings.Join(ds, "; ")
}
