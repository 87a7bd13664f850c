package replica

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

func peerSeeds() [][]byte {
	ss := Update(nil, 7, nil, 1, []byte("v"), false)
	return [][]byte{
		EncodeRequest(Request{Op: OpGet, Key: []byte("k")}),
		EncodeRequest(Request{Op: OpGet, Key: []byte("k"), Hint: "node-2"}),
		EncodeRequest(Request{Op: OpMerge, Key: []byte("k"), Siblings: ss}),
		EncodeRequest(Request{Op: OpHint, Key: []byte("k"), Hint: "node-3", Siblings: ss}),
		EncodeResponse(Response{Siblings: ss}),
		EncodeResponse(Response{Err: ErrClosed}),
		{}, {1}, {1, 9}, {1, 2, 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
}

func TestPeerCodec_RoundTrip(t *testing.T) {
	ss := Update(nil, 7, nil, 1, []byte("v"), false)
	for _, req := range []Request{
		{Op: OpGet, Key: []byte("k"), Hint: "n2"},
		{Op: OpMerge, Key: []byte("k"), Siblings: ss},
		{Op: OpHint, Key: []byte{}, Hint: "n3", Siblings: ss},
	} {
		got, err := DecodeRequest(EncodeRequest(req))
		require.NoError(t, err)
		require.Equal(t, req.Op, got.Op)
		require.True(t, bytes.Equal(req.Key, got.Key))
		require.Equal(t, req.Hint, got.Hint)
		require.True(t, SameVersions(req.Siblings, got.Siblings))
	}
	for _, e := range []error{ErrClosed, ErrCorruptRecord, ErrBadRequest, context.DeadlineExceeded, ErrHintsFull, errors.New("other")} {
		r, err := DecodeResponse(EncodeResponse(Response{Err: e}))
		require.NoError(t, err)
		require.Error(t, r.Err)
	}
	_, err := DecodeRequest(EncodeRequest(Request{Op: OpHint, Key: []byte("k"), Siblings: ss}))
	require.ErrorIs(t, err, ErrBadRequest, "a hint must name its node")
}

// TestServe_GarbageChangesNothing: a peer speaking nonsense gets an error
// response and the store is unchanged.
func TestServe_GarbageChangesNothing(t *testing.T) {
	s, err := Open(Config{Dir: "db", FS: vfs.NewMem(), Durability: DurabilityNone})
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()
	for _, b := range peerSeeds()[6:] {
		r, err := DecodeResponse(s.Serve(ctx, b))
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
			if err != nil || again.Op != req.Op || !bytes.Equal(again.Key, req.Key) || again.Hint != req.Hint ||
				!SameVersions(again.Siblings, req.Siblings) {
				t.Fatalf("re-encoded request differs: %+v vs %+v (%v)", req, again, err)
			}
		}
		if resp, err := DecodeResponse(b); err == nil && resp.Err == nil {
			again, err := DecodeResponse(EncodeResponse(resp))
			if err != nil || !SameVersions(again.Siblings, resp.Siblings) {
				t.Fatalf("re-encoded response differs")
			}
		}
	})
}
