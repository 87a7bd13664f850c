package resp

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestOracle_ScanSets: the keyspace commands whose order differs from
// Redis's, compared as sets with a real redis-server holding the same
// keys: KEYS for many glob patterns (dynkv's matcher against Redis's),
// full SCAN walks with MATCH, COUNT and TYPE (every key at least once in
// Redis, exactly once in dynkv), DBSIZE, and RANDOMKEY (a key that
// exists). Skipped without redis-server, as TestOracle.
func TestOracle_ScanSets(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed: the side-by-side tests need it (apt-get install redis-server)")
	}
	redis := dialOracle(t, startRedisServer(t, bin, []string{"--port", "0", "--save", "", "--appendonly", "no"}))
	dyn := newDefaultEnv(t).client()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, seed))
	alphabet := []byte("ab[]^-*?\\xyz:{}")
	var keys []string
	for i := range 300 {
		k := fmt.Sprintf("user:%d", i)
		if i%3 == 0 {
			b := make([]byte, 1+r.IntN(6))
			for j := range b {
				b[j] = alphabet[r.IntN(len(alphabet))]
			}
			k = string(b)
		}
		keys = append(keys, k)
		both(t, redis, dyn, "SET", k, "v")
	}
	require.Equal(t, doOracle(t, redis, "DBSIZE"), dyn.do("DBSIZE"))

	patterns := []string{"*", "user:*", "user:1?", "user:[1-3]*", "user:[^1]*", "*[*", "*\\**", "a*b", "[a-c]*", "*:*", "?", "??", "[", "\\", "*\\", "[]]*", "[^a-]*", "{*}", ""}
	for range 200 {
		b := make([]byte, r.IntN(5))
		for j := range b {
			b[j] = alphabet[r.IntN(len(alphabet))]
		}
		patterns = append(patterns, string(b))
	}
	for _, p := range patterns {
		want := sortedKeys(t, doOracle(t, redis, "KEYS", p))
		require.Equal(t, want, sortedKeys(t, dyn.do("KEYS", p)), "KEYS %q", p)
	}
	for _, opts := range [][]string{{}, {"COUNT", "1"}, {"COUNT", "7", "MATCH", "user:*"}, {"MATCH", "*[ab]*"}, {"TYPE", "string"}, {"TYPE", "list"}, {"COUNT", "1000", "MATCH", "user:2*"}} {
		want := scanAll(t, func(args ...string) string { return doOracle(t, redis, args...) }, opts)
		got := scanAll(t, dyn.do, opts)
		require.Equal(t, dedup(want), got, "SCAN %v", opts)
	}
	for range 20 {
		k, _ := parseReply(t, dyn.do("RANDOMKEY"))
		require.Contains(t, keys, k)
	}
}

func doOracle(t *testing.T, c *oracleConn, args ...string) string {
	t.Helper()
	reply, err := c.do(args)
	require.NoError(t, err)
	return reply
}

// both sends one command to both servers and requires the same reply.
func both(t *testing.T, redis *oracleConn, dyn *testClient, args ...string) {
	t.Helper()
	require.Equal(t, doOracle(t, redis, args...), dyn.do(args...), "%q", args)
}

// sortedKeys parses an array of keys and sorts it.
func sortedKeys(t *testing.T, raw string) []string {
	t.Helper()
	v, _ := parseReply(t, raw)
	items, ok := v.([]respValue)
	require.True(t, ok, "%q", raw)
	out := []string{}
	for _, it := range items {
		out = append(out, it.(string))
	}
	slices.Sort(out)
	return out
}

// scanAll walks SCAN with opts and returns every key returned, sorted,
// duplicates included.
func scanAll(t *testing.T, do func(args ...string) string, opts []string) []string {
	t.Helper()
	cursor := "0"
	out := []string{}
	for calls := 0; ; calls++ {
		require.Less(t, calls, 10000)
		v, _ := parseReply(t, do(append([]string{"SCAN", cursor}, opts...)...))
		reply := v.([]respValue)
		cursor = reply[0].(string)
		for _, k := range reply[1].([]respValue) {
			out = append(out, k.(string))
		}
		if cursor == "0" {
			slices.Sort(out)
			return out
		}
	}
}

func dedup(s []string) []string { return slices.Compact(slices.Clone(s)) }
