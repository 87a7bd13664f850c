// Package resp is dynkv's client front end: it speaks the Redis protocol
// (RESP2) so that redis-cli, redis-benchmark and ordinary Redis client
// libraries can talk to a dynkv node.
//
// A Server accepts connections, decodes commands with
// github.com/tidwall/redcon's reader, looks each one up in a single command
// table (table.go), validates its arity and arguments with Redis's own error
// wording, and runs it against a Backend (the coordinator). It knows nothing
// of quorums, rings or replicas: the coordinator does.
//
// # Commands
//
// Plain Redis commands (GET, SET, DEL, MGET, MSET, EXISTS, APPEND, ...)
// behave as in Redis for one writer. When a key has siblings (concurrent
// versions), plain reads return the deterministic last-writer-wins pick of
// replica.Siblings.Value and plain writes supersede every version the
// coordinator holds. The Dynamo commands expose the siblings:
//
//	DGET key [R n]               → [context, [value ...]]
//	DPUT key context value [W n] → OK
//	DDEL key context [W n]       → OK
//
// The context is opaque (replica.EncodeContext); the empty string means "no
// prior read". A read-modify-write (SET NX/XX/GET, SETNX, GETSET, APPEND,
// DEL) decides inside the coordinator's Write.Value function, under the key's
// lock on the coordinating node, so it is atomic on that node. Commands over
// several keys (MGET, MSET, DEL k1 k2, EXISTS k1 k2) run key by key and are
// not atomic across keys.
//
// # Invariants
//
//   - Every error reply is produced by Server.replyError (errors.go); an
//     error it does not know becomes "ERR internal error" and is logged.
//   - A command either writes exactly one complete reply or, when it fails,
//     the partial reply is discarded and replaced by one error reply. A
//     panicking command is recovered the same way and its stack logged.
//   - Untrusted framing never allocates: a guard (guard.go) scans the RESP
//     framing of every byte read from a client before redcon sees it, and
//     rejects an oversized bulk string or request, an over-long inline line
//     or malformed framing from the length header alone, replies
//     "ERR Protocol error: ..." and closes the connection. Before a client
//     authenticates, the tighter limits of Redis 7 apply (10 arguments,
//     16 KiB per argument).
//   - Values and passwords are never logged.
//
// # Concurrency
//
// A Server is safe for concurrent use. Each connection is served by one
// goroutine owned by the Server: it reads every command the client has
// pipelined, runs them in order, and sends all their replies with one write,
// so replies are in request order and a pipeline costs one syscall each way.
// Each connection has a context, derived from the Server's lifetime, that is
// passed to the Backend and cancelled when the connection ends or when Close
// gives up waiting. Close stops accepting, lets the commands in flight finish
// and their replies go out, then closes every connection.
//
// Lock order: Server.mu before session.mu.
package resp
