package itest

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/internal/launch"
)

// syncBuffer collects a process's output for the test's log.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// devPorts returns the first client port and the first gossip port of a
// 3-node `dynkv dev`: client ports p..p+2 and peer ports p+10000.. free.
func devPorts(t *testing.T) (client, gossip int) {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	for try := uint64(0); try < 50; try++ {
		base, err := launch.FreeRange(seed+try, 3)
		require.NoError(t, err)
		free := true
		for p := base + 10000; p < base+10003; p++ {
			ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				free = false
				break
			}
			_ = ln.Close()
		}
		if !free {
			continue
		}
		g, err := launch.FreeRange(seed+try+1000, 3)
		require.NoError(t, err)
		if g+3 <= base || g >= base+3 {
			return base, g
		}
	}
	t.Fatal("no free ports for dynkv dev")
	return 0, 0
}

// TestDev_RedisCLIKeyspace runs a 3-node `dynkv dev` and the redis-cli
// tools that walk the key space: --scan (with and without --pattern) from
// every node returns every key once, --bigkeys finds the biggest string,
// and FLUSHALL from one node empties the cluster (DBSIZE 0 and an empty
// --scan from the others).
func TestDev_RedisCLIKeyspace(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-node test skipped in -short mode")
	}
	cli := requireTool(t, "redis-cli")
	ctx := testContext(t)
	port, gossip := devPorts(t)
	out := &syncBuffer{}
	p, err := launch.Start(launch.Config{Name: "dynkv-dev", Binary: binary, Output: out,
		Args: []string{"dev", "--port", strconv.Itoa(port), "--gossip-port", strconv.Itoa(gossip), "--dir", t.TempDir()}})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = p.Kill(ctx)
		if t.Failed() {
			t.Logf("dynkv dev output:\n%s", out.String())
		}
	})
	nodes := make([]*node, 3)
	for i := range nodes {
		nodes[i] = &node{t: t, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port+i)), port: strconv.Itoa(port + i)}
		rdb := nodes[i].client()
		waitFor(t, 30*time.Second, fmt.Sprintf("node %d sees three replicas", i+1), func() bool {
			require.False(t, p.Exited(), "dynkv dev exited")
			return infoField(ctx, rdb, "dynkv_replicas") == "3" && infoField(ctx, rdb, "members_alive") == "3"
		})
	}

	rdb := nodes[0].client()
	var keys []string
	for i := range 300 {
		k := fmt.Sprintf("key:%d", i)
		require.NoError(t, rdb.Set(ctx, k, strings.Repeat("v", i%17), 0).Err())
		keys = append(keys, k)
	}
	require.NoError(t, rdb.Set(ctx, "the-biggest", strings.Repeat("x", 5000), 0).Err())
	keys = append(keys, "the-biggest")
	slices.Sort(keys)

	lines := func(s string) []string {
		f := strings.Fields(s)
		slices.Sort(f)
		return f
	}
	for _, n := range nodes {
		require.Equal(t, keys, lines(redisCLI(t, cli, n, "", "--scan")), "redis-cli --scan from %s", n.addr)
	}
	var want []string
	for _, k := range keys {
		if strings.HasPrefix(k, "key:1") {
			want = append(want, k)
		}
	}
	require.Equal(t, want, lines(redisCLI(t, cli, nodes[1], "", "--scan", "--pattern", "key:1*")))
	require.Equal(t, strconv.Itoa(len(keys))+"\n", redisCLI(t, cli, nodes[2], "", "DBSIZE"))

	big := redisCLI(t, cli, nodes[2], "", "--bigkeys")
	require.Contains(t, big, `Biggest string found '"the-biggest"' has 5000 bytes`, big)
	require.Contains(t, big, fmt.Sprintf("%d keys", len(keys)), big)

	require.Equal(t, "OK\n", redisCLI(t, cli, nodes[1], "", "FLUSHALL"))
	for _, n := range nodes {
		require.Equal(t, "0\n", redisCLI(t, cli, n, "", "DBSIZE"))
		require.Empty(t, strings.TrimSpace(redisCLI(t, cli, n, "", "--scan")))
	}
	require.ErrorIs(t, rdb.Get(ctx, "key:7").Err(), redis.Nil)
	require.NoError(t, rdb.Set(ctx, "after", "1", 0).Err())
	require.Equal(t, "after\n", redisCLI(t, cli, nodes[2], "", "--scan"))
}
