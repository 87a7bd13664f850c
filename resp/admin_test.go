package resp

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dynkv/dynkv/internal/testenv"
	"github.com/stretchr/testify/require"
)

func TestConfigGet(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RequirePass = "pw"
	e := newTestEnv(t, cfg)
	tc := e.client()
	require.Equal(t, okReply, tc.do("AUTH", "pw"))
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"exact", []string{"maxclients"}, []string{"maxclients", "10000"}},
		{"exact keeps the client's spelling", []string{"MAXCLIENTS"}, []string{"MAXCLIENTS", "10000"}},
		{"glob", []string{"max*"}, []string{"maxclients", "10000", "maxmemory", "0", "maxmemory-policy", "noeviction", "maxmemory-clients", "1073741824"}},
		{"glob ignores case", []string{"MAXMEM*"}, []string{"maxmemory", "0", "maxmemory-policy", "noeviction", "maxmemory-clients", "1073741824"}},
		{"output buffer limit", []string{"client-output-buffer-limit"}, []string{"client-output-buffer-limit", "normal 134217728 0 0"}},
		{"question mark and class", []string{"[bp]??t"}, []string{"port", "6379"}},
		{"benchmark's", []string{"save"}, []string{"save", ""}},
		{"several, each once", []string{"appendonly", "save", "appendonly"}, []string{"appendonly", "yes", "save", ""}},
		{"requirepass", []string{"requirepass"}, []string{"requirepass", "pw"}},
		{"value size", []string{"proto-max-bulk-len"}, []string{"proto-max-bulk-len", "67108864"}},
		{"databases", []string{"databases"}, []string{"databases", "1"}},
		{"bind", []string{"bind"}, []string{"bind", "127.0.0.1"}},
		{"unknown", []string{"nosuch"}, nil},
		{"file paths are not reported", []string{"dir"}, nil},
		{"bad pattern", []string{"[a"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var want []string
			for _, w := range tt.want {
				want = append(want, bulk(w))
			}
			require.Equal(t, arr(want...), tc.do(append([]string{"CONFIG", "GET"}, tt.args...)...))
		})
	}
}

func TestConfigSet(t *testing.T) {
	e := newDefaultEnv(t)
	tc := e.client()
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"maxclients", []string{"maxclients", "5"}, okReply},
		{"maxclients any case", []string{"MaxClients", "6"}, okReply},
		{"not an integer", []string{"maxclients", "abc"}, errReply("ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer")},
		{"out of range", []string{"maxclients", "0"}, errReply("ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive")},
		{"duplicate", []string{"maxclients", "10", "maxclients", "11"}, errReply("ERR CONFIG SET failed (possibly related to argument 'maxclients') - duplicate parameter")},
		{"dir is protected", []string{"dir", "/tmp"}, errReply("ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config")},
		{"dbfilename is protected", []string{"dbfilename", "x.rdb"}, errReply("ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config")},
		{"logfile is immutable", []string{"logfile", "/etc/passwd"}, errReply("ERR CONFIG SET failed (possibly related to argument 'logfile') - can't set immutable config")},
		{"appendfilename is immutable", []string{"appendfilename", "x"}, errReply("ERR CONFIG SET failed (possibly related to argument 'appendfilename') - can't set immutable config")},
		{"known but fixed", []string{"requirepass", "x"}, errReply("ERR CONFIG SET failed (possibly related to argument 'requirepass') - can't set immutable config")},
		{"unknown", []string{"nosuch", "1"}, errReply("ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'")},
		{"all or nothing", []string{"maxclients", "7", "dir", "/tmp"}, errReply("ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config")},
		{"timeout", []string{"timeout", "7"}, okReply},
		{"timeout not an integer", []string{"timeout", "1.5"}, errReply("ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer")},
		{"timeout negative", []string{"timeout", "-1"}, errReply("ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive")},
		{"timeout too big", []string{"timeout", "3000000000"}, errReply("ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive")},
		{"protected-mode", []string{"protected-mode", "NO"}, okReply},
		{"protected-mode not a bool", []string{"protected-mode", "maybe"}, errReply("ERR CONFIG SET failed (possibly related to argument 'protected-mode') - argument must be 'yes' or 'no'")},
		{"tls files are immutable", []string{"tls-cert-file", "/tmp/x"}, errReply("ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - can't set immutable config")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tc.do(append([]string{"CONFIG", "SET"}, tt.args...)...))
		})
	}
	require.Equal(t, arr(bulk("maxclients"), bulk("6")), tc.do("CONFIG", "GET", "maxclients"), "the failed multi-set changed nothing")
	require.Equal(t, int64(6), e.s.maxClients.Load())
	require.Equal(t, arr(bulk("timeout"), bulk("7"), bulk("protected-mode"), bulk("no")), tc.do("CONFIG", "GET", "timeout", "protected-mode"))
	require.Equal(t, 7*time.Second, e.s.idleTimeout())
	require.False(t, e.s.protected.Load())
}

func TestConfigGet_TimeoutAndProtectedMode(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IdleTimeout = 1500 * time.Millisecond
	tc := newTestEnv(t, cfg).client()
	require.Equal(t, arr(bulk("timeout"), bulk("2"), bulk("protected-mode"), bulk("yes")), tc.do("CONFIG", "GET", "timeout", "protected-mode"),
		"seconds rounded up, protected by default")
}

func TestInfo(t *testing.T) {
	e := newDefaultEnv(t)
	tc := e.client()
	require.Equal(t, okReply, tc.do("SET", "k", "v"))
	require.Equal(t, bulk("v"), tc.do("GET", "k"))
	require.Equal(t, nilReply, tc.do("GET", "nope"))
	require.Equal(t, okReply, tc.do("DPUT", "s", "", "a"))
	require.Equal(t, okReply, tc.do("DPUT", "s", "", "b"))
	tc.dget("s")

	info := func(args ...string) string {
		v, _ := parseReply(t, tc.do(append([]string{"INFO"}, args...)...))
		return v.(string)
	}
	all := info()
	for _, want := range []string{
		"# Server\r\nredis_version:7.0.15\r\n", "dynkv_version:", "redis_mode:standalone\r\n",
		"# Clients\r\nconnected_clients:1\r\n", "maxclients:10000\r\n",
		"# Persistence\r\nloading:0\r\n", "aof_enabled:0\r\n",
		"# Stats\r\n", "keyspace_hits:1\r\n", "keyspace_misses:1\r\n",
		"# Keyspace\r\ndb0:keys=2,expires=0,avg_ttl=0\r\n",
		"# Dynkv\r\n", "dynkv_n:3\r\ndynkv_r:2\r\ndynkv_w:2\r\n", "dynkv_sibling_reads:1\r\n",
		"dynkv_writes:3\r\n", "dynkv_store_keys:2\r\n",
	} {
		require.Contains(t, all, want)
	}
	require.False(t, strings.HasSuffix(all, "\r\n\r\n"), "no blank line after the last section")
	titles := func(s string) (out []string) {
		for _, l := range strings.Split(s, "\r\n") {
			if strings.HasPrefix(l, "# ") {
				out = append(out, l)
			}
		}
		return out
	}
	require.Equal(t, []string{"# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Replication", "# Cluster", "# Keyspace", "# Dynkv", "# AntiEntropy"}, titles(all))
	require.Equal(t, titles(all), titles(info("default")))
	require.Equal(t, append(titles(all), "# AntiEntropy_Partitions"), titles(info("everything")), "extra sections only when asked")
	require.Equal(t, "# AntiEntropy\r\nantientropy_enabled:0\r\n", info("antientropy"))

	require.Equal(t, "# Keyspace\r\ndb0:keys=2,expires=0,avg_ttl=0\r\n", info("keyspace"))
	require.Equal(t, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n\r\n# Keyspace\r\ndb0:keys=2,expires=0,avg_ttl=0\r\n",
		info("KEYSPACE", "replication"), "sections come in INFO's order")
	require.Equal(t, "", info("nosuch"))

	require.Equal(t, okReply, tc.do("CONFIG", "RESETSTAT"))
	stats := info("stats", "dynkv")
	require.Contains(t, stats, "keyspace_hits:0\r\n")
	require.Contains(t, stats, "dynkv_writes:0\r\n")
	require.Contains(t, stats, "dynkv_sibling_reads:0\r\n")
	require.Contains(t, stats, "dynkv_store_keys:2\r\n", "a gauge is not reset")
	require.Contains(t, stats, "total_commands_processed:1\r\n", "the INFO since the reset, as Redis counts")
}

func TestDBSizeAndTime(t *testing.T) {
	e := newDefaultEnv(t)
	tc := e.client()
	require.Equal(t, intReply(0), tc.do("DBSIZE"))
	require.Equal(t, okReply, tc.do("MSET", "a", "1", "b", "2"))
	require.Equal(t, intReply(2), tc.do("DBSIZE"))
	require.Equal(t, intReply(1), tc.do("DEL", "a"))
	require.Equal(t, intReply(1), tc.do("DBSIZE"))

	now := e.clock.Now()
	require.Equal(t, arr(bulk(strconv.FormatInt(now.Unix(), 10)), bulk("6")), tc.do("TIME"))
}

func TestClientCommands(t *testing.T) {
	e := newDefaultEnv(t)
	tc, other := e.client(), e.client()
	require.Equal(t, nilReply, tc.do("CLIENT", "GETNAME"))
	require.Equal(t, okReply, tc.do("CLIENT", "SETNAME", "worker-1"))
	require.Equal(t, bulk("worker-1"), tc.do("CLIENT", "GETNAME"))
	require.Equal(t, errReply("ERR Client names cannot contain spaces, newlines or special characters."), tc.do("CLIENT", "SETNAME", "a b"))
	require.Equal(t, okReply, tc.do("CLIENT", "SETNAME", ""))
	require.Equal(t, nilReply, tc.do("CLIENT", "GETNAME"))
	require.Equal(t, okReply, tc.do("CLIENT", "SETNAME", "worker-1"))
	require.Equal(t, intReply(int(tc.c.id)), tc.do("CLIENT", "ID"))
	require.Equal(t, okReply, tc.do("CLIENT", "SETINFO", "LIB-NAME", "go-redis(,go1.26)"))
	require.Equal(t, okReply, tc.do("CLIENT", "SETINFO", "lib-ver", "9.23.0"))
	require.Equal(t, errReply("ERR Unrecognized option 'foo'"), tc.do("CLIENT", "SETINFO", "foo", "x"))
	require.Equal(t, errReply("ERR lib-name cannot contain spaces, newlines or special characters."), tc.do("CLIENT", "SETINFO", "lib-name", "a b"))

	e.clock.Advance(3 * time.Second)
	line := "id=" + strconv.FormatInt(tc.c.id, 10) + " addr=127.0.0.1:50000 laddr=127.0.0.1:6379 fd=-1 name=worker-1 age=3 idle=3 flags=N db=0 " +
		"sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 " +
		"events=r cmd=client|info user=default redir=-1 resp=2 lib-name=go-redis(,go1.26) lib-ver=9.23.0\n"
	require.Equal(t, bulk(line), tc.do("CLIENT", "INFO"))

	v, _ := parseReply(t, other.do("CLIENT", "LIST"))
	lines := strings.Split(strings.TrimSuffix(v.(string), "\n"), "\n")
	require.Len(t, lines, 2)
	require.Contains(t, lines[0], "name=worker-1 ")
	require.Contains(t, lines[1], "cmd=client|list ")

	v, _ = parseReply(t, other.do("CLIENT", "LIST", "ID", strconv.FormatInt(tc.c.id, 10)))
	require.Equal(t, 1, strings.Count(v.(string), "\n"))
	require.Equal(t, bulk(""), other.do("CLIENT", "LIST", "TYPE", "pubsub"))
	require.Equal(t, errReply("ERR Unknown client type 'x'"), other.do("CLIENT", "LIST", "TYPE", "x"))
	require.Equal(t, errReply("ERR Invalid client ID"), other.do("CLIENT", "LIST", "ID", "x"))
	require.Equal(t, errReply("ERR syntax error"), other.do("CLIENT", "LIST", "foo"))
}

func TestCommandIntrospection(t *testing.T) {
	e := newDefaultEnv(t)
	tc := e.client()
	require.Equal(t, intReply(len(e.s.table.sorted)), tc.do("COMMAND", "COUNT"))

	get := arr(bulk("get"), intReply(2), arr("+readonly\r\n", "+fast\r\n"), intReply(1), intReply(1), intReply(1),
		arr("+@read\r\n", "+@string\r\n", "+@fast\r\n"), "*0\r\n",
		arr(arr(bulk("flags"), arr("+RO\r\n", "+access\r\n"),
			bulk("begin_search"), arr(bulk("type"), bulk("index"), bulk("spec"), arr(bulk("index"), intReply(1))),
			bulk("find_keys"), arr(bulk("type"), bulk("range"), bulk("spec"),
				arr(bulk("lastkey"), intReply(0), bulk("keystep"), intReply(1), bulk("limit"), intReply(0))))),
		"*0\r\n")
	require.Equal(t, arr(get, nilReply), tc.do("COMMAND", "INFO", "GET", "nosuch"))

	v, _ := parseReply(t, tc.do("COMMAND", "INFO", "client"))
	client := v.([]respValue)[0].([]respValue)
	require.Equal(t, "client", client[0])
	require.Equal(t, int64(-2), client[1])
	subs := client[9].([]respValue)
	require.Len(t, subs, 7)
	require.Equal(t, "client|getname", subs[0].([]respValue)[0])

	require.Equal(t, arr(bulk("get"), arr(bulk("summary"), bulk(e.s.table.cmds["get"].doc), bulk("since"), bulk("1.0.0"),
		bulk("group"), bulk("string"))), tc.do("COMMAND", "DOCS", "get", "nosuch"))
	v, _ = parseReply(t, tc.do("COMMAND", "DOCS"))
	require.Len(t, v.([]respValue), 2*len(e.s.table.sorted))

	v, _ = parseReply(t, tc.do("COMMAND", "LIST"))
	require.Contains(t, v.([]respValue), "client|list")
	require.Contains(t, v.([]respValue), "dput")
	v, _ = parseReply(t, tc.do("COMMAND"))
	require.Len(t, v.([]respValue), len(e.s.table.sorted))

	v, _ = parseReply(t, tc.do("COMMAND", "INFO", "client|setname"))
	require.Equal(t, "client|setname", v.([]respValue)[0].([]respValue)[0])

	for _, c := range []string{"CLIENT", "CONFIG", "COMMAND", "RING"} {
		v, _ = parseReply(t, tc.do(c, "HELP"))
		require.Contains(t, v.([]respValue)[0], c+" <subcommand>")
	}
}

// TestInfo_MemoryRSS: used_memory_rss is the process's resident set, as
// Redis reports it, not Go's count of its own memory (which misses what
// pebble allocates outside Go's heap).
func TestInfo_MemoryRSS(t *testing.T) {
	vmRSS := func() int64 {
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			// Off Linux used_memory_rss is Go's count; CI runs on Linux.
			testenv.Missing(t, "no /proc/self/status (not Linux)")
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				require.NoError(t, err)
				return kb << 10
			}
		}
		t.Fatal("no VmRSS in /proc/self/status")
		return 0
	}
	e := newDefaultEnv(t)
	tc := e.client()
	before := vmRSS()
	v, _ := parseReply(t, tc.do("INFO", "memory"))
	after := vmRSS()
	var rss int64
	for _, l := range strings.Split(v.(string), "\r\n") {
		if s, ok := strings.CutPrefix(l, "used_memory_rss:"); ok {
			var err error
			rss, err = strconv.ParseInt(s, 10, 64)
			require.NoError(t, err)
		}
	}
	const slack = 2 << 20
	require.GreaterOrEqual(t, rss, min(before, after)-slack)
	require.LessOrEqual(t, rss, max(before, after)+slack)
}
