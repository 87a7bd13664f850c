package jepsen

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dynkv/dynkv/internal/history"
)

// The latency clients measure what the clients of the healthy nodes see
// while a fault is active (issue 15: while one node is paused or isolated,
// requests sent to the other nodes should keep their latency and
// throughput). The workloads cannot: each of their clients picks a node at random per operation, and a
// closed-loop client that picks a paused node waits there for its whole
// deadline, so during a pause nearly every client ends up waiting on the
// silent node and the healthy nodes idle. A latency client instead sends one
// request at a time (a SET of a 100-byte value, then a GET of it, on keys
// of its own) to a random running node outside the active fault's
// minority, so its rate and latency are those of the healthy nodes. Its
// requests are measured, not judged for loss: the workloads are.

// LatencySample is one request of a latency client.
type LatencySample struct {
	Start, End time.Time
	Node       string
	Op         string // SET or GET
	OK         bool
}

// latencyLog steers the latency clients and keeps their samples. Safe for
// concurrent use.
type latencyLog struct {
	avoid atomic.Pointer[[]string] // the active fault's minority, by node id; nil: none
	mu    struct {
		sync.Mutex
		samples []LatencySample
	}
}

// setAvoid makes the latency clients avoid nodes (nil: none) from their
// next request on.
func (l *latencyLog) setAvoid(nodes []string) {
	if len(nodes) == 0 {
		l.avoid.Store(nil)
		return
	}
	s := slices.Clone(nodes)
	l.avoid.Store(&s)
}

func (l *latencyLog) record(s LatencySample) {
	l.mu.Lock()
	l.mu.samples = append(l.mu.samples, s)
	l.mu.Unlock()
}

func (l *latencyLog) samples() []LatencySample {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.mu.samples)
}

// runLatency is one latency client; it runs until ctx is done.
func (cl *clients) runLatency(ctx context.Context, client int, rng *rand.Rand) {
	value := make([]byte, 100)
	for seq := 0; ctx.Err() == nil; seq++ {
		i, ok := cl.latencyTarget(rng)
		if !ok {
			if sleep(ctx, 10*time.Millisecond) != nil {
				return
			}
			continue
		}
		key := fmt.Sprintf("latency:l%d-%d", client, (seq/2)%64) // a bounded key set
		s := LatencySample{Node: cl.c.nodes[i].id, Start: time.Now()}
		var err error
		if seq%2 == 0 {
			s.Op = "SET"
			err = cl.conns[i].Set(ctx, key, value, 0).Err()
		} else {
			s.Op = "GET"
			err = cl.conns[i].Get(ctx, key).Err()
			if errors.Is(err, redis.Nil) {
				err = nil // its SET failed
			}
		}
		s.End = time.Now()
		if ctx.Err() != nil {
			return // stopped: not a measurement
		}
		s.OK = err == nil
		cl.lat.record(s)
		if !s.OK && sleep(ctx, 10*time.Millisecond) != nil {
			return
		}
	}
}

// latencyTarget picks a running node outside the active fault's minority.
func (cl *clients) latencyTarget(rng *rand.Rand) (int, bool) {
	var avoid []string
	if a := cl.lat.avoid.Load(); a != nil {
		avoid = *a
	}
	var ok []int
	for i, nd := range cl.c.nodes {
		if nd.running() && !slices.Contains(avoid, nd.id) {
			ok = append(ok, i)
		}
	}
	if len(ok) == 0 {
		return 0, false
	}
	return ok[rng.IntN(len(ok))], true
}

// Latency is what the latency clients measured over some stretch of a
// run: the requests to healthy nodes, how many succeeded, how long the
// stretch lasted and the latency distribution.
type Latency struct {
	Requests, OK int
	// Seconds the stretch lasted (the faults of a kind added up), and
	// Started the successful requests started in it: Started/Seconds is
	// the throughput.
	Seconds float64
	Started int
	// Percentiles of the requests' latency (failed ones too: a request
	// that waited for its deadline is the tail).
	P50, P99, P999, Max time.Duration
}

// Throughput returns the successful requests per second (0 for an empty
// stretch).
func (l Latency) Throughput() float64 {
	if l.Seconds <= 0 {
		return 0
	}
	return float64(l.Started) / l.Seconds
}

// measureLatency sums the samples up per fault kind and for the calm
// stretches of the workload period [from, to). A sample counts for a
// kind's latency when it overlapped one of its faults and went to a node
// outside that fault's minority, and for its throughput when it also
// started during the fault; for the calm latency when it overlapped no
// fault, and for the calm throughput when it started outside every fault.
func measureLatency(samples []LatencySample, faults []FaultRecord, from, to time.Time) (map[Kind]*Latency, Latency) {
	lat := map[Kind][]time.Duration{}
	by := map[Kind]*Latency{}
	calm := Latency{Seconds: to.Sub(from).Seconds()}
	var calmLat []time.Duration
	for _, f := range faults {
		l := by[f.Kind]
		if l == nil {
			l = &Latency{}
			by[f.Kind] = l
		}
		l.Seconds += f.End.Sub(f.Start).Seconds()
		calm.Seconds -= f.End.Sub(f.Start).Seconds()
	}
	for _, s := range samples {
		d := s.End.Sub(s.Start)
		quiet, startedQuiet := true, true
		for _, f := range faults {
			op := history.Op{Start: s.Start, End: s.End}
			if !op.Overlaps(f.Start, f.End) {
				continue
			}
			quiet = false
			if !s.Start.Before(f.Start) && s.Start.Before(f.End) {
				startedQuiet = false
			}
			if slices.Contains(f.Minority, s.Node) {
				continue
			}
			l := by[f.Kind]
			l.add(s, !s.Start.Before(f.Start) && s.Start.Before(f.End))
			lat[f.Kind] = append(lat[f.Kind], d)
		}
		if startedQuiet && s.OK {
			calm.Started++
		}
		if quiet {
			calm.add(s, false)
			calmLat = append(calmLat, d)
		}
	}
	for k, l := range by {
		l.percentiles(lat[k])
	}
	calm.percentiles(calmLat)
	return by, calm
}

func (l *Latency) add(s LatencySample, started bool) {
	l.Requests++
	if s.OK {
		l.OK++
		if started {
			l.Started++
		}
	}
}

func (l *Latency) percentiles(ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	at := func(q float64) time.Duration {
		return ds[max(0, int(math.Ceil(q*float64(len(ds))))-1)]
	}
	l.P50, l.P99, l.P999, l.Max = at(0.5), at(0.99), at(0.999), ds[len(ds)-1]
}

// slowestLatency returns the n slowest samples to healthy nodes (those
// measureLatency counts), slowest first.
func slowestLatency(samples []LatencySample, faults []FaultRecord, n int) []LatencySample {
	s := slices.DeleteFunc(slices.Clone(samples), func(p LatencySample) bool {
		return slices.ContainsFunc(faults, func(f FaultRecord) bool {
			return history.Op{Start: p.Start, End: p.End}.Overlaps(f.Start, f.End) && slices.Contains(f.Minority, p.Node)
		})
	})
	slices.SortFunc(s, func(a, b LatencySample) int { return cmp.Compare(b.End.Sub(b.Start), a.End.Sub(a.Start)) })
	return s[:min(n, len(s))]
}

// printLatency writes the latency clients' table.
func (r *Report) printLatency(w io.Writer) {
	if r.Config.LatencyClients == 0 {
		return
	}
	fmt.Fprintf(w, "\nrequests to healthy nodes (%d latency clients, one SET or GET at a time, never to the fault's minority)\n",
		r.Config.LatencyClients)
	fmt.Fprintf(w, "%-11s %8s %8s %8s %9s %9s %9s %9s\n", "fault", "requests", "req/s", "vs calm", "p50", "p99", "p99.9", "max")
	calm := r.HealthyCalm.Throughput()
	row := func(name string, l Latency) {
		vs := "-"
		if calm > 0 && name != "(none)" {
			vs = fmt.Sprintf("%.0f%%", 100*l.Throughput()/calm)
		}
		fmt.Fprintf(w, "%-11s %8d %8.0f %8s %9s %9s %9s %9s\n", name, l.Requests, l.Throughput(), vs,
			roundMs(l.P50), roundMs(l.P99), roundMs(l.P999), roundMs(l.Max))
	}
	for _, k := range Kinds {
		if l := r.Healthy[k]; l != nil {
			row(string(k), *l)
		}
	}
	row("(none)", r.HealthyCalm)
	for _, p := range r.HealthySlowest {
		fmt.Fprintf(w, "  slow: %s %s to %s at %s, ok=%v%s\n", roundMs(p.End.Sub(p.Start)), p.Op, p.Node,
			p.Start.Format("15:04:05.000"), p.OK, r.during(history.Op{Start: p.Start, End: p.End}))
	}
}

func roundMs(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}
