package bench

import (
	"fmt"
	"slices"
	"time"
)

// Matrix describes a standard set of cases: every workload at every value
// size and pipeline depth (with exceptions, see Cases), an open-loop case,
// and redis-benchmark cases.
type Matrix struct {
	Workloads []string      // of Workloads
	Values    []int         // value sizes, bytes; the first is the main one
	Pipelines []int         // pipeline depths of the closed loops
	Clients   int           // connections of every case
	Keys      int           // key space of 100-byte values; larger values get fewer keys (see keysFor)
	Pipelined []string      // workloads also run at depths > 1; nil: all
	Duration  time.Duration // of each closed-loop case
	Requests  int           // when > 0, each case stops after this many requests (a smoke test)

	Rate         int           // open loop: requests per second of mixed, main value size; 0: none
	RateDuration time.Duration // of the open-loop case

	RedisBenchmark         bool // add redis-benchmark -t set,get at the main value size, every depth
	RedisBenchmarkRequests int  // its -n
}

// QuickMatrix is dynkv bench --quick: the main comparisons, a second each.
func QuickMatrix() Matrix {
	return Matrix{Workloads: Workloads, Values: []int{100}, Pipelines: []int{1, 16}, Clients: 50,
		Pipelined: []string{WorkSet, WorkGet}, Keys: 10000, Duration: time.Second, Rate: 500, RateDuration: 2 * time.Second,
		RedisBenchmark: true, RedisBenchmarkRequests: 20000}
}

// FullMatrix is the full run: 100-byte and 10 KB values, longer cases.
func FullMatrix() Matrix {
	return Matrix{Workloads: Workloads, Values: []int{100, 10240}, Pipelines: []int{1, 16}, Clients: 50,
		Keys: 100000, Duration: 3 * time.Second, Rate: 500, RateDuration: 10 * time.Second,
		RedisBenchmark: true, RedisBenchmarkRequests: 50000}
}

// maxSpaceBytes bounds a key space's data: keys × value size.
const maxSpaceBytes = 64 << 20

// keysFor returns the key space for values of size value: m.Keys, fewer
// for large values so that a key space holds at most 64 MiB.
func (m Matrix) keysFor(value int) int {
	return max(min(m.Keys, maxSpaceBytes/value), 1)
}

// writersPerCart is how many clients share a cart, on average.
const writersPerCart = 5

// Cases returns the cases of m. The cart runs unpipelined at the main
// value size only (its values are its items); values other than the main
// one run unpipelined only.
func (m Matrix) Cases() []Case {
	var out []Case
	base := Load{Clients: m.Clients, Duration: m.Duration, Requests: m.Requests, Seed: 1}
	if m.Requests > 0 {
		base.Duration = 10 * time.Minute // bounded by the count
	}
	for _, w := range m.Workloads {
		for vi, v := range m.Values {
			for _, p := range m.Pipelines {
				pipelined := m.Pipelined == nil || slices.Contains(m.Pipelined, w)
				if (w == WorkCart || vi > 0 || !pipelined) && p != 1 {
					continue
				}
				if w == WorkCart && vi > 0 {
					continue
				}
				l := base
				l.Workload, l.Value, l.Keys, l.Pipeline = w, v, m.keysFor(v), p
				name := fmt.Sprintf("%s %s c%d p%d", w, sizeName(v), m.Clients, p)
				if w == WorkCart {
					l.Keys = max(m.Clients/writersPerCart, 1)
					name = fmt.Sprintf("cart %d carts c%d", l.Keys, m.Clients)
				}
				out = append(out, Case{Name: name, Load: l})
			}
		}
	}
	if m.Rate > 0 && len(m.Values) > 0 {
		l := base
		l.Workload, l.Value, l.Keys, l.Pipeline, l.Rate = WorkMixed, m.Values[0], m.keysFor(m.Values[0]), 1, m.Rate
		l.Duration = m.RateDuration
		if m.Requests > 0 {
			l.Duration = 10 * time.Minute
		}
		if !slices.Contains(m.Workloads, WorkMixed) && !slices.Contains(m.Workloads, WorkGet) {
			l.Workload = WorkSet // no prefill of this key space
		}
		out = append(out, Case{Name: fmt.Sprintf("%s %s open %d/s", l.Workload, sizeName(l.Value), m.Rate), Load: l})
	}
	if m.RedisBenchmark && len(m.Values) > 0 {
		n := m.RedisBenchmarkRequests
		if m.Requests > 0 {
			n = m.Requests
		}
		for _, p := range m.Pipelines {
			l := base
			l.Workload, l.Value, l.Keys, l.Pipeline, l.Requests = WorkMixed, m.Values[0], m.keysFor(m.Values[0]), p, n
			out = append(out, Case{Name: fmt.Sprintf("%s set,get %s c%d p%d", ToolRedisBenchmark, sizeName(l.Value), m.Clients, p),
				Tool: ToolRedisBenchmark, Load: l})
		}
	}
	return out
}

// sizeName renders a value size: 100B, 10KB.
func sizeName(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%dKB", n/1024)
	}
	return fmt.Sprintf("%dB", n)
}

// StandardTargets returns the targets of a default run: one dynkv node
// (N=1), a cluster of nodes processes with n/r/w, and, when installed, a
// redis-server as the reference.
func StandardTargets(nodes, n, r, w int, redis bool) []TargetSpec {
	out := []TargetSpec{
		{Name: "dynkv-1", Kind: KindDynkv, Nodes: 1, N: 1, R: 1, W: 1},
		{Name: fmt.Sprintf("dynkv-%d", nodes), Kind: KindDynkv, Nodes: nodes, N: n, R: r, W: w},
	}
	if nodes == 1 {
		out = out[:1]
	}
	if redis {
		out = append(out, TargetSpec{Name: "redis", Kind: KindRedis})
	}
	return out
}
