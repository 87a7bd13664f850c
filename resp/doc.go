// Package resp is dynkv's client front end: it speaks the Redis protocol
// (RESP2) so that redis-cli, redis-benchmark and ordinary Redis client
// libraries can talk to a dynkv node.
//
// A Server accepts connections, decodes commands with
// github.com/tidwall/redcon's reader, looks each one up in a single command
// table (commands.go), validates its arity and arguments with Redis 7's own
// error wording, and runs it against a Backend (the coordinator). It knows
// nothing of quorums, rings or replicas: the coordinator does. It only
// reports the membership view an Admin gives it (INFO cluster, RING).
//
// # Commands
//
// Connection and server: PING, ECHO, QUIT, SELECT (0 only), AUTH, HELLO,
// CLIENT (SETNAME, GETNAME, ID, SETINFO, LIST, INFO, HELP), COMMAND (COUNT,
// DOCS, INFO, LIST, HELP), INFO, CONFIG (GET, SET, RESETSTAT, HELP), DBSIZE,
// TIME. Strings and keys: GET, SET, SETNX, SETEX, PSETEX, GETSET, MGET,
// MSET, STRLEN, APPEND, DEL, UNLINK, EXISTS. Cluster: RING (MEMBERS, KEY,
// PLAN, LEAVE, JOIN, HELP).
//
// Plain commands behave as in Redis for one writer. When a key has siblings
// (concurrent versions), plain reads return the deterministic
// last-writer-wins pick of version.Siblings.Value and plain writes supersede
// every version the coordinator holds. The Dynamo commands expose the
// siblings:
//
//	DGET key [R n]               → [context, [value ...]]
//	DPUT key context value [W n] → OK
//	DDEL key context [W n]       → OK
//
// The context is opaque and signed (Config.ContextKey, version.ContextKey:
// a context altered, forged or sent with another key is "ERR invalid
// context", one of another cluster secret "ERR stale context ...") and
// covers tombstones too;
// the empty string means "no prior read". Writes are sent as data
// (coordinator.Write's Op, Data, Cond and MaxSize): the coordinator applies a
// read-modify-write (SET NX/XX/GET, SETNX, GETSET, APPEND, DEL) under the
// key's lock on the coordinating node, so it is atomic on that node, and a
// node outside the key's home nodes can forward it to one. Only SET NX GET
// uses a Write.Value function (it must report the value that stopped it),
// which the coordinator never forwards. Commands over several keys (MGET,
// MSET, DEL, EXISTS) run key by key and are not atomic across keys.
//
// # Cluster visibility and membership changes
//
// The membership view, membership changes and anti-entropy's counters
// come from an Admin (node.Node implements it), given with Server.SetAdmin
// before Serve: resp imports the coordinator and leaf packages only. RING (or RING MEMBERS, an admin command)
// replies with one entry per member of the active or target ring, sorted
// by ID:
//
//	[id, "alive" | "down", client address, peer address, partitions owned, self (1 or 0),
//	 partitions owned after the transfer, "member" | "joining" | "leaving", ready (1 or 0)]
//
// Fields are only ever appended. INFO's cluster section (between
// replication and keyspace, as in Redis, and in the default set) reports
// cluster_enabled (always 0), dynkv_cluster (1 with an Admin), node_id,
// ring_version (the ring state's highest stamp), ring_transfer_pending,
// partitions (Q), members, members_alive, members_joining,
// members_leaving, partitions_owned (this node's), replicas and n, r, w
// (the coordinator's), hints_held (the local store's), and the
// coordinator's counters hints_written, hints_handed_off, read_repairs and
// writes_forwarded, which CONFIG RESETSTAT resets. A server without an
// Admin (one node over coordinator.New) reports dynkv_cluster:0 and
// itself as the only member, "local", owning the one partition of that
// deployment's ring.
//
// RING PLAN LEAVE node, RING PLAN JOIN node [weight], RING LEAVE node and
// RING JOIN seed... change membership through the Admin and
// reply with the plan, [nodes, moves] (see writePlan and docs/ring.md). A
// refused change is an ERR reply with the Admin's reason, and changes
// nothing; a server without an Admin refuses them all.
//
// # Where dynkv differs from Redis
//
//   - Only RESP2: "HELLO 3" answers "NOPROTO sorry, this protocol version is
//     not supported", on which clients such as go-redis v9 fall back.
//   - Expiry (expire.go) is part of a version: EXPIRE, PEXPIRE, EXPIREAT,
//     PEXPIREAT, PERSIST and GETEX with an option write a new version of
//     the value plain reads see, superseding what the coordinator read; a
//     SET (or DPUT) concurrent with them stays a sibling (DGET shows both).
//     TTL and friends report the expiry of the version plain reads see.
//     Keys expire by the clock of the node coordinating the read: skewed
//     clocks move the moment a key stops reading (docs/design.md, Expiry).
//     INFO keyspace reports expires=0 and avg_ttl=0.
//   - SET key v NX PX ms is a lock on one side of a partition only: during
//     a partition it can succeed on both sides (README).
//   - One database: SELECT accepts 0 only.
//   - DEL counts a key if plain reads saw a value; it also clears live
//     siblings hidden behind a tombstone winner (without counting them).
//   - DBSIZE and INFO's keyspace count this node's replica, not the cluster.
//   - A dynkv cluster is not a Redis Cluster: there is no CLUSTER command
//     and no MOVED or ASK redirection, as any node serves any key. INFO
//     therefore always says cluster_enabled:0 (tools switch to Redis
//     Cluster mode on 1) and reports dynkv's own cluster as dynkv_cluster.
//   - CONFIG SET changes maxclients only; other known parameters are
//     immutable, and parameters naming files (dir, dbfilename, logfile, ...)
//     are refused with Redis's protected/immutable wording. CONFIG GET
//     requirepass returns the password, as Redis does, to clients that have
//     authenticated with it.
//   - Framing: a multibulk count of zero or less ("*0"), which Redis
//     skips, and a bulk payload not followed by "\r\n", which Redis does not
//     check, are protocol errors.
//
// # Invariants
//
//   - Every error reply is produced by Server.replyError (errors.go); an
//     error it does not know becomes "ERR internal error" and is logged.
//   - A command writes exactly one complete reply: when it fails, its
//     partial reply is discarded and replaced by one error reply. A panicking
//     command is recovered the same way and its stack logged.
//   - Untrusted framing never allocates: a guard (guard.go) checks the RESP
//     framing of every byte read from a client before redcon's reader sees
//     it. An oversized bulk string (Config.MaxValueSize) or request
//     (Config.MaxRequestSize), an inline line over 64 KiB, more than 2^20
//     arguments or malformed framing is refused from the header alone: the
//     commands before it are answered, then "ERR Protocol error: ...", then
//     the connection closes. Before a client authenticates (when
//     Config.RequirePass is set) Redis 7's tighter limits apply: 10 arguments,
//     16 KiB per argument.
//   - Beyond Config.MaxClients a new connection gets "ERR max number of
//     clients reached" and is closed.
//   - Values and passwords are never logged.
//
// # Concurrency
//
// A Server is safe for concurrent use. Each connection is served by one
// goroutine owned by the Server: it reads every command the client has
// pipelined, runs them, and sends all their replies with one write (or
// several, past 64 KiB of replies), always in request order, so a pipeline
// costs one syscall each way. By default (Config.PipelineWindow 1) the
// commands run one after another. With a larger window, plain data commands
// naming one key (GET, SET, SETNX, GETSET, STRLEN, APPEND, EXISTS, DEL and
// UNLINK with one key, DGET, DPUT, DDEL) run on the connection's workers, up
// to the window at once, so that their waits (for fsync, for peers) overlap;
// a command starts only after every earlier command of the connection on
// the same key has finished. Every other command is a barrier: it runs once
// everything before it has finished, and nothing after it starts until it
// has. A pipeline therefore behaves exactly as if its commands ran one after
// another. The connection waits for every command it started before it
// reads again or ends, and its workers end with it (or after 5 s idle).
// Each connection has a context, derived from the Server's lifetime, that
// is passed to the Backend and cancelled when the connection ends or when
// Close stops waiting. Close stops accepting, lets the commands in flight
// finish and their replies go out, then closes every connection.
//
// Lock order: Server.mu before session.mu (no code holds both today).
package resp
