package itest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/internal/launch"
)

// clusterNode is the fixed addresses of one node of a test cluster, so
// that it can be restarted where the others expect it.
type clusterNode struct {
	id, dir              string
	client, peer, gossip string
}

func (c clusterNode) args(seed string, extra ...string) []string {
	args := []string{"--node.id", c.id, "--listen", c.client, "--peer.listen", c.peer,
		"--gossip.listen", c.gossip, "--handoff-interval", "100ms", "--timeout", "2s",
		"--cluster.secret", "itest-secret"} // one secret for the test's cluster
	if seed != "" {
		args = append(args, "--seeds", seed)
	}
	return append(args, extra...)
}

// infoField returns one field of INFO from rdb, or "".
func infoField(ctx context.Context, rdb *redis.Client, field string) string {
	s, err := rdb.Info(ctx, "everything").Result()
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(s, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	return ""
}

// startCluster starts size dynkv processes (N=3, R=2, W=2) as one cluster
// on ports below the ephemeral range (a killed node's ports are still free
// when it restarts) and waits until every node sees every member alive and
// the ring's replicas. The processes are killed in t.Cleanup.
func startCluster(t *testing.T, ctx context.Context, size int) ([]clusterNode, []*node) {
	t.Helper()
	base, err := launch.FreeRange(uint64(time.Now().UnixNano()), 3*size)
	require.NoError(t, err)
	port := func(i int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(base+i)) }
	var nodes []clusterNode
	for i := 1; i <= size; i++ {
		nodes = append(nodes, clusterNode{id: fmt.Sprintf("n%d", i), dir: t.TempDir(),
			client: port(3*i - 3), peer: port(3*i - 2), gossip: port(3*i - 1)})
	}
	seed := nodes[0].gossip
	procs := []*node{startNode(t, nodes[0].dir, nodes[0].args("")...)}
	for _, n := range nodes[1:] {
		procs = append(procs, startNode(t, n.dir, n.args(seed)...))
	}
	replicas, members := strconv.Itoa(min(size, 3)), strconv.Itoa(size)
	for i, p := range procs {
		rdb := p.client()
		waitFor(t, 30*time.Second, nodes[i].id+" sees "+members+" members", func() bool {
			return infoField(ctx, rdb, "dynkv_replicas") == replicas && infoField(ctx, rdb, "members_alive") == members && infoField(ctx, rdb, "dynkv_cluster") == "1"
		})
	}
	return nodes, procs
}

// TestCluster_KillOneNodeDuringWrites runs three real dynkv processes
// (N=3, R=2, W=2), kills one with SIGKILL during writes, and checks that
// writes keep succeeding, that the node gets every write it missed from
// hints once it is back, and that every acknowledged write is readable from
// every node, and from the restarted node alone.
func TestCluster_KillOneNodeDuringWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test skipped in -short mode")
	}
	ctx := testContext(t)
	nodes, procs := startCluster(t, ctx, 3)
	seed := nodes[0].gossip

	load := startWriteLoad(t, procs[0].addr, 8)
	waitFor(t, time.Minute, "500 acknowledged writes", func() bool { return load.acked.Load() >= 500 })
	procs[2].signal(syscall.SIGKILL)
	require.Equal(t, -1, procs[2].wait(exitTimeout))
	before := load.acked.Load()
	waitFor(t, time.Minute, "1000 more acknowledged writes with n3 dead", func() bool { return load.acked.Load() >= before+1000 })
	load.halt()
	keys, failed := load.result()
	require.Zero(t, failed, "writes must keep succeeding at W=2 with one of three nodes down")
	t.Logf("%d writes acknowledged, %d after n3 was killed", len(keys), int64(len(keys))-before)

	procs[2] = startNode(t, nodes[2].dir, nodes[2].args(seed)...)
	for i, p := range procs[:2] {
		rdb := p.client()
		waitFor(t, time.Minute, nodes[i].id+" hands off its hints", func() bool {
			return infoField(ctx, rdb, "hints_held") == "0"
		})
	}
	for _, p := range procs {
		requireAllPresent(t, p.client(), keys)
	}

	// The restarted node alone, read at R=1, must hold every write.
	for _, p := range procs[:2] {
		p.signal(syscall.SIGKILL)
		p.wait(exitTimeout)
	}
	procs[2].signal(syscall.SIGTERM)
	require.Equal(t, 0, procs[2].wait(exitTimeout))
	alone := startNode(t, nodes[2].dir, nodes[2].args(seed, "--r", "1")...)
	requireAllPresent(t, alone.client(), keys)
}
