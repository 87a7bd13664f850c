package peer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/dynkv/dynkv/errdefs"
	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/replica"
	"github.com/dynkv/dynkv/version"
	"github.com/stretchr/testify/require"
)

func peerSeeds() [][]byte {
	ss := version.Update(nil, 7, nil, 1, []byte("v"), false)
	tomb := version.Update(ss, 7, ss.Context(), 2, nil, true)
	return [][]byte{
		EncodeRequest(Request{Op: OpGet, Key: []byte("k")}),
		EncodeRequest(Request{Op: OpGet, Key: []byte("k"), Hint: "node-2"}),
		EncodeRequest(Request{Op: OpMerge, Key: []byte("k"), Siblings: ss}),
		EncodeRequest(Request{Op: OpHint, Key: []byte("k"), Hint: "node-3", Siblings: ss}),
		EncodeResponse(Response{Siblings: ss}),
		EncodeResponse(Response{Err: errdefs.ErrStoreClosed}),
		{}, {1}, {1, 9}, {1, 2, 0xff, 0xff, 0xff, 0xff, 0x0f},
		{1, 5, 0, 0, 0, 16, 1, 3, 0},                        // OpTree, index beyond the range
		{1, 6, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},          // OpLeafKeys, huge count
		{1, 5, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 1, 0}, // OpTree, huge bound
		{1, 4, 1, 'k', 0},                                   // OpCollect without a record
		{1, 7, 1, 'k', 0},                                   // OpGetHint without a node
		EncodeRequest(Request{Op: OpTree, Lo: 16, Hi: 48, Span: 16, Nodes: []int{0, 1}}),
		EncodeRequest(Request{Op: OpLeafKeys, Nodes: []int{3, 4, merkle.Leaves - 1}}),
		EncodeRequest(Request{Op: OpCollect, Key: []byte("k"), Siblings: tomb}),
		EncodeRequest(Request{Op: OpGetHint, Key: []byte("k"), Hint: "node-2"}),
		EncodeResponse(Response{Hashes: []uint64{1, 2, 3}}),
		EncodeResponse(Response{Keys: []merkle.KeyHash{{Key: []byte("a"), Hash: 9}, {Key: []byte{}, Hash: 1}}}),
		EncodeResponse(Response{Keys: []merkle.KeyHash{}}),
		EncodeRequest(Request{Op: OpScan, From: 1 << 60, Last: 16383, Limit: 10}),
		{1, 8, 0, 0, 0, 0, 0},          // OpScan, limit 0
		{1, 8, 0, 0, 0, 0xff, 0x7f, 1}, // OpScan, slot beyond the last
		{1, 8, 1, 'k', 0, 0, 0, 1},     // OpScan with a key
		EncodeResponse(Response{Scan: &ScanResult{Next: 99, Records: []KeyRecord{{Key: []byte("a"), Siblings: ss}, {Key: []byte{}, Siblings: tomb}}}}),
		EncodeResponse(Response{Scan: &ScanResult{Done: true}}),
		{1, 0, 0xf3, 0, 2, 0},                // scan reply, bad done flag
		{1, 0, 0xf3, 0, 0, 0xff, 0xff, 0x0f}, // scan reply, huge count
		EncodeRequest(Request{Op: OpMerge, Key: []byte("k"), Siblings: ss, Durable: true}),
		EncodeRequest(Request{Op: OpHint, Key: []byte("k"), Hint: "node-3", Siblings: ss, Durable: true}),
		{1, 10, 1, 'k', 0, 0}, // OpHintDurable without a node or record
	}
}

func TestPeerCodec_RoundTrip(t *testing.T) {
	ss := version.Update(nil, 7, nil, 1, []byte("v"), false)
	for _, req := range []Request{
		{Op: OpGet, Key: []byte("k"), Hint: "n2"},
		{Op: OpMerge, Key: []byte("k"), Siblings: ss},
		{Op: OpHint, Key: []byte{}, Hint: "n3", Siblings: ss},
		{Op: OpCollect, Key: []byte("k"), Siblings: ss},
		{Op: OpGetHint, Key: []byte("k"), Hint: "n2"},
		{Op: OpTree, Lo: 32, Hi: 64, Span: 4, Nodes: []int{0, 3, 7}},
		{Op: OpLeafKeys, Nodes: []int{1, merkle.Leaves - 1}},
		{Op: OpScan, From: 1<<64 - 1, Last: 16383, Limit: MaxScanLimit},
		{Op: OpMerge, Key: []byte("k"), Siblings: ss, Durable: true},
		{Op: OpHint, Key: []byte("k"), Hint: "n3", Siblings: ss, Durable: true},
	} {
		got, err := DecodeRequest(EncodeRequest(req))
		require.NoError(t, err)
		require.Equal(t, req.Op, got.Op)
		require.Equal(t, req.Durable, got.Durable)
		require.True(t, bytes.Equal(req.Key, got.Key))
		require.Equal(t, req.Hint, got.Hint)
		require.True(t, version.SameVersions(req.Siblings, got.Siblings))
		require.Equal(t, []int{req.Lo, req.Hi, req.Span}, []int{got.Lo, got.Hi, got.Span})
		require.Equal(t, len(req.Nodes), len(got.Nodes))
		require.True(t, slices.Equal(req.Nodes, got.Nodes))
		require.Equal(t, []any{req.From, req.Last, req.Limit}, []any{got.From, got.Last, got.Limit})
	}
	scan := &ScanResult{Next: 1 << 63, Records: []KeyRecord{{Key: []byte("x"), Siblings: ss}, {Key: []byte{}, Siblings: nil}}}
	got, err := DecodeResponse(EncodeResponse(Response{Scan: scan}))
	require.NoError(t, err)
	require.True(t, sameScan(scan, got.Scan))
	for _, bad := range []Request{{Op: OpScan, Limit: 0}, {Op: OpScan, Limit: MaxScanLimit + 1}, {Op: OpScan, Last: 16384, Limit: 1}} {
		_, err := DecodeRequest(EncodeRequest(bad))
		require.ErrorIs(t, err, ErrBadRequest, "%+v", bad)
	}
	for _, r := range []Response{{Hashes: []uint64{}}, {Hashes: []uint64{1, 1 << 63}}, {Keys: []merkle.KeyHash{}}, {Keys: []merkle.KeyHash{{Key: []byte("x"), Hash: 5}}}} {
		got, err := DecodeResponse(EncodeResponse(r))
		require.NoError(t, err)
		require.Equal(t, r.Hashes, got.Hashes)
		require.Equal(t, r.Keys, got.Keys)
	}
	for _, e := range []error{ErrClosed, version.ErrCorruptRecord, ErrBadRequest, context.DeadlineExceeded, errdefs.ErrHintsFull, errors.New("other")} {
		r, err := DecodeResponse(EncodeResponse(Response{Err: e}))
		require.NoError(t, err)
		require.Error(t, r.Err)
	}
	for _, e := range []error{errdefs.ErrDiskFull, errdefs.ErrDiskIO} {
		r, err := DecodeResponse(EncodeResponse(Response{Err: fmt.Errorf("replica: write refused: %w", e)}))
		require.NoError(t, err)
		require.ErrorIs(t, r.Err, e, "a replica that cannot store says why")
	}
	_, err = DecodeRequest(EncodeRequest(Request{Op: OpHint, Key: []byte("k"), Siblings: ss}))
	require.ErrorIs(t, err, ErrBadRequest, "a hint must name its node")
}

// TestServe_GarbageChangesNothing: a peer speaking nonsense gets an error
// response and the store is unchanged.
func TestServe_GarbageChangesNothing(t *testing.T) {
	s, err := replica.Open(replica.Config{Dir: "db", FS: vfs.NewMem(), Durability: replica.DurabilityNone})
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()
	for _, b := range peerSeeds()[6:15] {
		r, err := DecodeResponse(NewMux(s).Serve(ctx, b))
		require.NoError(t, err)
		require.ErrorIs(t, r.Err, ErrBadRequest)
	}
	require.Zero(t, s.Stats().Writes)
}

func FuzzDecodeRequest(f *testing.F) {
	for _, b := range peerSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if req, err := DecodeRequest(b); err == nil {
			again, err := DecodeRequest(EncodeRequest(req))
			if err != nil || again.Op != req.Op || again.Durable != req.Durable || !bytes.Equal(again.Key, req.Key) || again.Hint != req.Hint ||
				!version.SameVersions(again.Siblings, req.Siblings) || again.Lo != req.Lo || again.Hi != req.Hi ||
				again.Span != req.Span || !slices.Equal(again.Nodes, req.Nodes) ||
				again.From != req.From || again.Last != req.Last || again.Limit != req.Limit {
				t.Fatalf("re-encoded request differs: %+v vs %+v (%v)", req, again, err)
			}
		}
		if resp, err := DecodeResponse(b); err == nil && resp.Err == nil {
			again, err := DecodeResponse(EncodeResponse(resp))
			if err != nil || !version.SameVersions(again.Siblings, resp.Siblings) || !slices.Equal(again.Hashes, resp.Hashes) ||
				!slices.EqualFunc(again.Keys, resp.Keys, func(a, b merkle.KeyHash) bool { return bytes.Equal(a.Key, b.Key) && a.Hash == b.Hash }) ||
				!sameScan(again.Scan, resp.Scan) {
				t.Fatalf("re-encoded response differs")
			}
		}
	})
}

// sameScan reports whether two OpScan replies are equal.
func sameScan(a, b *ScanResult) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Next == b.Next && a.Done == b.Done && slices.EqualFunc(a.Records, b.Records, func(x, y KeyRecord) bool {
		return bytes.Equal(x.Key, y.Key) && version.SameVersions(x.Siblings, y.Siblings)
	})
}

// syncCounter is a Store that counts Sync calls.
type syncCounter struct {
	*replica.Store
	syncs int
}

func (s *syncCounter) Sync(ctx context.Context) error {
	s.syncs++
	return s.Store.Sync(ctx)
}

// TestServe_DurableOpsSync: a durable merge or hint is synced before it is
// acknowledged, a plain one is not, and a durable request that fails
// syncs nothing.
func TestServe_DurableOpsSync(t *testing.T) {
	st, err := replica.Open(replica.Config{Dir: "db", FS: vfs.NewMem(), Durability: replica.DurabilityNone})
	require.NoError(t, err)
	defer st.Close()
	s := &syncCounter{Store: st}
	ctx := context.Background()
	ss := version.Update(nil, 7, nil, 1, []byte("v"), false)
	for _, tt := range []struct {
		req   Request
		syncs int
	}{
		{Request{Op: OpMerge, Key: []byte("a"), Siblings: ss}, 0},
		{Request{Op: OpMerge, Key: []byte("b"), Siblings: ss, Durable: true}, 1},
		{Request{Op: OpHint, Key: []byte("c"), Hint: "n2", Siblings: ss}, 1},
		{Request{Op: OpHint, Key: []byte("d"), Hint: "n2", Siblings: ss, Durable: true}, 2},
	} {
		r, err := DecodeResponse(NewMux(s).Serve(ctx, EncodeRequest(tt.req)))
		require.NoError(t, err)
		require.NoError(t, r.Err)
		require.Equal(t, tt.syncs, s.syncs, "%+v", tt.req)
	}
	require.NoError(t, st.Close())
	r, err := DecodeResponse(NewMux(s).Serve(ctx, EncodeRequest(Request{Op: OpMerge, Key: []byte("e"), Siblings: ss, Durable: true})))
	require.NoError(t, err)
	require.Error(t, r.Err)
	require.Equal(t, 2, s.syncs, "a failed merge is not synced")
}
