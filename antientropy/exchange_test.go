package antientropy_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/antientropy"
	"github.com/dynkv/dynkv/internal/memnet"
	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/peer"
	"github.com/dynkv/dynkv/replica"
	"github.com/dynkv/dynkv/ring"
	"github.com/dynkv/dynkv/version"
)

// pair is two replicas of one partition (Q=1, N=2), a and b, with a's
// syncer.
type pair struct {
	a, b *replica.Store
	ae   *antientropy.Syncer
	data int64 // bytes of the records a holds
	view pairView
	tr   peer.Transport // a's
}

type pairView struct {
	r    *ring.Ring
	self string
}

func (v pairView) Self() string         { return v.self }
func (v pairView) Ring() *ring.Ring     { return v.r }
func (v pairView) Alive(id string) bool { return true }

// newPair loads n keys into both replicas, then diff more keys into a only
// and diff of the shared keys rewritten on b only.
func newPair(tb testing.TB, n, diff int, wrap ...func(peer.Transport) peer.Transport) *pair {
	tb.Helper()
	ctx := context.Background()
	open := func() *replica.Store {
		s, err := replica.Open(replica.Config{Dir: "db", FS: vfs.NewMem(), Durability: replica.DurabilityNone})
		require.NoError(tb, err)
		tb.Cleanup(func() { _ = s.Close() })
		return s
	}
	p := &pair{a: open(), b: open()}
	for i := range n {
		k := fmt.Appendf(nil, "user:%d:profile", i)
		ss := version.Update(nil, 1, nil, int64(i), fmt.Appendf(nil, "value-%032d", i), false)
		for _, s := range []*replica.Store{p.a, p.b} {
			_, err := s.Merge(ctx, k, ss)
			require.NoError(tb, err)
		}
		p.data += int64(len(k) + len(version.EncodeRecord(ss)))
	}
	for i := range diff / 2 {
		k := fmt.Appendf(nil, "only-a:%d", i)
		_, err := p.a.Merge(ctx, k, version.Update(nil, 1, nil, 1, []byte("a"), false))
		require.NoError(tb, err)
		k = fmt.Appendf(nil, "user:%d:profile", i*(n/(diff/2+1)))
		cur, err := p.b.Get(ctx, k)
		require.NoError(tb, err)
		_, err = p.b.Merge(ctx, k, version.Update(cur, 2, cur.Context(), 2, []byte("b"), false))
		require.NoError(tb, err)
	}
	r, err := ring.New(1, ring.Node{ID: "a", Weight: 1}, ring.Node{ID: "b", Weight: 1})
	require.NoError(tb, err)
	net := memnet.New()
	net.Register("b", peer.NewMux(p.b).Serve)
	cfg := antientropy.DefaultConfig()
	cfg.N, cfg.Rate = 2, 0
	var tr peer.Transport = net.Transport("a")
	for _, w := range wrap {
		tr = w(tr)
	}
	p.view, p.tr = pairView{r: r, self: "a"}, tr
	p.ae, err = antientropy.New(cfg, p.a, p.view, tr, nil, nil)
	require.NoError(tb, err)
	return p
}

func root(tb testing.TB, s *replica.Store) uint64 {
	h, err := s.TreeNodes(context.Background(), 0, merkle.Leaves, merkle.Leaves, []int{0})
	require.NoError(tb, err)
	return h[0]
}

// TestExchange_CostIsProportionalToDifference: two replicas of 20,000 keys
// differing in 20 converge in one exchange that moves a small fraction of
// the data, and a second exchange finds nothing and moves next to nothing.
func TestExchange_CostIsProportionalToDifference(t *testing.T) {
	p := newPair(t, 20_000, 20)
	require.NotEqual(t, root(t, p.a), root(t, p.b))
	res, err := p.ae.Exchange(context.Background(), 0, "b")
	require.NoError(t, err)
	require.Equal(t, 20, res.Repaired)
	require.Equal(t, root(t, p.a), root(t, p.b))
	st := p.ae.Stats()
	moved := st.BytesSent + st.BytesReceived
	t.Logf("data %d bytes; exchange moved %d bytes (%.2f%%), compared %d keys in %d leaves", p.data, moved,
		100*float64(moved)/float64(p.data), res.Compared, res.Leaves)
	require.Less(t, moved, p.data/20, "an exchange of 20 differences moved more than 5% of the data")

	res, err = p.ae.Exchange(context.Background(), 0, "b")
	require.NoError(t, err)
	require.Zero(t, res.Repaired)
	again := p.ae.Stats().BytesSent + p.ae.Stats().BytesReceived - moved
	require.Less(t, again, int64(100), "replicas in sync: one root comparison")
}

// smallFrames is a transport whose frames hold the keys of at most max
// leaves: an OpLeafKeys request for more fails as a frame too large would.
type smallFrames struct {
	peer.Transport
	max int
}

func (s smallFrames) Call(ctx context.Context, node string, req []byte) ([]byte, error) {
	if r, err := peer.DecodeRequest(req); err == nil && r.Op == peer.OpLeafKeys && len(r.Nodes) > s.max {
		return nil, fmt.Errorf("peer: call %s: response: %w", node, peer.ErrFrameTooLarge)
	}
	return s.Transport.Call(ctx, node, req)
}

// TestExchange_LeafKeysTooLargeForAFrame: when the keys of the leaves
// asked for do not fit a peer frame, the exchange asks for fewer leaves at
// a time, and still converges.
func TestExchange_LeafKeysTooLargeForAFrame(t *testing.T) {
	p := newPair(t, 20_000, 20, func(tr peer.Transport) peer.Transport { return smallFrames{tr, 3} })
	res, err := p.ae.Exchange(context.Background(), 0, "b")
	require.NoError(t, err)
	require.Equal(t, 20, res.Repaired)
	require.Equal(t, root(t, p.a), root(t, p.b))
}

// BenchmarkExchange_1MKeys100Diff: two replicas of 1,000,000 keys
// differing in 100. Reports the bytes one exchange moves and its time.
//
//	go test ./antientropy -run XXX -bench Exchange_1M -benchtime 1x
func BenchmarkExchange_1MKeys100Diff(b *testing.B) {
	load := time.Now()
	p := newPair(b, 1_000_000, 100)
	b.Logf("loaded 2 x 1,000,000 keys (%d MB of records each) in %s", p.data>>20, time.Since(load).Round(time.Second))
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		before := p.ae.Stats()
		// Undo the previous iteration's repair on b: rewrite the same keys.
		if before.Exchanges > 0 {
			b.Fatal("run with -benchtime 1x: an exchange repairs the difference for good")
		}
		b.StartTimer()
		start := time.Now()
		res, err := p.ae.Exchange(context.Background(), 0, "b")
		elapsed := time.Since(start)
		require.NoError(b, err)
		require.Equal(b, 100, res.Repaired)
		st := p.ae.Stats()
		b.ReportMetric(float64(st.BytesSent), "bytes-sent")
		b.ReportMetric(float64(st.BytesReceived), "bytes-received")
		b.ReportMetric(float64(st.BytesSent+st.BytesReceived)/float64(p.data)*100, "%-of-data")
		b.ReportMetric(float64(res.Compared), "keys-compared")
		b.ReportMetric(float64(elapsed.Milliseconds()), "ms/exchange")
	}
	require.Equal(b, root(b, p.a), root(b, p.b))
}
