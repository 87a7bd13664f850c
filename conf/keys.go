package conf

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dynkv/dynkv/replica"
	"github.com/dynkv/dynkv/resp"
)

// EnvPrefix starts the name of every environment variable Load reads.
const EnvPrefix = "DYNKV_"

// Key is one configuration key: its name, type and documentation, and how
// it reads and writes its field of Config.
type Key struct {
	// Name is the key in files and flags: lower case, dotted ("data.dir").
	Name string
	// Type names the accepted values in --help: string, int, size,
	// duration, or the choices of an enumeration ("none|process|fsync").
	Type string
	// Usage is one line of documentation.
	Usage string
	// Secret keys' values are never logged or printed.
	Secret bool

	set func(c *Config, s string) error
	get func(c Config) string
	// example is a valid value other than the default, for tests.
	example string
}

// Env returns the environment variable that sets k: EnvPrefix followed by
// the name upper-cased, with dots and dashes turned into underscores.
func (k Key) Env() string { return EnvName(k.Name) }

// EnvName returns the environment variable for the key named name.
func EnvName(name string) string {
	return EnvPrefix + strings.NewReplacer(".", "_", "-", "_").Replace(strings.ToUpper(name))
}

// Value returns the text form of k's value in c, which Load reads back as
// the same value. Callers must not log the value of a Secret key.
func (k Key) Value(c Config) string { return k.get(c) }

// Default returns the text form of k's default value.
func (k Key) Default() string { return k.get(DefaultConfig()) }

// Keys returns every configuration key, in the order --help lists them.
// The slice is new on every call.
func Keys() []Key {
	return []Key{
		stringKey("node.id", "node id, unique in a cluster; default derived from the host name", "node-7",
			func(c *Config) *string { return &c.Node.ID }),
		stringKey("listen", "client (RESP) address, host:port", "127.0.0.1:7000",
			func(c *Config) *string { return &c.Resp.Listen }),
		stringKey("data.dir", "data directory", "/var/lib/dynkv",
			func(c *Config) *string { return &c.Replica.Dir }),
		{
			Name: "storage", Type: "pebble|memory",
			Usage: "the engine that holds the data: pebble (on disk) or memory (gone when the process ends: for caches and tests; " +
				"durability is then none, and a restarted node comes back empty and is refilled by its replicas)",
			set: func(c *Config, s string) error {
				d, err := parseEnum(s, string(replica.StoragePebble), string(replica.StorageMemory))
				c.Replica.Storage = replica.Storage(d)
				return err
			},
			get:     func(c Config) string { return string(c.Replica.Storage) },
			example: "memory",
		},
		{
			Name: "durability", Type: "none|process|fsync",
			Usage: "when a write is acknowledged: none (in memory), process (survives kill -9), fsync (survives power loss)",
			set: func(c *Config, s string) error {
				d, err := parseEnum(s, string(replica.DurabilityNone), string(replica.DurabilityProcess), string(replica.DurabilityFsync))
				c.Replica.Durability = replica.Durability(d)
				return err
			},
			get:     func(c Config) string { return string(c.Replica.Durability) },
			example: "fsync",
		},
		sizeKey("cache-size", "block cache of the store", "128mb",
			func(c *Config) *int64 { return &c.Replica.CacheBytes }),
		{
			Name: "record-cache-size", Type: "size",
			Usage: "records of recently written and read keys kept in memory, so that a write need not read the disk first " +
				"and a hot key is read from memory; 0: none, bytes (64mb = 64MiB = 64*2^20; 64m = 64*10^6)",
			set: func(c *Config, s string) error {
				n, err := parseSize(s)
				if n == 0 {
					n = -1 // replica: 0 is the default, negative none
				}
				c.Replica.RecordCacheBytes = n
				return err
			},
			get: func(c Config) string {
				if c.Replica.RecordCacheBytes < 0 {
					return "0"
				}
				return formatSize(c.Replica.RecordCacheBytes)
			},
			example: "256mb",
		},
		{
			Name: "requirepass", Type: "string", Secret: true,
			Usage:   "password clients must AUTH with; empty means none",
			set:     func(c *Config, s string) error { c.Resp.RequirePass = s; return nil },
			get:     func(c Config) string { return c.Resp.RequirePass },
			example: "s3cret",
		},
		intKey("maxclients", "maximum number of connected clients", "50",
			func(c *Config) *int { return &c.Resp.MaxClients }),
		{
			Name: "client-idle-timeout", Type: "duration",
			Usage:   "close a client idle this long, as Redis's timeout (CONFIG GET/SET timeout, in seconds); a client whose command runs is not idle; 0s: never",
			set:     durationSetter(func(c *Config) *time.Duration { return &c.Resp.IdleTimeout }),
			get:     func(c Config) string { return c.Resp.IdleTimeout.String() },
			example: "5m0s",
		},
		{
			Name: "auth-grace", Type: "duration",
			Usage:   "with requirepass, close a client that has not authenticated this long after connecting; 0s: never",
			set:     durationSetter(func(c *Config) *time.Duration { return &c.Resp.AuthGrace }),
			get:     func(c Config) string { return c.Resp.AuthGrace.String() },
			example: "30s",
		},
		{
			Name: "protected-mode", Type: "yes|no",
			Usage: "Redis's protected mode: with no requirepass, clients from non-loopback addresses get Redis's DENIED error and are closed (CONFIG SET protected-mode changes it)",
			set: func(c *Config, s string) error {
				b, err := parseYesNo(s)
				c.Resp.NoProtectedMode = !b
				return err
			},
			get:     func(c Config) string { return formatYesNo(!c.Resp.NoProtectedMode) },
			example: "no",
		},
		intKey("tls-port", "client port that speaks TLS (1.2 at least), on the host of listen, serving the same commands; 0: none", "6380",
			func(c *Config) *int { return &c.Resp.TLS.Port }),
		stringKey("tls-cert-file", "server certificate for tls-port, PEM, followed by its chain", "/etc/dynkv/tls/dynkv.crt",
			func(c *Config) *string { return &c.Resp.TLS.CertFile }),
		stringKey("tls-key-file", "private key of tls-cert-file, PEM", "/etc/dynkv/tls/dynkv.key",
			func(c *Config) *string { return &c.Resp.TLS.KeyFile }),
		stringKey("tls-ca-cert-file", "certificates, PEM, of the authorities that sign client certificates (required with tls-port unless tls-auth-clients is no)", "/etc/dynkv/tls/ca.crt",
			func(c *Config) *string { return &c.Resp.TLS.CAFile }),
		{
			Name: "tls-auth-clients", Type: "yes|no|optional",
			Usage: "whether TLS clients must present a certificate signed by tls-ca-cert-file: yes, optional (one given must verify) or no",
			set: func(c *Config, s string) (err error) {
				c.Resp.TLS.AuthClients, err = parseEnum(s, resp.TLSAuthYes, resp.TLSAuthNo, resp.TLSAuthOptional)
				return err
			},
			get:     func(c Config) string { return c.Resp.TLS.AuthClients },
			example: "optional",
		},
		intKey("pipeline-window", "pipelined commands of one connection on different keys that may run at once, replies in order (1: one after another; more pays with durability fsync)", "32",
			func(c *Config) *int { return &c.Resp.PipelineWindow }),
		sizeKey("max-value-size", "largest value or argument a request may carry", "1mb",
			func(c *Config) *int64 { return &c.Resp.MaxValueSize }),
		sizeKey("max-key-size", "longest key a command may name", "1kb",
			func(c *Config) *int64 { return &c.Resp.MaxKeySize }),
		sizeKey("max-request-size", "largest request, all arguments together", "2gb",
			func(c *Config) *int64 { return &c.Resp.MaxRequestSize }),
		sizeKey("max-siblings-size", "largest record of a key's siblings (values and versions) a write may leave; a write over it is refused until a client resolves the siblings; the peer frame limit derives from it (0: two values of max-value-size and their versions)", "256mb",
			func(c *Config) *int64 { return &c.Coordinator.MaxSiblingsSize }),
		{
			Name: "client-output-buffer-limit", Type: "hard soft seconds",
			Usage: "a client's replies waiting for its socket: closed beyond hard, or above soft for soft seconds, as Redis's client-output-buffer-limit for normal clients; 0: no limit (hard: 0 or at least max-value-size + 64kb)",
			set:   setOutputLimit,
			get: func(c Config) string {
				return formatSize(c.Resp.OutputBufferHard) + " " + formatSize(c.Resp.OutputBufferSoft) + " " +
					strconv.FormatInt(int64(c.Resp.OutputBufferSoftTime/time.Second), 10)
			},
			example: "256mb 64mb 60",
		},
		sizeKey("maxmemory-clients", "all clients' buffers together (requests being read, replies waiting); beyond it the client using the most is closed, as Redis's maxmemory-clients; 0: no limit", "2gb",
			func(c *Config) *int64 { return &c.Resp.MaxMemoryClients }),
		intKey("n", "replicas of each key", "5", func(c *Config) *int { return &c.Coordinator.N }),
		intKey("r", "replicas that must answer a read", "1", func(c *Config) *int { return &c.Coordinator.R }),
		intKey("w", "replicas that must acknowledge a write", "3", func(c *Config) *int { return &c.Coordinator.W }),
		intKey("dw", "of the replicas that acknowledge a write, how many must have fsynced it first (Riak's DW; w is raised to it); "+
			"0: each has the durability of its node; DPUT and DDEL may say DW n", "1", func(c *Config) *int { return &c.Coordinator.DW }),
		stringKey("peer.listen", "peer (node-to-node) address, host:port; empty: the client port + 10000", "127.0.0.1:17000",
			func(c *Config) *string { return &c.Peer.Listen }),
		sizeKey("peer.receive-buffer", "memory for the peer frames being received, all peer connections together; at least the peer frame limit (0: twice the peer frame limit)", "1gb",
			func(c *Config) *int64 { return &c.Peer.ReceiveBuffer }),
		intKey("peer.max-connections", "most peer connections past the handshake; one more is closed", "64",
			func(c *Config) *int { return &c.Peer.MaxConns }),
		intKey("peer.max-handshakes", "most peer connections in the handshake (each lasts at most a second), a quarter of them from one address; one more is closed at once", "8",
			func(c *Config) *int { return &c.Peer.MaxHandshakes }),
		stringKey("gossip.listen", "gossip (membership) address, host:port, TCP and UDP", "127.0.0.1:7947",
			func(c *Config) *string { return &c.Gossip.Listen }),
		{
			Name: "seeds", Type: "list", Usage: "gossip addresses of nodes to join through, comma-separated; empty: a new one-node cluster",
			set: func(c *Config, s string) error {
				c.Gossip.Seeds = nil
				for _, p := range strings.Split(s, ",") {
					if p = strings.TrimSpace(p); p != "" {
						c.Gossip.Seeds = append(c.Gossip.Seeds, p)
					}
				}
				return nil
			},
			get:     func(c Config) string { return strings.Join(c.Gossip.Seeds, ",") },
			example: "127.0.0.1:7946,127.0.0.1:7947",
		},
		{
			Name: "cluster.secret", Type: "string", Secret: true,
			Usage: "shared secret that authenticates peers and encrypts gossip; every node must have the same (required with seeds; empty: one drawn at the first start, kept in the data directory)",
			set: func(c *Config, s string) error {
				c.Peer.Secret, c.Gossip.Secret = s, s
				return nil
			},
			get:     func(c Config) string { return c.Peer.Secret },
			example: "cluster-s3cret",
		},
		{
			Name: "cluster.accepted-secret", Type: "string", Secret: true,
			Usage: "a second secret accepted from peers, gossip and clients' contexts while cluster.secret is rotated (install, use, remove: see the README); empty outside a rotation",
			set: func(c *Config, s string) error {
				c.Peer.AcceptedSecret, c.Gossip.AcceptedSecret = s, s
				return nil
			},
			get:     func(c Config) string { return c.Peer.AcceptedSecret },
			example: "old-s3cret",
		},
		intKey("weight", "this node's share of partitions relative to the others", "2",
			func(c *Config) *int { return &c.Gossip.Weight }),
		intKey("partitions", "partitions of a new cluster (Q), a power of two up to 16384; every node must agree", "256",
			func(c *Config) *int { return &c.Gossip.Partitions }),
		{
			Name: "fallbacks", Type: "bool", Usage: "sloppy quorum: let healthy nodes beyond a key's N take its writes as hints",
			set: func(c *Config, s string) error {
				b, err := strconv.ParseBool(s)
				if err != nil {
					return fmt.Errorf("%q is not a boolean", s)
				}
				c.Coordinator.NoFallbacks = !b
				return nil
			},
			get:     func(c Config) string { return strconv.FormatBool(!c.Coordinator.NoFallbacks) },
			example: "false",
		},
		{
			Name: "hints.max", Type: "int", Usage: "most hints a node holds for others; beyond it writes rely on read repair (0: no limit)",
			set: func(c *Config, s string) error {
				n, err := parseInt(s)
				c.Replica.MaxHints = int64(n)
				return err
			},
			get:     func(c Config) string { return strconv.FormatInt(c.Replica.MaxHints, 10) },
			example: "5000",
		},
		{
			Name: "handoff-interval", Type: "duration", Usage: "how often hints are offered to nodes that are back",
			set:     durationSetter(func(c *Config) *time.Duration { return &c.HandoffInterval }),
			get:     func(c Config) string { return c.HandoffInterval.String() },
			example: "2s",
		},
		{
			Name: "antientropy.interval", Type: "duration", Usage: "pause between anti-entropy rounds (Merkle-tree comparison of every partition with one replica); 0 disables anti-entropy",
			set:     durationSetter(func(c *Config) *time.Duration { return &c.AntiEntropy.Interval }),
			get:     func(c Config) string { return c.AntiEntropy.Interval.String() },
			example: "1m0s",
		},
		intKey("antientropy.rate", "most keys per second anti-entropy may repair, tombstones it may check, and hints a node may replay (0: no limit)", "500",
			func(c *Config) *int { return &c.AntiEntropy.Rate }),
		{
			Name: "antientropy.latency-target", Type: "duration",
			Usage:   "foreground p99 that background work yields to: above it antientropy.rate is cut, down to 5%; 0 disables",
			set:     durationSetter(func(c *Config) *time.Duration { return &c.Admission.Target }),
			get:     func(c Config) string { return c.Admission.Target.String() },
			example: "25ms",
		},
		{
			Name: "antientropy.tombstone-grace", Type: "duration", Usage: "least time between the two checks that every replica holds a tombstone before it is collected; at least timeout",
			set:     durationSetter(func(c *Config) *time.Duration { return &c.AntiEntropy.TombstoneGrace }),
			get:     func(c Config) string { return c.AntiEntropy.TombstoneGrace.String() },
			example: "1h0m0s",
		},
		{
			Name: "timeout", Type: "duration", Usage: "deadline of one read or write over the replicas",
			set:     durationSetter(func(c *Config) *time.Duration { return &c.Coordinator.Timeout }),
			get:     func(c Config) string { return c.Coordinator.Timeout.String() },
			example: "1.5s",
		},
		{
			Name: "hop-deadline-floor", Type: "duration",
			Usage:   "least time a call to a peer within a read or write is waited for before a fallback or the next home is asked (the deadline adapts to the peer's measured latency above it); a forwarded write gets twice it",
			set:     durationSetter(func(c *Config) *time.Duration { return &c.Coordinator.HopFloor }),
			get:     func(c Config) string { return c.Coordinator.HopFloor.String() },
			example: "50ms",
		},
		{
			Name: "hop-deadline-factor", Type: "number",
			Usage: "a call to a peer is waited for this many times the peer's estimated round trip (srtt + 4 rttvar), at least hop-deadline-floor, at most a quarter of timeout; 1 to 100",
			set: func(c *Config, s string) error {
				f, err := strconv.ParseFloat(s, 64)
				if err != nil {
					return fmt.Errorf("%q is not a number", s)
				}
				c.Coordinator.HopFactor = f
				return nil
			},
			get:     func(c Config) string { return strconv.FormatFloat(c.Coordinator.HopFactor, 'g', -1, 64) },
			example: "3",
		},
		{
			Name: "shutdown-timeout", Type: "duration", Usage: "how long in-flight requests may take to finish on SIGINT or SIGTERM",
			set:     durationSetter(func(c *Config) *time.Duration { return &c.ShutdownTimeout }),
			get:     func(c Config) string { return c.ShutdownTimeout.String() },
			example: "30s",
		},
		stringKey("pprof.listen", "HTTP address serving Go's profiles (net/http/pprof), unauthenticated: loopback only; empty: none", "127.0.0.1:6060",
			func(c *Config) *string { return &c.PprofListen }),
		{
			Name: "log.level", Type: "debug|info|warn|error", Usage: "lowest level logged",
			set: func(c *Config, s string) (err error) {
				c.Log.Level, err = parseLevel(s)
				return err
			},
			get:     func(c Config) string { return formatLevel(c.Log.Level) },
			example: "debug",
		},
		{
			Name: "log.format", Type: "text|json", Usage: "log format, on standard error",
			set: func(c *Config, s string) (err error) {
				c.Log.Format, err = parseEnum(s, LogText, LogJSON)
				return err
			},
			get:     func(c Config) string { return c.Log.Format },
			example: "json",
		},
	}
}

// setOutputLimit parses "hard soft seconds", or Redis's "normal hard soft
// seconds".
func setOutputLimit(c *Config, s string) error {
	f := strings.Fields(s)
	if len(f) == 4 && strings.EqualFold(f[0], "normal") {
		f = f[1:]
	}
	if len(f) != 3 {
		return fmt.Errorf("%q is not <hard> <soft> <soft-seconds> (example: 128mb 32mb 60)", s)
	}
	hard, err := parseSize(f[0])
	if err != nil {
		return err
	}
	soft, err := parseSize(f[1])
	if err != nil {
		return err
	}
	secs, err := strconv.ParseUint(f[2], 10, 31)
	if err != nil {
		return fmt.Errorf("%q is not a number of seconds", f[2])
	}
	c.Resp.OutputBufferHard, c.Resp.OutputBufferSoft = hard, soft
	c.Resp.OutputBufferSoftTime = time.Duration(secs) * time.Second
	return nil
}

func stringKey(name, usage, example string, field func(*Config) *string) Key {
	return Key{
		Name: name, Type: "string", Usage: usage, example: example,
		set: func(c *Config, s string) error { *field(c) = s; return nil },
		get: func(c Config) string { return *field(&c) },
	}
}

func intKey(name, usage, example string, field func(*Config) *int) Key {
	return Key{
		Name: name, Type: "int", Usage: usage, example: example,
		set: func(c *Config, s string) (err error) {
			*field(c), err = parseInt(s)
			return err
		},
		get: func(c Config) string { return strconv.Itoa(*field(&c)) },
	}
}

func sizeKey(name, usage, example string, field func(*Config) *int64) Key {
	return Key{
		Name: name, Type: "size", Usage: usage + ", bytes (64mb = 64MiB = 64*2^20; 64m = 64*10^6)", example: example,
		set: func(c *Config, s string) (err error) {
			*field(c), err = parseSize(s)
			return err
		},
		get: func(c Config) string { return formatSize(*field(&c)) },
	}
}

func durationSetter(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, s string) (err error) {
		*field(c), err = parseDuration(s)
		return err
	}
}
