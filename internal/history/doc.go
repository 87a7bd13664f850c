// Package history is the shared vocabulary of dynkv's two checkers of the
// promise "no acknowledged write is lost": the in-process one
// (internal/chaos, over clustertest) and the process-level one
// (internal/jepsen, over real dynkv processes). Both record what their
// clients did as a History of Ops, and judge it the same way:
//
//   - Outcome: an operation is OK (acknowledged: it must never be lost),
//     Failed (an error: a Dynamo write that missed its quorum may still
//     have reached some replicas) or Indeterminate (no answer in time).
//   - Judge compares the history with the final reads of every key: Lost
//     (acknowledged, absent from a read), Recovered (not acknowledged, sent,
//     present in every read) and Unexpected (read where no operation sent
//     it).
//   - Tally measures availability: the operations in flight while a fault
//     was active, per kind of fault, on the majority side of it (sent to a
//     node outside its minority), and while no fault was active.
//
// The cart workloads store a set of items as one value; ParseItems and
// FormatItems are its stored form.
//
// Invariants: an Op's Item is unique in a run (the checkers name items by
// client and sequence number), so an item read tells which operation sent
// it. Judge and Tally are pure functions of their arguments.
//
// Concurrency: a History is safe for concurrent use; everything else is a
// value or a pure function.
package history
