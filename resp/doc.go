// Package resp is dynkv's client front end: it speaks the Redis protocol
// (RESP2, and RESP3 after HELLO 3: writer.go) so that redis-cli, redis-benchmark and ordinary Redis client
// libraries can talk to a dynkv node.
//
// A Server accepts connections, decodes commands with its own reader
// (reader.go; inline commands with github.com/tidwall/redcon's parser),
// looks each one up in a single command
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
// TIME. Strings and keys: GET, SET, SETNX, SETEX, PSETEX, GETSET, GETDEL,
// MGET, MSET, MSETNX, STRLEN, APPEND, GETRANGE, SUBSTR, SETRANGE, LCS, DEL,
// UNLINK, EXISTS. Bitmaps: GETBIT, SETBIT, BITCOUNT, BITPOS, BITOP (bits.go).
// Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH (multi.go: what holds
// across keys and what does not). Pub/Sub: SUBSCRIBE, UNSUBSCRIBE,
// PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE, PUBLISH, SPUBLISH,
// PUBSUB (pubsub.go; other nodes through a Bus). Cluster: RING (MEMBERS, KEY, PLAN, LEAVE,
// JOIN, HELP); CLUSTER (SLOTS,
// SHARDS, NODES, INFO, KEYSLOT, MYID, HELP), READONLY, READWRITE for
// cluster-aware clients (clustercmd.go).
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
// read-modify-write (SET NX/XX/GET, SETNX, GETSET, APPEND, SETRANGE, SETBIT,
// GETDEL, DEL) under the
// key's lock on the coordinating node, so it is atomic on that node, and a
// node outside the key's home nodes can forward it to one. Only SET NX GET
// uses a Write.Value function (it must report the value that stopped it),
// which the coordinator never forwards. Commands over several keys (MGET,
// MSET, MSETNX, DEL, EXISTS, BITOP, LCS) run key by key and are not atomic
// across keys.
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
// cluster_enabled (always 1), dynkv_cluster (1 with an Admin), node_id,
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
//   - DBSIZE counts the keys of the whole cluster with one walk of the key
//     space (exact when no write runs during it); INFO's keyspace section
//     and dynkv_store_keys count this node's replica.
//   - SCAN's cursor is a position in dynkv's key space (hash slot, then key
//     hash), not a Redis dict cursor: any number a client sends is valid,
//     and the order of keys differs. KEYS fails (ERR KEYS reply too large)
//     beyond 64 MiB of keys, where Redis would build the reply anyway.
//   - RENAME, RENAMENX and COPY are not atomic across their two keys (see
//     docs/design.md, Keyspace). FLUSHALL and FLUSHDB delete the cluster's
//     keys with one walk: not atomic either; ASYNC runs it in the
//     background.
//   - TOUCH counts existing keys, as EXISTS; dynkv keeps no access times.
//   - A dynkv cluster is not a Redis Cluster: CLUSTER answers the topology
//     cluster-aware clients route by (SLOTS, SHARDS, NODES, INFO, KEYSLOT,
//     MYID) but manages nothing, and there is no MOVED or ASK redirection,
//     as any node serves any key. INFO says cluster_enabled:1 (redis-py's
//     RedisCluster requires it; plain clients ignore it) and reports
//     dynkv's own cluster as dynkv_cluster.
//   - CONFIG SET changes maxclients, timeout, protected-mode,
//     client-output-buffer-limit and maxmemory-clients only (the last two in
//     bytes: dynkv has no maxmemory for a percentage, and only normal
//     clients); other known parameters are immutable, and parameters naming
//     files (dir, dbfilename, logfile, ...)
//     are refused with Redis's protected/immutable wording. CONFIG GET
//     requirepass returns the password, as Redis does, to clients that have
//     authenticated with it.
//   - Framing: a multibulk count of zero or less ("*0"), which Redis
//     skips, and a bulk payload not followed by "\r\n", which Redis does not
//     check, are protocol errors.
//   - Connections: Config.AuthGrace (Redis has none) closes clients that do
//     not authenticate, and failed AUTH is throttled (Redis answers at
//     once); CONFIG GET timeout reports Config.IdleTimeout in whole seconds,
//     rounded up.
//
// # Connections
//
// Redis's protections, with Redis's names where Redis has them:
//
//   - Protected mode (protected.go): with Config.NoProtectedMode false (the
//     default, CONFIG SET protected-mode) and no RequirePass, a client from a
//     non-loopback address gets Redis 7's DENIED error and is closed.
//   - The idle timeout (Config.IdleTimeout, Redis's timeout) and the auth
//     grace (Config.AuthGrace) are enforced by a sweeper (sweep.go) on the
//     server's clock: a client idle past the timeout is closed once its
//     commands have replied (one whose command runs is not idle; bytes that
//     arrive count); one that has not authenticated within the grace is
//     closed at once.
//   - Failed AUTH and HELLO AUTH are throttled per connection and per source
//     address (throttle.go): the next attempt waits before its password is
//     checked, and still gets OK or WRONGPASS.
//   - Lines a stranger can cause (failed AUTH, refused connections, protocol
//     errors, failed TLS handshakes, closed clients) are logged at most
//     10 per message per second; the dropped ones are counted and reported
//     (ratelog.go).
//   - TLS (tls.go): ServeTLS serves the same commands on the port of
//     Config.TLS (Redis's tls-port, tls-cert-file, tls-key-file,
//     tls-ca-cert-file, tls-auth-clients), TLS 1.2 at least, client
//     certificates required by default as in Redis.
//
// # Invariants
//
//   - Every error reply is produced by Server.replyError (errors.go); an
//     error it does not know becomes "ERR internal error" and is logged.
//   - A command writes exactly one complete reply: when it fails, its
//     partial reply is discarded and replaced by one error reply. A panicking
//     command is recovered the same way and its stack logged. The exception
//     is a streamed reply (MGET) that has begun to leave: a key that fails
//     then gets an error reply as its element, and a panic closes the
//     connection.
//   - Untrusted framing never allocates: a guard (guard.go) checks the RESP
//     framing of every byte read from a client before the reader sees it,
//     and the reader allocates an argument at its exact length once the
//     guard has let its length line through. An oversized bulk string (Config.MaxValueSize) or request
//     (Config.MaxRequestSize), an inline line over 64 KiB, more than 2^20
//     arguments or malformed framing is refused from the header alone: the
//     commands before it are answered, then "ERR Protocol error: ...", then
//     the connection closes. Before a client authenticates (when
//     Config.RequirePass is set) Redis 7's tighter limits apply: 10 arguments,
//     16 KiB per argument.
//   - Client memory is bounded and accounted (memory.go): see below.
//   - Beyond Config.MaxClients a new connection gets "ERR max number of
//     clients reached" and is closed (a TLS one without the reply, as in
//     Redis).
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
// finish and their replies go out, then closes every connection. The
// sweeper is one more goroutine of the Server, started by the first Serve
// and stopped by Close.
//
// # Client memory
//
// Each client's buffers are accounted exactly, in bytes (CLIENT LIST qbuf,
// omem, tot-mem; INFO mem_clients_normal): its query bytes are what its
// reader holds (the unparsed input, the arguments of the command being read
// — a big one counts whole from its length line — and the arguments of the
// commands it is running); its output bytes are its replies the socket has
// not taken (a reply buffer while it is being sent, and the replies of
// pipelined commands that have finished and wait for their turn). Replies
// are sent as they are produced, with backpressure: a send blocks until the
// client's socket takes it, and MGET sends each value (a big one straight
// from the value read, without a copy) before it reads the next key, so a
// client holds at most one value and a buffer of 64 KiB whatever it asks
// for. Over Config.OutputBufferHard, or above Config.OutputBufferSoft for
// Config.OutputBufferSoftTime, a client is closed and logged (Redis's
// client-output-buffer-limit); when all clients together pass
// Config.MaxMemoryClients, the one using the most is closed and logged, and
// the next, until the rest fit (Redis's client eviction). Both are bounded
// by default, unlike Redis's.
//
// Lock order: Server.mu before session.mu (no code holds both today).
package resp
