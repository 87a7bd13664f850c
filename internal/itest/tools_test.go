package itest

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// redisCLI runs redis-cli against n with args, feeding it stdin, and
// returns its standard output. redis-cli writes raw replies when its output
// is not a terminal: one line per bulk string or integer, an empty line for
// nil, arrays flattened.
func redisCLI(t *testing.T, cli string, n *node, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), exitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, append([]string{"-h", "127.0.0.1", "-p", n.port}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(t, cmd.Run(), "redis-cli %v: stderr:\n%s", args, errb.String())
	return out.String()
}

func TestRedisCLI_Args(t *testing.T) {
	cli := requireTool(t, "redis-cli")
	n := startNode(t, t.TempDir())

	tests := []struct {
		args []string
		want string
		trim bool // compare without surrounding white space (error replies)
	}{
		{[]string{"PING"}, "PONG\n", false},
		{[]string{"SET", "greeting", "hello world"}, "OK\n", false},
		{[]string{"GET", "greeting"}, "hello world\n", false},
		{[]string{"EXISTS", "greeting", "missing"}, "1\n", false},
		{[]string{"GET", "missing"}, "\n", false},
		{[]string{"MSET", "a", "1", "b", "2"}, "OK\n", false},
		{[]string{"MGET", "a", "missing", "b"}, "1\n\n2\n", false},
		{[]string{"DEL", "greeting", "a", "missing"}, "2\n", false},
		{[]string{"GET", "greeting"}, "\n", false},
		{[]string{"DPUT", "cart", "garbage", "x"}, "ERR invalid context", true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got := redisCLI(t, cli, n, "", tt.args...)
			if tt.trim {
				got = strings.TrimSpace(got)
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestRedisCLI_Stdin(t *testing.T) {
	cli := requireTool(t, "redis-cli")
	n := startNode(t, t.TempDir())
	script := "SET a 1\nGET a\nMSET b 2 c 3\nMGET a b c\nDEL a b c\nGET a\n"
	require.Equal(t, "OK\n1\nOK\n1\n2\n3\n3\n\n", redisCLI(t, cli, n, script))
}

// TestRedisCLI_Siblings runs the DGET/DPUT example of docs/design.md from the
// shell, passing contexts as printed.
func TestRedisCLI_Siblings(t *testing.T) {
	cli := requireTool(t, "redis-cli")
	n := startNode(t, t.TempDir())
	contextLine := regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

	// DGET of a missing key prints its context and an empty line for the
	// empty array of values.
	ctx0 := strings.TrimRight(redisCLI(t, cli, n, "", "DGET", "cart:42"), "\n")
	require.Regexp(t, contextLine, ctx0)

	require.Equal(t, "OK\n", redisCLI(t, cli, n, "", "DPUT", "cart:42", ctx0, "apple"))
	require.Equal(t, "OK\n", redisCLI(t, cli, n, "", "DPUT", "cart:42", ctx0, "pear"))

	lines := strings.Split(strings.TrimRight(redisCLI(t, cli, n, "", "DGET", "cart:42"), "\n"), "\n")
	require.Len(t, lines, 3, "context, then the two siblings")
	require.Regexp(t, contextLine, lines[0])
	require.ElementsMatch(t, []string{"apple", "pear"}, lines[1:])

	require.Equal(t, "OK\n", redisCLI(t, cli, n, "", "DPUT", "cart:42", lines[0], "apple,pear"))
	lines = strings.Split(strings.TrimRight(redisCLI(t, cli, n, "", "DGET", "cart:42"), "\n"), "\n")
	require.Equal(t, []string{"apple,pear"}, lines[1:])
	require.Equal(t, "apple,pear\n", redisCLI(t, cli, n, "", "GET", "cart:42"))
}

func TestRedisBenchmark(t *testing.T) {
	bench := requireTool(t, "redis-benchmark")
	n := startNode(t, t.TempDir())

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bench, "-h", "127.0.0.1", "-p", n.port, "-t", "set,get", "-n", "2000", "-q")
	out, err := cmd.CombinedOutput()
	text := string(out)
	t.Logf("redis-benchmark:\n%s", lastLines(text))
	require.NoError(t, err, "redis-benchmark failed:\n%s", text)
	require.Regexp(t, `SET: [0-9.]+ requests per second`, text)
	require.Regexp(t, `GET: [0-9.]+ requests per second`, text)
	require.NotContains(t, text, "ERR")
	require.NotContains(t, strings.ToLower(text), "error")
}

// lastLines drops the progress lines redis-benchmark overwrites with \r.
func lastLines(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if i := strings.LastIndexByte(l, '\r'); i >= 0 {
			l = l[i+1:]
		}
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestRedisCLI_RESP3: redis-cli -3 (HELLO 3 first) talks to dynkv in RESP3:
// its nulls, maps and verbatim INFO print as against redis-server.
func TestRedisCLI_RESP3(t *testing.T) {
	cli := requireTool(t, "redis-cli")
	n := startNode(t, t.TempDir())
	require.Equal(t, "OK\n", redisCLI(t, cli, n, "", "-3", "SET", "k", "v"))
	require.Equal(t, "v\n", redisCLI(t, cli, n, "", "-3", "GET", "k"))
	require.Equal(t, "\n", redisCLI(t, cli, n, "", "-3", "GET", "missing"), "RESP3's null")
	require.Equal(t, "maxclients 10000\n", redisCLI(t, cli, n, "", "-3", "CONFIG", "GET", "maxclients"), "a map: redis-cli prints key and value on one line")
	require.Contains(t, redisCLI(t, cli, n, "", "-3", "INFO", "server"), "redis_version:", "verbatim text")
	hello := redisCLI(t, cli, n, "", "-3", "HELLO", "3")
	require.Contains(t, hello, "proto 3\n")
}

// TestRedisCLI_ClusterMode: redis-cli -c against a three-node cluster sets
// and reads keys through any node (no redirection is needed: every node
// serves every key) and reads the topology.
func TestRedisCLI_ClusterMode(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test skipped in -short mode")
	}
	cli := requireTool(t, "redis-cli")
	_, procs := startCluster(t, testContext(t), 3)
	for i, p := range procs {
		key := fmt.Sprintf("cli:{%d}", i)
		require.Equal(t, "OK\n", redisCLI(t, cli, p, "", "-c", "SET", key, "v"+key))
		require.Equal(t, "v"+key+"\n", redisCLI(t, cli, procs[(i+1)%3], "", "-c", "GET", key))
	}
	slots := redisCLI(t, cli, procs[0], "", "-c", "CLUSTER", "SLOTS")
	require.Contains(t, slots, "16383\n", "the last range ends at slot 16383")
	require.Equal(t, "1\n", redisCLI(t, cli, procs[1], "", "-c", "EXISTS", "cli:{0}"))
}
