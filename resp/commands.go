package resp

import "strings"

// commandList returns the command table: every command the server knows,
// with Redis's arity, flags, ACL categories and key positions (what COMMAND
// reports and redis-cli uses), and its handler. It is a flat list on purpose:
// one place to read what dynkv speaks.
func commandList() []*command {
	const (
		connFlags = "noscript loading stale fast no_auth allow_busy"
		subFlags  = "noscript loading stale"
		redis7    = "7.0.0"
		dynkv     = "0.1.0"
	)
	return []*command{
		// Connection.
		{name: "ping", arity: -1, flags: "fast", acl: "@fast @connection", group: "connection", since: "1.0.0",
			doc: "Returns the server's liveliness response.", run: (*Server).cmdPing},
		{name: "echo", arity: 2, flags: "fast loading stale", acl: "@fast @connection", group: "connection", since: "1.0.0",
			doc: "Returns the given string.", run: (*Server).cmdEcho},
		{name: "quit", arity: -1, flags: connFlags, acl: "@fast @connection", group: "connection", since: "1.0.0",
			doc: "Closes the connection.", run: (*Server).cmdQuit},
		{name: "select", arity: 2, flags: "loading stale fast", acl: "@fast @connection", group: "connection", since: "1.0.0",
			doc: "Changes the selected database. dynkv has only database 0.", run: (*Server).cmdSelect},
		{name: "auth", arity: -2, flags: connFlags, acl: "@fast @connection", group: "connection", since: "1.0.0",
			doc: "Authenticates the connection.", run: (*Server).cmdAuth},
		{name: "hello", arity: -1, flags: connFlags, acl: "@fast @connection", group: "connection", since: "6.0.0",
			doc: "Handshakes with the server. Only protocol 2 (RESP2) is supported.", run: (*Server).cmdHello},
		{name: "client", arity: -2, acl: "@slow", group: "connection", since: "2.4.0",
			doc: "A container for client connection commands.", subs: []*command{
				{name: "setname", arity: 3, flags: subFlags, acl: "@slow @connection", group: "connection", since: "2.6.9",
					doc: "Sets the connection name.", run: (*Server).cmdClientSetName},
				{name: "getname", arity: 2, flags: subFlags, acl: "@slow @connection", group: "connection", since: "2.6.9",
					doc: "Returns the name of the connection.", run: (*Server).cmdClientGetName},
				{name: "id", arity: 2, flags: subFlags, acl: "@slow @connection", group: "connection", since: "5.0.0",
					doc: "Returns the unique client ID of the connection.", run: (*Server).cmdClientID},
				{name: "setinfo", arity: 4, flags: subFlags, acl: "@slow @connection", group: "connection", since: "7.2.0",
					doc: "Sets information specific to the client or connection.", run: (*Server).cmdClientSetInfo},
				{name: "list", arity: -2, flags: "admin " + subFlags, acl: "@admin @slow @dangerous @connection", group: "connection", since: "2.4.0",
					doc: "Lists open connections.", run: (*Server).cmdClientList},
				{name: "info", arity: 2, flags: subFlags, acl: "@slow @connection", group: "connection", since: "6.2.0",
					doc: "Returns information about the connection.", run: (*Server).cmdClientInfo},
				{name: "help", arity: 2, flags: "loading stale", acl: "@slow @connection", group: "connection", since: "5.0.0",
					doc: "Returns helpful text about the different subcommands.", run: (*Server).cmdClientHelp},
			}},

		// Server.
		{name: "command", arity: -1, flags: "loading stale", acl: "@slow @connection", group: "server", since: "2.8.13",
			doc: "Returns detailed information about all commands.", run: (*Server).cmdCommand, subs: []*command{
				{name: "count", arity: 2, flags: "loading stale", acl: "@slow @connection", group: "server", since: "2.8.13",
					doc: "Returns a count of commands.", run: (*Server).cmdCommandCount},
				{name: "docs", arity: -2, flags: "loading stale", acl: "@slow @connection", group: "server", since: redis7,
					doc: "Returns documentary information about one, multiple or all commands.", run: (*Server).cmdCommandDocs},
				{name: "info", arity: -2, flags: "loading stale", acl: "@slow @connection", group: "server", since: "2.8.13",
					doc: "Returns information about one, multiple or all commands.", run: (*Server).cmdCommandInfo},
				{name: "list", arity: -2, flags: "loading stale", acl: "@slow @connection", group: "server", since: redis7,
					doc: "Returns a list of command names.", run: (*Server).cmdCommandList},
				{name: "help", arity: 2, flags: "loading stale", acl: "@slow @connection", group: "server", since: "5.0.0",
					doc: "Returns helpful text about the different subcommands.", run: (*Server).cmdCommandHelp},
			}},
		{name: "info", arity: -1, flags: "loading stale", acl: "@slow @dangerous", group: "server", since: "1.0.0",
			doc: "Returns information and statistics about the server.", run: (*Server).cmdInfo},
		{name: "config", arity: -2, acl: "@slow", group: "server", since: "2.0.0",
			doc: "A container for server configuration commands.", subs: []*command{
				{name: "get", arity: -3, flags: "admin noscript loading stale", acl: "@admin @slow @dangerous", group: "server", since: "2.0.0",
					doc: "Returns the effective values of configuration parameters.", run: (*Server).cmdConfigGet},
				{name: "set", arity: -4, flags: "admin noscript loading stale", acl: "@admin @slow @dangerous", group: "server", since: "2.0.0",
					doc: "Sets configuration parameters in-flight.", run: (*Server).cmdConfigSet},
				{name: "resetstat", arity: 2, flags: "admin noscript loading stale", acl: "@admin @slow @dangerous", group: "server", since: "2.0.0",
					doc: "Resets the server's statistics.", run: (*Server).cmdConfigResetStat},
				{name: "help", arity: 2, flags: "loading stale", acl: "@slow", group: "server", since: "5.0.0",
					doc: "Returns helpful text about the different subcommands.", run: (*Server).cmdConfigHelp},
			}},
		{name: "dbsize", arity: 1, flags: "readonly fast", acl: "@keyspace @read @fast", group: "server", since: "1.0.0",
			doc: "Returns the number of keys in the whole cluster (one walk of the key space).", run: (*Server).cmdDBSize},
		{name: "flushall", arity: -1, flags: "write", acl: "@keyspace @write @slow @dangerous", group: "server", since: "1.0.0",
			doc: "Removes all keys from the cluster (every key written before it started, as DEL). FLUSHALL [ASYNC|SYNC]", run: (*Server).cmdFlushAll},
		{name: "flushdb", arity: -1, flags: "write", acl: "@keyspace @write @slow @dangerous", group: "server", since: "1.0.0",
			doc: "Removes all keys from the current database, as FLUSHALL (dynkv has one database).", run: (*Server).cmdFlushAll},
		{name: "ring", arity: -1, flags: "admin noscript loading stale", acl: "@admin @slow @dangerous", group: "cluster", since: dynkv,
			doc: "Returns the ring members as this node sees them, as RING MEMBERS.", run: (*Server).cmdRing, subs: []*command{
				{name: "members", arity: 2, flags: "admin noscript loading stale", acl: "@admin @slow @dangerous", group: "cluster", since: dynkv,
					doc: "Returns every ring member: id, status, client address, peer address, partitions owned, self flag, partitions after the transfer, state, ready flag.", run: (*Server).cmdRing},
				{name: "key", arity: 3, flags: "readonly loading stale", acl: "@keyspace @read @slow", group: "cluster", since: dynkv,
					doc: "Returns a key's slot, partition and preference list (its first N nodes are the key's home replicas).", run: (*Server).cmdRingKey},
				{name: "help", arity: 2, flags: "loading stale", acl: "@slow", group: "cluster", since: dynkv,
					doc: "Returns helpful text about the different subcommands.", run: (*Server).cmdRingHelp},
				{name: "plan", arity: -4, flags: "admin noscript loading stale", acl: "@admin @slow @dangerous", group: "cluster", since: dynkv,
					doc: "Returns what a node's leaving or joining would move, without changing anything. RING PLAN LEAVE node | RING PLAN JOIN node [weight]", run: (*Server).cmdRingPlan},
				{name: "leave", arity: 3, flags: "admin noscript loading stale", acl: "@admin @slow @dangerous", group: "cluster", since: dynkv,
					doc: "Removes a node from the ring and returns the plan of the change.", run: (*Server).cmdRingLeave},
				{name: "forget", arity: 3, flags: "admin noscript loading stale", acl: "@admin @slow @dangerous", group: "cluster", since: dynkv,
					doc: "Declares that a node that left will not come back to hand off its data, so that tombstone collection resumes.", run: (*Server).cmdRingForget},
				{name: "roots", arity: 2, flags: "admin noscript loading stale", acl: "@admin @slow @dangerous", group: "cluster", since: dynkv,
					doc: "Returns the Merkle tree root of every partition this node replicates: [partition, root]. Replicas that agree have equal roots.", run: (*Server).cmdRingRoots},
				{name: "join", arity: -3, flags: "admin noscript loading stale", acl: "@admin @slow @dangerous", group: "cluster", since: dynkv,
					doc: "Makes this node join the cluster at the given gossip addresses and returns the plan. RING JOIN seed [seed ...]", run: (*Server).cmdRingJoin},
			}},
		{name: "cluster", arity: -2, acl: "@slow", group: "cluster", since: "3.0.0",
			doc: "A container for Redis Cluster commands: the topology cluster-aware clients route by.", subs: []*command{
				{name: "slots", arity: 2, flags: "stale", acl: "@slow", group: "cluster", since: "3.0.0",
					doc: "Returns the mapping of cluster slots to home nodes (the first as master).", run: (*Server).cmdClusterSlots},
				{name: "shards", arity: 2, flags: "stale", acl: "@slow", group: "cluster", since: redis7,
					doc: "Returns the mapping of cluster slots to shards (one per list of home nodes).", run: (*Server).cmdClusterShards},
				{name: "nodes", arity: 2, flags: "stale", acl: "@slow", group: "cluster", since: "3.0.0",
					doc: "Returns the cluster configuration for a node.", run: (*Server).cmdClusterNodes},
				{name: "info", arity: 2, flags: "stale", acl: "@slow", group: "cluster", since: "3.0.0",
					doc: "Returns information about the state of a node.", run: (*Server).cmdClusterInfo},
				{name: "keyslot", arity: 3, flags: "stale", acl: "@slow", group: "cluster", since: "3.0.0",
					doc: "Returns the hash slot for a key.", run: (*Server).cmdClusterKeySlot},
				{name: "myid", arity: 2, flags: "stale", acl: "@slow", group: "cluster", since: "3.0.0",
					doc: "Returns the ID of a node.", run: (*Server).cmdClusterMyID},
				{name: "countkeysinslot", arity: 3, flags: "stale", acl: "@slow", group: "cluster", since: "3.0.0",
					doc: "Returns the number of keys in a hash slot (cluster-wide, one walk of the slot).", run: (*Server).cmdClusterCountKeysInSlot},
				{name: "getkeysinslot", arity: 4, flags: "stale", acl: "@slow", group: "cluster", since: "3.0.0",
					doc: "Returns the key names in a hash slot (cluster-wide).", run: (*Server).cmdClusterGetKeysInSlot},
				{name: "help", arity: 2, flags: "loading stale", acl: "@slow", group: "cluster", since: "5.0.0",
					doc: "Returns helpful text about the different subcommands.", run: (*Server).cmdClusterHelp},
			}},
		{name: "readonly", arity: 1, flags: "loading stale fast", acl: "@fast @connection", group: "cluster", since: "3.0.0",
			doc: "Enables read-only queries for a connection to a Redis Cluster replica node (every dynkv node serves every key).", run: (*Server).cmdReadOnly},
		{name: "readwrite", arity: 1, flags: "loading stale fast", acl: "@fast @connection", group: "cluster", since: "3.0.0",
			doc: "Enables read-write queries for a connection to a Redis Cluster replica node.", run: (*Server).cmdReadOnly},
		{name: "multi", arity: 1, flags: "noscript loading stale fast allow_busy", acl: "@fast @transaction", group: "transactions", since: "1.2.0",
			doc: "Starts a transaction.", run: (*Server).cmdMulti},
		{name: "exec", arity: 1, flags: "noscript loading stale skip_slowlog", acl: "@slow @transaction", group: "transactions", since: "1.2.0",
			doc: "Executes all commands in a transaction (in order, each as atomic as alone; see the README).", run: (*Server).cmdExec},
		{name: "discard", arity: 1, flags: "noscript loading stale fast allow_busy", acl: "@fast @transaction", group: "transactions", since: "2.0.0",
			doc: "Discards a transaction.", run: (*Server).cmdDiscard},
		{name: "watch", arity: -2, flags: "noscript loading stale fast allow_busy", acl: "@fast @transaction", keys: allKeys, group: "transactions", since: "2.2.0",
			doc: "Monitors changes to keys to determine the execution of a transaction (optimistic: not a lock).", run: (*Server).cmdWatch},
		{name: "unwatch", arity: 1, flags: "noscript loading stale fast allow_busy", acl: "@fast @transaction", group: "transactions", since: "2.2.0",
			doc: "Forgets about all watched keys of a transaction.", run: (*Server).cmdUnwatch},
		// Pub/Sub (pubsub.go).
		{name: "subscribe", arity: -2, flags: "pubsub noscript loading stale", acl: "@pubsub @slow", group: "pubsub", since: "2.0.0",
			doc: "Listens for messages published to channels (on any node).", run: (*Server).cmdSubscribe},
		{name: "unsubscribe", arity: -1, flags: "pubsub noscript loading stale", acl: "@pubsub @slow", group: "pubsub", since: "2.0.0",
			doc: "Stops listening to messages posted to channels.", run: (*Server).cmdUnsubscribe},
		{name: "psubscribe", arity: -2, flags: "pubsub noscript loading stale", acl: "@pubsub @slow", group: "pubsub", since: "2.0.0",
			doc: "Listens for messages published to channels that match one or more patterns.", run: (*Server).cmdPSubscribe},
		{name: "punsubscribe", arity: -1, flags: "pubsub noscript loading stale", acl: "@pubsub @slow", group: "pubsub", since: "2.0.0",
			doc: "Stops listening to messages published to channels that match one or more patterns.", run: (*Server).cmdPUnsubscribe},
		{name: "ssubscribe", arity: -2, flags: "pubsub noscript loading stale", acl: "@pubsub @slow", keys: allKeys, group: "pubsub", since: redis7,
			doc: "Listens for messages published to shard channels.", run: (*Server).cmdSSubscribe},
		{name: "sunsubscribe", arity: -1, flags: "pubsub noscript loading stale", acl: "@pubsub @slow", keys: allKeys, group: "pubsub", since: redis7,
			doc: "Stops listening to messages posted to shard channels.", run: (*Server).cmdSUnsubscribe},
		{name: "publish", arity: 3, flags: "pubsub loading stale fast", acl: "@pubsub @fast", group: "pubsub", since: "2.0.0",
			doc: "Posts a message to a channel, for its subscribers on every node.", run: (*Server).cmdPublish},
		{name: "spublish", arity: 3, flags: "pubsub loading stale fast", acl: "@pubsub @fast", keys: oneKey, group: "pubsub", since: redis7,
			doc: "Posts a message to a shard channel.", run: (*Server).cmdSPublish},
		{name: "pubsub", arity: -2, acl: "@slow", group: "pubsub", since: "2.8.0",
			doc: "A container for Pub/Sub commands (this node's subscriptions).", subs: []*command{
				{name: "channels", arity: -2, flags: "pubsub loading stale", acl: "@pubsub @slow", group: "pubsub", since: "2.8.0",
					doc: "Returns the active channels.", run: (*Server).cmdPubsubChannels},
				{name: "numsub", arity: -2, flags: "pubsub loading stale", acl: "@pubsub @slow", group: "pubsub", since: "2.8.0",
					doc: "Returns a count of subscribers to channels.", run: (*Server).cmdPubsubNumSub},
				{name: "numpat", arity: 2, flags: "pubsub loading stale", acl: "@pubsub @slow", group: "pubsub", since: "2.8.0",
					doc: "Returns a count of unique pattern subscriptions.", run: (*Server).cmdPubsubNumPat},
				{name: "shardchannels", arity: -2, flags: "pubsub loading stale", acl: "@pubsub @slow", group: "pubsub", since: redis7,
					doc: "Returns the active shard channels.", run: (*Server).cmdPubsubShardChannels},
				{name: "shardnumsub", arity: -2, flags: "pubsub loading stale", acl: "@pubsub @slow", group: "pubsub", since: redis7,
					doc: "Returns the count of subscribers of shard channels.", run: (*Server).cmdPubsubShardNumSub},
				{name: "help", arity: 2, flags: "loading stale", acl: "@slow", group: "pubsub", since: "6.2.0",
					doc: "Returns helpful text about the different subcommands.", run: (*Server).cmdPubsubHelp},
			}},
		{name: "time", arity: 1, flags: "loading stale fast", acl: "@fast", group: "server", since: "2.6.0",
			doc: "Returns the server time.", run: (*Server).cmdTime},

		// Strings and keys.
		{name: "get", arity: 2, concurrent: true, flags: "readonly fast", acl: "@read @string @fast", keys: oneKey, group: "string", since: "1.0.0",
			doc: "Returns the string value of a key (with siblings, the last writer's).", run: (*Server).cmdGet},
		{name: "set", arity: -3, concurrent: true, flags: "write denyoom", acl: "@write @string @slow", keys: oneKey, group: "string", since: "1.0.0",
			doc: "Sets the string value of a key, superseding every version of it.", run: (*Server).cmdSet},
		{name: "setnx", arity: 3, concurrent: true, flags: "write denyoom fast", acl: "@write @string @fast", keys: oneKey, group: "string", since: "1.0.0",
			doc: "Sets the string value of a key only when the key doesn't exist.", run: (*Server).cmdSetNX},
		{name: "setex", arity: 4, concurrent: true, flags: "write denyoom", acl: "@write @string @slow", keys: oneKey, group: "string", since: "2.0.0",
			doc: "Sets the string value and expiration time of a key.", run: (*Server).cmdSetEx},
		{name: "psetex", arity: 4, concurrent: true, flags: "write denyoom", acl: "@write @string @slow", keys: oneKey, group: "string", since: "2.6.0",
			doc: "Sets the string value and expiration time in milliseconds of a key.", run: (*Server).cmdPSetEx},
		{name: "getset", arity: 3, concurrent: true, flags: "write denyoom fast", acl: "@write @string @fast", keys: oneKey, group: "string", since: "1.0.0",
			doc: "Returns the previous string value of a key after setting it to a new value.", run: (*Server).cmdGetSet},
		{name: "mget", arity: -2, flags: "readonly fast", acl: "@read @string @fast", keys: allKeys, group: "string", since: "1.0.0",
			doc: "Returns the string values of one or more keys.", run: (*Server).cmdMGet},
		{name: "mset", arity: -3, flags: "write denyoom", acl: "@write @string @slow", keys: everyPair, group: "string", since: "1.0.1",
			doc: "Sets the string values of one or more keys, key by key (not atomic across keys).", run: (*Server).cmdMSet},
		{name: "strlen", arity: 2, concurrent: true, flags: "readonly fast", acl: "@read @string @fast", keys: oneKey, group: "string", since: "2.2.0",
			doc: "Returns the length of a string value.", run: (*Server).cmdStrlen},
		{name: "append", arity: 3, concurrent: true, flags: "write denyoom fast", acl: "@write @string @fast", keys: oneKey, group: "string", since: "2.0.0",
			doc: "Appends a string to the value of a key. Creates the key if it doesn't exist.", run: (*Server).cmdAppend},
		{name: "getdel", arity: 2, concurrent: true, flags: "write fast", acl: "@write @string @fast", keys: oneKey, group: "string", since: "6.2.0",
			doc: "Returns the string value of a key after deleting the key.", run: (*Server).cmdGetDel},
		{name: "getrange", arity: 4, concurrent: true, flags: "readonly", acl: "@read @string @slow", keys: oneKey, group: "string", since: "2.4.0",
			doc: "Returns a substring of the string stored at a key.", run: (*Server).cmdGetRange},
		{name: "substr", arity: 4, concurrent: true, flags: "readonly", acl: "@read @string @slow", keys: oneKey, group: "string", since: "1.0.0",
			doc: "Returns a substring from a string value.", run: (*Server).cmdGetRange},
		{name: "setrange", arity: 4, concurrent: true, flags: "write denyoom", acl: "@write @string @slow", keys: oneKey, group: "string", since: "2.2.0",
			doc: "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", run: (*Server).cmdSetRange},
		{name: "msetnx", arity: -3, flags: "write denyoom", acl: "@write @string @slow", keys: everyPair, group: "string", since: "1.0.1",
			doc: "Sets the string values of one or more keys only when all keys don't exist (not atomic across keys).", run: (*Server).cmdMSetNX},
		{name: "lcs", arity: -3, flags: "readonly", acl: "@read @string @slow", keys: keySpec{1, 2, 1}, group: "string", since: redis7,
			doc: "Finds the longest common substring.", run: (*Server).cmdLCS},
		{name: "getbit", arity: 3, concurrent: true, flags: "readonly fast", acl: "@read @bitmap @fast", keys: oneKey, group: "bitmap", since: "2.2.0",
			doc: "Returns a bit value by offset.", run: (*Server).cmdGetBit},
		{name: "setbit", arity: 4, concurrent: true, flags: "write denyoom", acl: "@write @bitmap @slow", keys: oneKey, group: "bitmap", since: "2.2.0",
			doc: "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.", run: (*Server).cmdSetBit},
		{name: "bitcount", arity: -2, concurrent: true, flags: "readonly", acl: "@read @bitmap @slow", keys: oneKey, group: "bitmap", since: "2.6.0",
			doc: "Counts the number of set bits (population counting) in a string.", run: (*Server).cmdBitCount},
		{name: "bitpos", arity: -3, concurrent: true, flags: "readonly", acl: "@read @bitmap @slow", keys: oneKey, group: "bitmap", since: "2.8.7",
			doc: "Finds the first set (1) or clear (0) bit in a string.", run: (*Server).cmdBitPos},
		{name: "bitop", arity: -4, flags: "write denyoom", acl: "@write @bitmap @slow", keys: keySpec{2, -1, 1}, group: "bitmap", since: "2.6.0",
			doc: "Performs bitwise operations on multiple strings, and stores the result (not atomic across keys).", run: (*Server).cmdBitOp},
		{name: "del", arity: -2, concurrent: true, flags: "write", acl: "@keyspace @write @slow", keys: allKeys, group: "generic", since: "1.0.0",
			doc: "Deletes one or more keys (every version of each).", run: (*Server).cmdDel},
		{name: "unlink", arity: -2, concurrent: true, flags: "write fast", acl: "@keyspace @write @fast", keys: allKeys, group: "generic", since: "4.0.0",
			doc: "Deletes one or more keys, as DEL.", run: (*Server).cmdDel},
		{name: "type", arity: 2, concurrent: true, flags: "readonly fast", acl: "@keyspace @read @fast", keys: oneKey, group: "generic", since: "1.0.0",
			doc: "Determines the type of value stored at a key.", run: (*Server).cmdType},
		{name: "touch", arity: -2, flags: "readonly fast", acl: "@keyspace @read @fast", keys: allKeys, group: "generic", since: "3.2.1",
			doc: "Returns the number of existing keys out of those specified (dynkv keeps no access times).", run: (*Server).cmdTouch},
		{name: "scan", arity: -2, flags: "readonly", acl: "@keyspace @read @slow", group: "generic", since: "2.8.0",
			doc: "Iterates over the key names of the whole cluster. The cursor is a position in the key space (hash slot and key hash).", run: (*Server).cmdScan},
		{name: "keys", arity: 2, flags: "readonly", acl: "@keyspace @read @slow @dangerous", group: "generic", since: "1.0.0",
			doc: "Returns all key names of the cluster that match a pattern (at most 64 MiB of them; use SCAN beyond).", run: (*Server).cmdKeys},
		{name: "randomkey", arity: 1, flags: "readonly", acl: "@keyspace @read @slow", group: "generic", since: "1.0.0",
			doc: "Returns a random key name from the cluster.", run: (*Server).cmdRandomKey},
		{name: "rename", arity: 3, flags: "write", acl: "@keyspace @write @slow", keys: keySpec{1, 2, 1}, group: "generic", since: "1.0.0",
			doc: "Renames a key and overwrites the destination (not atomic across the two keys; the source is deleted only after the destination is written).", run: (*Server).cmdRename},
		{name: "renamenx", arity: 3, flags: "write fast", acl: "@keyspace @write @fast", keys: keySpec{1, 2, 1}, group: "generic", since: "1.0.0",
			doc: "Renames a key only when the target key name doesn't exist (not atomic across the two keys).", run: (*Server).cmdRename},
		{name: "copy", arity: -3, flags: "write denyoom", acl: "@keyspace @write @slow", keys: keySpec{1, 2, 1}, group: "generic", since: "6.2.0",
			doc: "Copies the value of a key to a new key.", run: (*Server).cmdCopy},
		{name: "exists", arity: -2, concurrent: true, flags: "readonly fast", acl: "@keyspace @read @fast", keys: allKeys, group: "generic", since: "1.0.0",
			doc: "Determines whether one or more keys exist.", run: (*Server).cmdExists},

		// Expiry (expire.go).
		{name: "getex", arity: -2, concurrent: true, flags: "write fast", acl: "@write @string @fast", keys: oneKey, group: "string", since: "6.2.0",
			doc: "Returns the string value of a key after setting its expiration time.", run: (*Server).cmdGetEx},
		{name: "expire", arity: -3, concurrent: true, flags: "write fast", acl: "@keyspace @write @fast", keys: oneKey, group: "generic", since: "1.0.0",
			doc: "Sets the expiration time of a key in seconds (a new version of its value).", run: (*Server).cmdExpire},
		{name: "pexpire", arity: -3, concurrent: true, flags: "write fast", acl: "@keyspace @write @fast", keys: oneKey, group: "generic", since: "2.6.0",
			doc: "Sets the expiration time of a key in milliseconds.", run: (*Server).cmdPExpire},
		{name: "expireat", arity: -3, concurrent: true, flags: "write fast", acl: "@keyspace @write @fast", keys: oneKey, group: "generic", since: "1.2.0",
			doc: "Sets the expiration time of a key to a Unix timestamp.", run: (*Server).cmdExpireAt},
		{name: "pexpireat", arity: -3, concurrent: true, flags: "write fast", acl: "@keyspace @write @fast", keys: oneKey, group: "generic", since: "2.6.0",
			doc: "Sets the expiration time of a key to a Unix milliseconds timestamp.", run: (*Server).cmdPExpireAt},
		{name: "persist", arity: 2, concurrent: true, flags: "write fast", acl: "@keyspace @write @fast", keys: oneKey, group: "generic", since: "2.2.0",
			doc: "Removes the expiration time of a key.", run: (*Server).cmdPersist},
		{name: "ttl", arity: 2, concurrent: true, flags: "readonly fast", acl: "@keyspace @read @fast", keys: oneKey, group: "generic", since: "1.0.0",
			doc: "Returns the expiration time in seconds of a key.", run: (*Server).cmdTTL},
		{name: "pttl", arity: 2, concurrent: true, flags: "readonly fast", acl: "@keyspace @read @fast", keys: oneKey, group: "generic", since: "2.6.0",
			doc: "Returns the expiration time in milliseconds of a key.", run: (*Server).cmdPTTL},
		{name: "expiretime", arity: 2, concurrent: true, flags: "readonly fast", acl: "@keyspace @read @fast", keys: oneKey, group: "generic", since: redis7,
			doc: "Returns the expiration time of a key as a Unix timestamp.", run: (*Server).cmdExpireTime},
		{name: "pexpiretime", arity: 2, concurrent: true, flags: "readonly fast", acl: "@keyspace @read @fast", keys: oneKey, group: "generic", since: redis7,
			doc: "Returns the expiration time of a key as a Unix milliseconds timestamp.", run: (*Server).cmdPExpireTime},

		// Dynamo.
		{name: "dget", arity: -2, concurrent: true, flags: "readonly", acl: "@read @string @slow", keys: oneKey, group: "generic", since: dynkv,
			doc: "Returns every concurrent value (sibling) of a key and the context that covers them. DGET key [R n]", run: (*Server).cmdDGet},
		{name: "dput", arity: -4, concurrent: true, flags: "write denyoom", acl: "@write @string @slow", keys: oneKey, group: "generic", since: dynkv,
			doc: "Stores a value as the successor of the versions in context; others stay siblings. DPUT key context value [W n] [DW n]", run: (*Server).cmdDPut},
		{name: "ddel", arity: -3, concurrent: true, flags: "write", acl: "@keyspace @write @slow", keys: oneKey, group: "generic", since: dynkv,
			doc: "Deletes the versions in context with a tombstone; others stay siblings. DDEL key context [W n] [DW n]", run: (*Server).cmdDDel},
	}
}

// COMMAND and its subcommands describe the command table in Redis 7's
// formats, enough for redis-cli's interactive mode (hints come from COMMAND
// DOCS) and for client libraries that read key positions from COMMAND INFO.

// cmdCommand replies with every command's entry.
func (s *Server) cmdCommand(c *session, _ [][]byte) error {
	c.w.array(len(s.table.sorted))
	for _, cmd := range s.table.sorted {
		writeCommandInfo(c.w, cmd)
	}
	return nil
}

func (s *Server) cmdCommandCount(c *session, _ [][]byte) error {
	c.w.integer(int64(len(s.table.sorted)))
	return nil
}

// cmdCommandInfo replies with the entries of the named commands (a null for
// an unknown one), or of every command when none is named.
func (s *Server) cmdCommandInfo(c *session, args [][]byte) error {
	if len(args) == 2 {
		return s.cmdCommand(c, args)
	}
	c.w.array(len(args) - 2)
	for _, name := range args[2:] {
		if cmd := s.table.find(name); cmd != nil {
			writeCommandInfo(c.w, cmd)
		} else {
			c.w.null()
		}
	}
	return nil
}

// cmdCommandDocs replies with a map (flattened, as RESP2 does) from command
// name to its documentation, for the named commands (unknown ones are left
// out) or for every command.
func (s *Server) cmdCommandDocs(c *session, args [][]byte) error {
	cmds := s.table.sorted
	if len(args) > 2 {
		cmds = nil
		for _, name := range args[2:] {
			if cmd := s.table.find(name); cmd != nil {
				cmds = append(cmds, cmd)
			}
		}
	}
	c.w.mapLen(len(cmds))
	for _, cmd := range cmds {
		c.w.bulkString(cmd.name)
		writeCommandDocs(c.w, cmd)
	}
	return nil
}

// cmdCommandList replies with every command name, subcommands included
// ("client|list"). FILTERBY is not supported.
func (s *Server) cmdCommandList(c *session, args [][]byte) error {
	if len(args) > 2 {
		return errSyntax
	}
	var names []string
	for _, cmd := range s.table.sorted {
		names = append(names, cmd.name)
		for _, sc := range cmd.subs {
			names = append(names, sc.name)
		}
	}
	c.w.array(len(names))
	for _, n := range names {
		c.w.bulkString(n)
	}
	return nil
}

func (s *Server) cmdCommandHelp(c *session, _ [][]byte) error {
	writeHelp(c.w, "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"(no subcommand)", "    Return details about all commands.",
		"COUNT", "    Return the total number of commands in this server.",
		"LIST", "    Return a list of all commands in this server.",
		"INFO [<command-name> ...]", "    Return details about multiple commands.",
		"    If no command names are given, documentation details for all", "    commands are returned.",
		"DOCS [<command-name> ...]", "    Return documentation details about multiple commands.",
		"    If no command names are given, documentation details for all", "    commands are returned.",
		"HELP", "    Print this help.")
	return nil
}

// find looks a command or subcommand up by its full name ("get",
// "client|list"), ignoring case.
func (t *table) find(name []byte) *command {
	if cmd := t.lookup(name); cmd != nil {
		return cmd
	}
	return t.subs[strings.ToLower(string(name))]
}

// writeCommandInfo writes a command's entry in Redis 7's format: name,
// arity, flags, first key, last key, step, ACL categories, tips, key
// specifications, subcommands.
func writeCommandInfo(w *writer, c *command) {
	w.array(10)
	w.bulkString(c.name)
	w.integer(int64(c.arity))
	writeStatuses(w, c.flags)
	w.integer(int64(c.keys.first))
	w.integer(int64(c.keys.last))
	w.integer(int64(c.keys.step))
	writeStatuses(w, c.acl)
	w.array(0) // tips
	writeKeySpecs(w, c)
	w.array(len(c.subs))
	for _, sc := range c.subs {
		writeCommandInfo(w, sc)
	}
}

func writeStatuses(w *writer, list string) {
	words := strings.Fields(list)
	w.setLen(len(words))
	for _, f := range words {
		w.status(f)
	}
}

// writeKeySpecs writes the Redis 7 key specification equivalent to the
// command's (first, last, step), or none for a command without keys.
func writeKeySpecs(w *writer, c *command) {
	if c.keys.first == 0 {
		w.array(0)
		return
	}
	flags := "RW update"
	switch {
	case hasWord(c.flags, "readonly"):
		flags = "RO access"
	case strings.Contains(c.acl, "@keyspace"):
		flags = "RM delete"
	}
	last := c.keys.last
	if last > 0 {
		last -= c.keys.first
	}
	w.array(1)
	w.mapLen(3)
	w.bulkString("flags")
	writeStatuses(w, flags)
	w.bulkString("begin_search")
	w.mapLen(2)
	w.bulkString("type")
	w.bulkString("index")
	w.bulkString("spec")
	w.mapLen(1)
	w.bulkString("index")
	w.integer(int64(c.keys.first))
	w.bulkString("find_keys")
	w.mapLen(2)
	w.bulkString("type")
	w.bulkString("range")
	w.bulkString("spec")
	w.mapLen(3)
	w.bulkString("lastkey")
	w.integer(int64(last))
	w.bulkString("keystep")
	w.integer(int64(c.keys.step))
	w.bulkString("limit")
	w.integer(0)
}

// writeCommandDocs writes a command's documentation map (flattened).
func writeCommandDocs(w *writer, c *command) {
	n := 3
	if len(c.subs) > 0 {
		n++
	}
	w.mapLen(n)
	w.bulkString("summary")
	w.bulkString(c.doc)
	w.bulkString("since")
	w.bulkString(c.since)
	w.bulkString("group")
	w.bulkString(c.group)
	if len(c.subs) > 0 {
		w.bulkString("subcommands")
		w.mapLen(len(c.subs))
		for _, sc := range c.subs {
			w.bulkString(sc.name)
			writeCommandDocs(w, sc)
		}
	}
}
