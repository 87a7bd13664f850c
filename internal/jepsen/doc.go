// Package jepsen is dynkv's Jepsen-style checker of its central promise,
// "no acknowledged write is lost", against a cluster of real dynkv
// processes. `dynkv chaos` runs it.
//
// A run starts Nodes `dynkv serve` processes on loopback (N=3 R=2 W=2 by
// default), drives three workloads through a real Redis client (go-redis)
// while a seeded schedule injects faults, then heals everything, waits for
// the cluster to converge and reads every key back at R=N from every node:
//
//   - cart: clients add unique items to shared cart keys by DGET, union of
//     the siblings, add, DPUT with the context. Nothing acknowledged may be
//     lost.
//   - keys: each acknowledged SET creates a new key. Nothing acknowledged may
//     be lost.
//   - lww: the control — the cart workload done with plain GET/SET
//     read-modify-write on other keys. Last-writer-wins loses concurrent
//     adds; the run must see that loss, or the checker proves nothing.
//
// Latency clients (latency.go) send plain SETs and GETs, one at a time,
// only to the nodes outside the active fault's minority, and the report
// shows their throughput and latency percentiles per fault kind: what the
// clients of the healthy nodes see while a node is paused or cut off.
//
// Every operation is recorded as ok, failed (the server answered with an
// error: a Dynamo write that failed its quorum may still have reached some
// replicas) or indeterminate (no answer before the client's deadline, or
// the connection broke), and judged at the end: lost (acknowledged,
// absent), unexpected (present, never written), recovered (not
// acknowledged, present).
//
// Faults: kill -9 and restart of a random node, of two of a key's three
// home replicas in turn, SIGSTOP/SIGCONT pauses longer than the failure
// detector's timeout, and network partitions (a minority of two, an
// isolated node, a bridge, a one-way cut). Partitions need root: the run
// then happens in a network namespace it creates, each node on its own
// 127.0.0.x address, with nftables rules dropping the traffic between the
// two sides. Without root, or without nft, the partition kinds are left out
// and the report says so.
//
// The schedule (which fault, on which nodes, in which order) is a pure
// function of the seed, which every report prints; process and network
// timing make the operations' interleaving differ between runs.
package jepsen
