// Command dynkv runs a dynkv node: a Dynamo-style key-value store that
// speaks the Redis protocol.
//
//	dynkv serve [--config FILE] [--listen HOST:PORT] [--data.dir DIR] [--seeds ADDRS] ...
//	dynkv dev [--nodes 3] [--port 6379] [--dir DIR]
//	dynkv ring [--addr HOST:PORT]
//	dynkv leave NODE [--addr HOST:PORT] [--dry-run] [--verbose]
//	dynkv join SEED... [--addr HOST:PORT] [--verbose]
//	dynkv bench [--quick] [--count N] [--target NAME=HOST:PORT] [--scenario NAME] ...
//	dynkv version
//
// dev runs a local cluster of several nodes in one process (client ports
// 6379, 6380, ...), for trying dynkv out. ring prints a node's view of the
// ring: members, liveness, addresses, partitions claimed and the transfer
// under way. leave removes a node from the ring, and join makes a node
// alone in its ring join a cluster; both print the plan of the change
// (which partitions move where). bench starts a node, a cluster (of its
// own executable) and a redis-server, measures them side by side with
// package bench and prints the ratios (docs/bench.md). The hidden
// bench-redcon serves the minimal redcon server that bench starts as its
// redcon target.
//
// serve takes every configuration key of package conf as a flag, from
// DYNKV_* environment variables and from an optional YAML or TOML file
// (--config, or DYNKV_CONFIG); dynkv serve --help lists them. It logs with
// log/slog to standard error and shuts down gracefully on SIGINT or
// SIGTERM: it stops accepting connections, lets in-flight requests finish
// (for at most shutdown-timeout), closes the store and exits 0. A second
// signal kills it at once.
//
// Exit codes: 0 after a clean shutdown, 1 when the node fails, 2 for an
// invalid command line or configuration (the message names the key).
//
// main is thin: runNode runs the node package's assembly of a node from a
// conf.Config (node.New: store, membership, peer transport, coordinator,
// anti-entropy, RESP server) until its context ends, and is what the tests
// call in-process; the integration tests in internal/itest run the built
// binary.
package main
