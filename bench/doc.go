// Package bench is dynkv's load harness: it starts what it measures (a
// dynkv node, a dynkv cluster of several processes, a redis-server as the
// reference, the minimal redcon server of redcon.go as the Go front-end
// ceiling) or points at running servers, drives them in turn with the
// same load, and reports throughput and latency percentiles side by side,
// as ratios to redis-server measured in the same run, and the CPU time per
// request of every server process it started, read from /proc (cpu.go).
//
// The load generator speaks RESP over plain TCP connections with its own
// small writer and reader (proto.go), so that what is measured is the
// server, not a client library. It runs closed loops (C connections, each
// with a pipeline of P requests in flight, for throughput) and open loops
// (requests sent at a fixed rate whatever the replies do; the latency of a
// request is counted from the time it was meant to be sent, so a stalled
// server is not hidden by a stalled client: no coordinated omission).
// Latencies go into a log-linear histogram (hist.go) with a relative error
// below 0.2%.
//
// Targets are run A/B/A/B: every round drives every target with a case
// before the next case, and the figures reported are the medians over the
// rounds. Results go to a directory as JSON, CSV and an SVG plot of the
// latency distributions, next to a record of the machine and of the exact
// configuration.
//
// Scenarios (scenario*.go) reproduce the experiments of the Dynamo paper:
// divergent versions under concurrent cart writers, load balance over a
// simulated ring, the cost of durability, and the cost of forwarding; and
// single-node compares one node with redis-server and the redcon server.
//
// Concurrency: Run and the scenarios block until done; every goroutine and
// every process they start is stopped before they return, also when their
// context is cancelled. Nothing here is safe for concurrent use unless its
// doc says so.
package bench
