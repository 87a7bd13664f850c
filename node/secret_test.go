package node

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/conf"
	"github.com/dynkv/dynkv/peer"
	"github.com/dynkv/dynkv/ring"
)

// secretTestConfig is a one-node configuration on loopback, every port 0,
// with no cluster.secret.
func secretTestConfig(t *testing.T, dir string) conf.Config {
	cfg := conf.DefaultConfig()
	cfg.Node.ID = "test"
	cfg.Replica.Dir = dir
	cfg.Resp.Listen = "127.0.0.1:0"
	cfg.Gossip.Listen = "127.0.0.1:0"
	return cfg
}

// callAs calls node's store over a new TCP transport that proves secret.
func callAs(t *testing.T, n *Node, secret string) error {
	t.Helper()
	tcfg := peer.DefaultConfig()
	tcfg.Listen, tcfg.Secret, tcfg.DialTimeout = "127.0.0.1:0", secret, 2*time.Second
	addr := n.PeerAddr().String()
	tr, err := peer.NewTCP(tcfg, "outsider", func(string) (string, bool) { return addr, true },
		func(context.Context, []byte) []byte { return nil })
	require.NoError(t, err)
	defer tr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = peer.NewClient(tr, n.cfg.Node.ID).Get(ctx, []byte("k"), "")
	return err
}

// TestNode_GeneratesClusterSecret: a node started without cluster.secret
// draws one, keeps it in its data directory across restarts, and its peer
// port refuses a peer that does not prove it (the empty secret anyone
// could compute), while one that has it is served.
func TestNode_GeneratesClusterSecret(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ctx := context.Background()
	open := func() (*Node, string) {
		n, err := New(secretTestConfig(t, dir), nil)
		require.NoError(t, err)
		saved, err := n.store.GetMeta(ctx, metaSecret)
		require.NoError(t, err)
		require.Len(t, saved, 64, "32 random bytes, hex")
		require.Equal(t, string(saved), n.cfg.Peer.Secret, "the transport proves the kept secret")
		require.Equal(t, string(saved), n.cfg.Gossip.Secret, "gossip is keyed by it")
		return n, string(saved)
	}
	n, secret := open()
	require.ErrorIs(t, callAs(t, n, ""), peer.ErrPeerAuth, "an outsider with the empty secret gets nothing")
	require.ErrorIs(t, callAs(t, n, "guess"), peer.ErrPeerAuth)
	require.NoError(t, callAs(t, n, secret))
	require.NoError(t, n.Close(ctx))

	n, again := open()
	require.Equal(t, secret, again, "the data directory keeps its secret")
	require.NoError(t, n.Close(ctx))

	other, err := New(secretTestConfig(t, filepath.Join(t.TempDir(), "other")), nil)
	require.NoError(t, err)
	require.NotEqual(t, secret, other.cfg.Peer.Secret, "each data directory draws its own")
	require.NoError(t, other.Close(ctx))
}

// TestNode_ConfiguredSecretWins: a configured cluster.secret is used as it
// is and nothing is generated.
func TestNode_ConfiguredSecretWins(t *testing.T) {
	cfg := secretTestConfig(t, filepath.Join(t.TempDir(), "data"))
	cfg.Peer.Secret, cfg.Gossip.Secret = "shared", "shared"
	n, err := New(cfg, nil)
	require.NoError(t, err)
	defer n.Close(context.Background())
	saved, err := n.store.GetMeta(context.Background(), metaSecret)
	require.NoError(t, err)
	require.Empty(t, saved)
	require.NoError(t, callAs(t, n, "shared"))
	require.ErrorIs(t, callAs(t, n, ""), peer.ErrPeerAuth)
}

// TestNode_SeedsNeedSecret: a node told to join through seeds without the
// cluster.s secret refuses to start, saying what to set.
func TestNode_SeedsNeedSecret(t *testing.T) {
	cfg := secretTestConfig(t, filepath.Join(t.TempDir(), "data"))
	cfg.Gossip.Seeds = []string{"127.0.0.1:1"}
	_, err := New(cfg, nil)
	require.ErrorIs(t, err, ErrNoSecret)
	require.ErrorContains(t, err, "set cluster.secret (DYNKV_CLUSTER_SECRET) to the same value on every node")
}

// TestNode_OutsiderCannotJoin is the probe of issue 12: a node started
// with seeds pointing at a node with no configured secret, and a secret
// of its own, neither joins its ring nor reaches its data.
func TestNode_OutsiderCannotJoin(t *testing.T) {
	ctx := context.Background()
	a, err := New(secretTestConfig(t, filepath.Join(t.TempDir(), "a")), nil)
	require.NoError(t, err)
	defer a.Close(ctx)

	cfg := secretTestConfig(t, filepath.Join(t.TempDir(), "b"))
	cfg.Node.ID = "outsider"
	cfg.Gossip.Seeds = []string{a.members.Addr()}
	cfg.Peer.Secret, cfg.Gossip.Secret = "a-guess", "a-guess"
	_, err = New(cfg, nil)
	require.ErrorIs(t, err, ring.ErrNoSeed, "the outsider's gossip is refused")

	// An outsider that bypasses the check and gossips with the empty
	// secret (as every node did before the secret was drawn) is refused
	// too.
	g := ring.DefaultGossipConfig()
	g.NodeID, g.Listen, g.Local, g.Seeds = "stranger", "127.0.0.1:0", true, []string{a.members.Addr()}
	_, err = ring.Join(g, nil, nil)
	require.ErrorIs(t, err, ring.ErrNoSeed)

	require.Len(t, a.members.Members(), 1, "the node's ring has only itself")
	require.ErrorIs(t, callAs(t, a, "a-guess"), peer.ErrPeerAuth)
	require.ErrorIs(t, callAs(t, a, ""), peer.ErrPeerAuth)
}

// TestNode_ContextsAcrossNodes: a context one node hands out is accepted
// by another node of the cluster (both derive the context key from the
// cluster secret), and refused by a node of another secret as stale.
func TestNode_ContextsAcrossNodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := func(id, secret string, seeds []string) *Node {
		return startMember(t, id, filepath.Join(t.TempDir(), id), seeds, secret, nil)
	}
	do := func(n *Node, args ...any) (any, error) { return doRESP2(ctx, n, args...) }
	a := start("a", "shared", nil)
	b := start("b", "shared", []string{a.members.Addr()})
	loner := start("loner", "another", nil)

	reply, err := do(a, "DGET", "cart:1")
	require.NoError(t, err)
	c := reply.([]any)[0].(string)
	_, err = do(b, "DPUT", "cart:1", c, "apple")
	require.NoError(t, err, "b accepts a's context")
	_, err = do(loner, "DPUT", "cart:1", c, "apple")
	require.ErrorContains(t, err, "stale context")
}

// TestNode_RotatingSecret: a node given cluster.accepted-secret (a
// rotation's middle step) serves peers proving either secret, and accepts
// the contexts a node of the other secret hands out; a stranger gets
// nothing.
func TestNode_RotatingSecret(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := func(id, secret, accepted string) *Node {
		return startMember(t, id, filepath.Join(t.TempDir(), id), nil, secret, func(cfg *conf.Config) {
			cfg.Peer.AcceptedSecret, cfg.Gossip.AcceptedSecret = accepted, accepted
		})
	}
	do := func(n *Node, args ...any) (any, error) { return doRESP2(ctx, n, args...) }
	old := start("old", "old-secret", "")
	rotating := start("rotating", "new-secret", "old-secret")
	require.NoError(t, callAs(t, rotating, "new-secret"))
	require.NoError(t, callAs(t, rotating, "old-secret"))
	require.ErrorIs(t, callAs(t, rotating, "guess"), peer.ErrPeerAuth)

	reply, err := do(old, "DGET", "cart:1")
	require.NoError(t, err)
	_, err = do(rotating, "DPUT", "cart:1", reply.([]any)[0].(string), "apple")
	require.NoError(t, err, "a context of the accepted secret")
}

// startMember starts node id with its data in dir, joining seeds, with
// cluster secret secret; adjust, when not nil, changes its configuration
// first. It is closed at the end of the test.
func startMember(t *testing.T, id, dir string, seeds []string, secret string, adjust func(*conf.Config)) *Node {
	t.Helper()
	cfg := secretTestConfig(t, dir)
	cfg.Node.ID, cfg.Gossip.Seeds = id, seeds
	cfg.Peer.Secret, cfg.Gossip.Secret = secret, secret
	if adjust != nil {
		adjust(&cfg)
	}
	require.NoError(t, cfg.Validate())
	n, err := New(cfg, nil)
	require.NoError(t, err)
	n.Start()
	t.Cleanup(func() { _ = n.Close(context.Background()) })
	return n
}

// startShared starts node id (a fresh data directory) of the cluster of
// secret "shared", joining seeds.
func startShared(t *testing.T, id string, seeds []string) *Node {
	t.Helper()
	return startMember(t, id, filepath.Join(t.TempDir(), id), seeds, "shared", nil)
}

// clientOf returns a go-redis client of n with its default options, closed
// at the end of the test.
func clientOf(t *testing.T, n *Node) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: n.Addr().String()})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// doRESP2 runs one command on n over a new RESP2 connection.
func doRESP2(ctx context.Context, n *Node, args ...any) (any, error) {
	rdb := redis.NewClient(&redis.Options{Addr: n.Addr().String(), Protocol: 2})
	defer rdb.Close()
	return rdb.Do(ctx, args...).Result()
}
