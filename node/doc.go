// Package node assembles one dynkv node from a conf.Config: the local store
// (replica), membership (ring), the peer transport with its Mux (peer), the
// coordinator, anti-entropy, hinted handoff, the admission controller they
// share (the coordinator feeds it, the background work takes its pace from
// it) and the RESP server. It is the one place a node is wired; `dynkv
// serve` and `dynkv dev` run it, and the test harnesses
// (internal/clustertest, resp/resptest) build their nodes with it too, so
// that tests run the production wiring.
//
// New is the production constructor: it validates the configuration and
// makes every part from it. Build is the same assembly with Deps: the
// parts a caller gives instead (a store, a membership view, a transport
// with the way its handler is registered, a clock) and the parts it leaves
// out (the cluster, for a standalone node; the RESP server; the background
// loops). What a caller gives stays the caller's to close.
//
// Lifecycle: New opens the store, binds the client and peer ports and joins
// the cluster; Start serves clients; Close(ctx) shuts down in the order
// that keeps every acknowledged write: the RESP server first (in-flight
// commands get until ctx is done), then hinted handoff and anti-entropy,
// gossip (the others route around the node at once), the transport, the
// coordinator (it waits for its background work) and last the store.
//
// Concurrency: New, Start and Close are called by one goroutine; Close is
// idempotent (later calls return ErrClosed). Every goroutine the node
// starts is waited for by Close.
package node
