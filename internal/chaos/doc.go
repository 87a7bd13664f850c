// Package chaos is the in-process part of dynkv's Jepsen-style checker of
// the promise "no acknowledged write is lost" (docs/design.md, promise 2).
//
// A run takes a clustertest cluster (5 nodes, N=3 R=2 W=2, pebble on
// vfs.NewCrashableMem, memnet), drives a workload against it from many
// concurrent clients while a seeded schedule injects faults, then heals
// everything and checks the final state:
//
//   - the cart workload adds unique items ("c3-17") to a few carts by
//     read-modify-write with contexts: Get (R=2), union of the live
//     siblings' item lists plus the new item, Put with the read's context
//     (W=2). Siblings keep concurrent adds; the union merges them.
//   - the LWW control does the same with plain last-writer-wins
//     read-modify-write (Value(), then a superseding Put). It loses adds by
//     design, which proves the checker can see loss.
//
// Every add is recorded as ok (acknowledged), failed (an error; nothing or
// part of it may have been written: Dynamo has no rollback) or
// indeterminate (the client's deadline passed). At the end the checker
// restarts every node, replays hints until none is held, repairs by reading
// until the home replicas of every cart hold the same versions, reads each
// cart at R=3 from every node and reports lost (acknowledged but absent),
// unexpected (present but never sent in a write) and recovered (failed or
// indeterminate but present) items, availability per fault kind, and the
// rounds and time the replicas took to converge.
//
// Faults (see Kind) are process kills, power losses (only synced data
// survives), partitions (halves, an isolated node, a bridge, one-way cuts)
// and message drops and delays. The schedule is a pure function of the seed:
// the same seed injects the same faults on the same nodes in the same order,
// though goroutine timing makes the operations' interleaving differ.
//
// The operations, their outcomes, the judgement and the availability are
// internal/history's, shared with the process-level checker
// (internal/jepsen).
//
// Concurrency: the caller makes the cluster (clustertest.New, which
// belongs to a test) and passes it to Run. Run drives the faults from the
// calling goroutine (the test's, as clustertest requires) and owns the
// client, hint-handoff and anti-entropy goroutines it starts; all of them
// have ended when it returns. It reports what went wrong as errors and
// in the Result, never through the test.
package chaos
