package conf

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/replica"
)

// clearEnv hides every DYNKV_ variable of the test process from Load: an
// empty variable counts as unset.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, k := range Keys() {
		t.Setenv(k.Env(), "")
	}
}

// flags returns a flag set with the keys registered, parsed from args.
func flags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	RegisterFlags(fs)
	require.NoError(t, fs.Parse(args))
	return fs
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// normalized returns the text form Load produces for key k given s.
func normalized(t *testing.T, k Key, s string) string {
	t.Helper()
	c := DefaultConfig()
	require.NoError(t, k.set(&c, s))
	return k.get(c)
}

func TestDefaultConfig(t *testing.T) {
	clearEnv(t)
	def := DefaultConfig()
	require.NoError(t, def.Validate())

	c, err := Load(Source{})
	require.NoError(t, err)
	require.Equal(t, def, c)

	require.Equal(t, "127.0.0.1:6379", c.Resp.Listen)
	require.Equal(t, "dynkv-data", c.Replica.Dir)
	require.Equal(t, replica.DurabilityProcess, c.Replica.Durability)
	require.Equal(t, "", c.Resp.RequirePass)
	require.Equal(t, int64(64<<20), c.Resp.MaxValueSize)
	require.Equal(t, slog.LevelInfo, c.Log.Level)
	require.Equal(t, LogText, c.Log.Format)
	require.Equal(t, 3, c.Coordinator.N)
	require.Equal(t, 2, c.Coordinator.R)
	require.Equal(t, 2, c.Coordinator.W)
	require.Equal(t, 10*time.Second, c.ShutdownTimeout)
	require.NotEmpty(t, c.Node.ID)
}

// TestRecordCacheSize_ZeroIsNone: record-cache-size 0 turns the record
// cache off (the store's 0 would mean its default).
func TestRecordCacheSize_ZeroIsNone(t *testing.T) {
	i := slices.IndexFunc(Keys(), func(k Key) bool { return k.Name == "record-cache-size" })
	require.GreaterOrEqual(t, i, 0)
	k := Keys()[i]
	c := DefaultConfig()
	require.Equal(t, int64(64<<20), c.Replica.RecordCacheBytes)
	require.NoError(t, k.set(&c, "0"))
	require.Equal(t, int64(-1), c.Replica.RecordCacheBytes)
	require.Equal(t, "0", k.get(c))
	require.NoError(t, k.set(&c, "1mb"))
	require.Equal(t, int64(1<<20), c.Replica.RecordCacheBytes)
}

func TestKeys_DefaultRoundTrips(t *testing.T) {
	def := DefaultConfig()
	for _, k := range Keys() {
		t.Run(k.Name, func(t *testing.T) {
			c := def
			require.NoError(t, k.set(&c, k.Default()))
			require.Equal(t, def, c)
		})
	}
}

func TestKeys_Names(t *testing.T) {
	seen := map[string]bool{}
	name := regexp.MustCompile(`^[a-z][a-z0-9]*([.-][a-z0-9]+)*$`)
	for _, k := range Keys() {
		require.Regexp(t, name, k.Name)
		require.False(t, seen[k.Name], "duplicate key %s", k.Name)
		seen[k.Name] = true
		require.NotEmpty(t, k.Usage, k.Name)
		require.NotEmpty(t, k.Type, k.Name)
		require.NotEqual(t, normalized(t, k, k.example), k.Default(), "%s: example must differ from the default", k.Name)
	}
	for _, want := range []string{"node.id", "listen", "data.dir", "durability", "requirepass", "maxclients",
		"max-value-size", "max-request-size", "log.level", "n", "r", "w", "timeout"} {
		require.True(t, seen[want], "missing key %s", want)
	}
}

func TestKeys_EnvNames(t *testing.T) {
	for name, env := range map[string]string{
		"listen":         "DYNKV_LISTEN",
		"data.dir":       "DYNKV_DATA_DIR",
		"node.id":        "DYNKV_NODE_ID",
		"max-value-size": "DYNKV_MAX_VALUE_SIZE",
		"log.level":      "DYNKV_LOG_LEVEL",
	} {
		require.Equal(t, env, EnvName(name))
	}
}

// TestKeys_EnvSetsEveryKey holds the convention for every key: DYNKV_ and the
// key upper-cased with dots and dashes as underscores sets the key.
func TestKeys_EnvSetsEveryKey(t *testing.T) {
	for _, k := range Keys() {
		t.Run(k.Name, func(t *testing.T) {
			clearEnv(t)
			env := "DYNKV_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(k.Name))
			require.Equal(t, env, k.Env())
			t.Setenv(env, k.example)
			for name, v := range companions(k) {
				t.Setenv(EnvName(name), v)
			}
			c, err := Load(Source{Flags: flags(t)})
			require.NoError(t, err)
			require.Equal(t, normalized(t, k, k.example), k.Value(c))
		})
	}
}

// companions returns the other settings (key name → value) k's example
// needs to make a valid configuration: a TLS port needs its certificate,
// key and CA; storage memory needs durability none and dw 0.
func companions(k Key) map[string]string {
	out := map[string]string{}
	for _, n := range Keys() {
		if k.Name == "tls-port" && slices.Contains([]string{"tls-cert-file", "tls-key-file", "tls-ca-cert-file"}, n.Name) {
			out[n.Name] = n.example
		}
	}
	if k.Name == "storage" {
		out["durability"], out["dw"] = "none", "0"
	}
	return out
}

// withoutConflicts is keys without those whose examples conflict with
// other keys' examples (storage memory with durability fsync).
func withoutConflicts(keys []Key) []Key {
	return slices.DeleteFunc(keys, func(k Key) bool { return k.Name == "storage" })
}

func TestKeys_FlagSetsEveryKey(t *testing.T) {
	for _, k := range Keys() {
		t.Run(k.Name, func(t *testing.T) {
			clearEnv(t)
			args := []string{"--" + k.Name + "=" + k.example}
			for name, v := range companions(k) {
				args = append(args, "--"+name+"="+v)
			}
			c, err := Load(Source{Flags: flags(t, args...)})
			require.NoError(t, err)
			require.Equal(t, normalized(t, k, k.example), k.Value(c))
		})
	}
}

// TestKeys_FileSetsEveryKey writes every key into one file, nested at the
// dots, in both formats.
func TestKeys_FileSetsEveryKey(t *testing.T) {
	for _, format := range []string{"yaml", "toml"} {
		t.Run(format, func(t *testing.T) {
			clearEnv(t)
			p := writeFile(t, "dynkv."+format, nestedFile(format, withoutConflicts(Keys())))
			c, err := Load(Source{File: p})
			require.NoError(t, err)
			for _, k := range withoutConflicts(Keys()) {
				require.Equal(t, normalized(t, k, k.example), k.Value(c), k.Name)
			}
		})
	}
}

// nestedFile returns a config file of format setting every key of keys to
// its example, with dotted keys nested as tables.
func nestedFile(format string, keys []Key) string {
	var top []string
	tables := map[string][]string{}
	for _, k := range keys {
		prefix, rest, dotted := strings.Cut(k.Name, ".")
		if !dotted {
			top = append(top, k.Name+"|"+k.example)
			continue
		}
		tables[prefix] = append(tables[prefix], rest+"|"+k.example)
	}
	var b strings.Builder
	line := func(indent, kv string) {
		name, val, _ := strings.Cut(kv, "|")
		if format == "yaml" {
			b.WriteString(indent + name + ": \"" + val + "\"\n")
		} else {
			b.WriteString(name + " = \"" + val + "\"\n")
		}
	}
	for _, kv := range top {
		line("", kv)
	}
	names := make([]string, 0, len(tables))
	for n := range tables {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if format == "yaml" {
			b.WriteString(n + ":\n")
		} else {
			b.WriteString("[" + n + "]\n")
		}
		for _, kv := range tables[n] {
			line("  ", kv)
		}
	}
	return b.String()
}

func TestLoad_Precedence(t *testing.T) {
	file := writeFile(t, "dynkv.yaml", "listen: 127.0.0.1:1001\ndata:\n  dir: from-file\n")
	tests := []struct {
		name string
		env  string
		flag string
		want string
	}{
		{name: "file over default", want: "127.0.0.1:1001"},
		{name: "env over file", env: "127.0.0.1:1002", want: "127.0.0.1:1002"},
		{name: "flag over env", env: "127.0.0.1:1002", flag: "127.0.0.1:1003", want: "127.0.0.1:1003"},
		{name: "flag over file", flag: "127.0.0.1:1003", want: "127.0.0.1:1003"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("DYNKV_LISTEN", tt.env)
			var args []string
			if tt.flag != "" {
				args = append(args, "--listen", tt.flag)
			}
			c, err := Load(Source{File: file, Flags: flags(t, args...)})
			require.NoError(t, err)
			require.Equal(t, tt.want, c.Resp.Listen)
			require.Equal(t, "from-file", c.Replica.Dir, "keys not overridden keep the file's value")
			require.Equal(t, replica.DurabilityProcess, c.Replica.Durability, "keys set nowhere keep the default")
		})
	}
	t.Run("default without file", func(t *testing.T) {
		clearEnv(t)
		c, err := Load(Source{Flags: flags(t)})
		require.NoError(t, err)
		require.Equal(t, "127.0.0.1:6379", c.Resp.Listen)
	})
}

func TestLoad_ValidationMessages(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{name: "durability", args: []string{"--durability", "fast"},
			want: `durability: "fast" is not one of none, process, fsync (from flag --durability)`},
		{name: "durability from env", env: map[string]string{"DYNKV_DURABILITY": "fast"},
			want: `durability: "fast" is not one of none, process, fsync (from environment variable DYNKV_DURABILITY)`},
		{name: "maxclients not a number", env: map[string]string{"DYNKV_MAXCLIENTS": "many"},
			want: `maxclients: "many" is not an integer`},
		{name: "maxclients zero", args: []string{"--maxclients", "0"}, want: "maxclients: must be at least 1"},
		{name: "max-value-size", args: []string{"--max-value-size", "12xb"}, want: `max-value-size: "12xb" is not a size`},
		{name: "max-value-size negative", args: []string{"--max-value-size", "-1"}, want: `max-value-size: "-1" is not a size`},
		{name: "max-request-size below max-value-size", args: []string{"--max-value-size", "2mb", "--max-request-size", "1mb"},
			want: "max-request-size: must be at least max-value-size"},
		{name: "max-siblings-size below one value", args: []string{"--max-value-size", "1mb", "--max-siblings-size", "1mb"},
			want: "max-siblings-size: must be at least a record of one value of max-value-size"},
		{name: "peer frame over 4 GiB", args: []string{"--max-value-size", "3gb", "--max-request-size", "3gb", "--client-output-buffer-limit", "0 0 0", "--maxmemory-clients", "0"},
			want: "max-siblings-size: the peer frame limit derived from it, max-key-size and max-value-size exceeds 4 GiB"},
		{name: "peer.receive-buffer below a frame", args: []string{"--peer.receive-buffer", "1mb"},
			want: "peer.receive-buffer: must be at least the peer frame limit"},
		{name: "dw over n", args: []string{"--dw", "4"}, want: "dw: must be between 0 and n (3), got 4"},
		{name: "peer.max-connections zero", args: []string{"--peer.max-connections", "0"}, want: "peer.max-connections: must be at least 1"},
		{name: "peer.max-handshakes zero", args: []string{"--peer.max-handshakes", "0"}, want: "peer.max-handshakes: must be at least 1"},
		{name: "listen", args: []string{"--listen", "nowhere"}, want: `listen: "nowhere" is not host:port`},
		{name: "data.dir empty", args: []string{"--data.dir="}, want: "data.dir: must not be empty"},
		{name: "node.id", args: []string{"--node.id", "a b"}, want: `node.id: "a b" holds ' '`},
		{name: "node.id empty", args: []string{"--node.id="}, want: "node.id: must not be empty"},
		{name: "r above n", args: []string{"--r", "4"}, want: "r: must be between 1 and n (3), got 4"},
		{name: "w zero", env: map[string]string{"DYNKV_W": "0"}, want: "w: must be between 1 and n (3), got 0"},
		{name: "n zero", args: []string{"--n", "0"}, want: "n: must be at least 1"},
		{name: "timeout", args: []string{"--timeout", "soon"}, want: `timeout: "soon" is not a duration`},
		{name: "timeout zero", args: []string{"--timeout", "0s"}, want: "timeout: must be positive"},
		{name: "hop-deadline-floor", args: []string{"--hop-deadline-floor", "-1ms"}, want: "hop-deadline-floor: must not be negative"},
		{name: "hop-deadline-factor not a number", env: map[string]string{"DYNKV_HOP_DEADLINE_FACTOR": "fast"},
			want: `hop-deadline-factor: "fast" is not a number`},
		{name: "hop-deadline-factor below one", args: []string{"--hop-deadline-factor", "0.5"}, want: "hop-deadline-factor: must be between 1 and 100, got 0.5"},
		{name: "shutdown-timeout", args: []string{"--shutdown-timeout", "-1s"}, want: "shutdown-timeout: must be positive"},
		{name: "log.level", env: map[string]string{"DYNKV_LOG_LEVEL": "loud"},
			want: `log.level: "loud" is not one of debug, info, warn, error`},
		{name: "log.format", args: []string{"--log.format", "xml"}, want: `log.format: "xml" is not one of text, json`},
		{name: "client-idle-timeout", args: []string{"--client-idle-timeout", "-1s"}, want: "client-idle-timeout: must not be negative"},
		{name: "auth-grace", env: map[string]string{"DYNKV_AUTH_GRACE": "-5s"}, want: "auth-grace: must not be negative"},
		{name: "protected-mode", args: []string{"--protected-mode", "maybe"}, want: `protected-mode: "maybe" is not one of yes, no`},
		{name: "tls-port without a certificate", args: []string{"--tls-port", "6380"}, want: "tls-cert-file: required with tls-port"},
		{name: "tls-port without a CA", args: []string{"--tls-port", "6380", "--tls-cert-file", "c.pem", "--tls-key-file", "k.pem"},
			want: "tls-ca-cert-file: required with tls-port unless tls-auth-clients is no"},
		{name: "tls-auth-clients", args: []string{"--tls-auth-clients", "sometimes"}, want: `tls-auth-clients: "sometimes" is not one of yes, no, optional`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := Load(Source{Flags: flags(t, tt.args...)})
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestLoad_FileValueErrorNamesKeyAndFile(t *testing.T) {
	clearEnv(t)
	p := writeFile(t, "dynkv.yaml", "durability: fast\n")
	_, err := Load(Source{File: p})
	require.ErrorContains(t, err, `durability: "fast" is not one of none, process, fsync (from config file `+p+`)`)
	var ke *KeyError
	require.True(t, errors.As(err, &ke))
	require.Equal(t, "durability", ke.Key)

	p = writeFile(t, "list.yaml", "listen: [a, b]\n")
	_, err = Load(Source{File: p})
	require.ErrorContains(t, err, "listen: must be a single value")
}

func TestLoad_UnknownFileKeys(t *testing.T) {
	clearEnv(t)
	p := writeFile(t, "dynkv.yaml", "listen: 127.0.0.1:7000\nbogus: 1\ndata:\n  dirr: x\n")
	_, err := Load(Source{File: p})
	require.ErrorIs(t, err, ErrUnknownKey)
	require.ErrorContains(t, err, `unknown key "bogus", "data.dirr"`)
}

func TestLoad_FileFormats(t *testing.T) {
	tests := []struct {
		name, file, content string
	}{
		{name: "yaml nested", file: "a.yaml", content: "node:\n  id: n1\ndata:\n  dir: d1\nmax-value-size: 1MiB\nn: 1\nr: 1\nw: 1\ntimeout: 2s\n"},
		{name: "yml dotted keys", file: "a.yml", content: "node.id: n1\ndata.dir: d1\nmax-value-size: 1048576\nn: 1\nr: 1\nw: 1\ntimeout: 2s\n"},
		{name: "toml", file: "a.toml", content: "max-value-size = \"1mb\"\nn = 1\nr = 1\nw = 1\ntimeout = \"2s\"\n[node]\nid = \"n1\"\n[data]\ndir = \"d1\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			c, err := Load(Source{File: writeFile(t, tt.file, tt.content)})
			require.NoError(t, err)
			require.Equal(t, "n1", c.Node.ID)
			require.Equal(t, "d1", c.Replica.Dir)
			require.Equal(t, int64(1<<20), c.Resp.MaxValueSize)
			require.Equal(t, 1, c.Coordinator.N)
			require.Equal(t, 2*time.Second, c.Coordinator.Timeout)
		})
	}
}

func TestLoad_FileErrors(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	_, err := Load(Source{File: filepath.Join(dir, "missing.yaml")})
	require.ErrorContains(t, err, "config file")
	require.ErrorContains(t, err, "missing.yaml")

	_, err = Load(Source{File: writeFile(t, "dynkv.ini", "listen=x\n")})
	require.ErrorContains(t, err, `unsupported extension ".ini"`)

	_, err = Load(Source{File: writeFile(t, "bad.yaml", "listen: [\n")})
	require.ErrorContains(t, err, "bad.yaml")
}

func TestRegisterFlags_ShowsDefaultsAndEnv(t *testing.T) {
	fs := flags(t)
	f := fs.Lookup("max-value-size")
	require.NotNil(t, f)
	require.Equal(t, "64mb", f.DefValue)
	require.Contains(t, f.Usage, "DYNKV_MAX_VALUE_SIZE")
	require.Contains(t, fs.FlagUsages(), "--maxclients integer")

	clearEnv(t)
	t.Setenv("DYNKV_REQUIREPASS", "s3cret")
	fs = flags(t)
	require.Empty(t, fs.Lookup("requirepass").DefValue, "secrets are never shown")
}

// TestLoad_StorageMemory: storage memory makes durability none unless
// durability is given, and refuses a durability or a DW it cannot keep.
func TestLoad_StorageMemory(t *testing.T) {
	clearEnv(t)
	c, err := Load(Source{Flags: flags(t, "--storage=memory")})
	require.NoError(t, err)
	require.Equal(t, replica.StorageMemory, c.Replica.Storage)
	require.Equal(t, replica.DurabilityNone, c.Replica.Durability)

	_, err = Load(Source{Flags: flags(t, "--storage=memory", "--durability=process")})
	require.ErrorContains(t, err, "durability: process cannot hold with storage memory")
	_, err = Load(Source{Flags: flags(t, "--storage=memory", "--dw=1")})
	require.ErrorContains(t, err, "dw: 1 cannot hold with storage memory")
	_, err = Load(Source{Flags: flags(t, "--storage=tape")})
	require.ErrorContains(t, err, `"tape" is not one of pebble, memory`)

	c, err = Load(Source{Flags: flags(t)})
	require.NoError(t, err)
	require.Equal(t, replica.StoragePebble, c.Replica.Storage)
	require.Equal(t, replica.DurabilityProcess, c.Replica.Durability)
}
