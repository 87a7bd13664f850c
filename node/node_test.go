package node

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/conf"
	"github.com/dynkv/dynkv/peer"
	"github.com/dynkv/dynkv/resp"
	"github.com/dynkv/dynkv/ring"
)

// testConfig is a one-node configuration on loopback with every port 0,
// no cluster.secret, and the data in a temporary directory.
func testConfig(t *testing.T) conf.Config {
	return secretTestConfig(t, filepath.Join(t.TempDir(), "data"))
}

func TestNode_ServesAndCloses(t *testing.T) {
	n, err := New(testConfig(t), nil)
	require.NoError(t, err)
	n.Start()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: n.Addr().String(), Protocol: 2})
	defer rdb.Close()
	require.NoError(t, rdb.Set(ctx, "k", "v", 0).Err())
	got, err := rdb.Get(ctx, "k").Result()
	require.NoError(t, err)
	require.Equal(t, "v", got)

	require.NoError(t, n.Close(ctx))
	select {
	case <-n.Done():
	default:
		t.Fatal("Done is not closed after Close")
	}
	require.ErrorIs(t, n.Close(ctx), ErrClosed, "Close is idempotent")
}

func TestBuild_RefusesInconsistentDeps(t *testing.T) {
	for _, tc := range []struct {
		name string
		deps Deps
	}{
		{"membership without transport", Deps{Membership: fakeMembership{}}},
		{"transport without register", Deps{Membership: fakeMembership{}, Transport: fakeTransport{}}},
		{"standalone with a cluster", Deps{Standalone: true, Membership: fakeMembership{}, Transport: fakeTransport{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			_, err := Build(cfg, tc.deps, nil)
			require.ErrorContains(t, err, "node: deps")
			require.NoDirExists(t, cfg.Replica.Dir, "nothing was opened")
		})
	}
}

// fakeMembership and fakeTransport only fill Deps: Build refuses them
// before it uses them.
type (
	fakeMembership struct{}
	fakeTransport  struct{}
)

func (fakeMembership) Self() string         { return "x" }
func (fakeMembership) Ring() *ring.Ring     { return nil }
func (fakeMembership) Alive(string) bool    { return false }
func (fakeMembership) Ready(uint64, uint64) {}
func (fakeMembership) Drained()             {}
func (fakeTransport) Call(context.Context, string, []byte) ([]byte, error) {
	return nil, peer.ErrUnreachable
}

func TestNew_BadTLSFilesOpenNothing(t *testing.T) {
	cfg := testConfig(t)
	cfg.Resp.TLS = resp.TLSConfig{Port: 6390, CertFile: "nope.pem", KeyFile: "nope-key.pem", AuthClients: resp.TLSAuthNo}
	_, err := New(cfg, nil)
	require.ErrorContains(t, err, "resp: tls-cert-file, tls-key-file:")
	require.NoDirExists(t, cfg.Replica.Dir, "nothing was opened")
}

// TestNode_ActiveExpiry: a node reclaims expired keys in the background,
// by its clock, without anyone reading them; Close stops the loop.
func TestNode_ActiveExpiry(t *testing.T) {
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	n, err := Build(testConfig(t), Deps{Now: now}, nil)
	require.NoError(t, err)
	n.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	defer func() { require.NoError(t, n.Close(ctx)) }()
	rdb := redis.NewClient(&redis.Options{Addr: n.Addr().String(), Protocol: 2})
	defer rdb.Close()
	for _, k := range []string{"a", "b", "c"} {
		require.NoError(t, rdb.Set(ctx, k, "v", time.Hour).Err())
	}
	require.NoError(t, rdb.Set(ctx, "kept", "v", 0).Err())
	require.Zero(t, n.store.Stats().ExpiredReclaimed)
	skew.Store(int64(time.Hour + time.Second))
	// The loop runs on a 100ms timer: wait for what it does, with a deadline.
	require.Eventually(t, func() bool { return n.store.Stats().ExpiredReclaimed == 3 }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, int64(1), n.store.Stats().Keys, "only kept is live")
	require.Equal(t, "v", rdb.Get(ctx, "kept").Val())
}
