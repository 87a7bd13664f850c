package peer

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPublish_RoundTrip(t *testing.T) {
	for _, p := range []Publish{{Channel: []byte("news"), Message: []byte("hello")}, {Shard: true}, {Channel: []byte("c"), Message: make([]byte, 1000)}} {
		got, err := DecodePublish(EncodePublish(p))
		require.NoError(t, err)
		require.Equal(t, p.Shard, got.Shard)
		require.True(t, bytes.Equal(p.Channel, got.Channel) && bytes.Equal(p.Message, got.Message))
	}
	n, err := DecodePublished(EncodePublished(42))
	require.NoError(t, err)
	require.Equal(t, int64(42), n)
	for _, bad := range [][]byte{nil, {Format, byte(OpPublish)}, {Format, byte(OpPublish), 2, 0}, {Format, byte(OpPublish), 0, 5, 'a'}, {Format, byte(OpGet), 0, 0}} {
		_, err := DecodePublish(bad)
		require.ErrorIs(t, err, ErrBadRequest, "%v", bad)
	}
}

func FuzzDecodePublish(f *testing.F) {
	f.Add(EncodePublish(Publish{Channel: []byte("news"), Message: []byte("hi")}))
	f.Add([]byte{Format, byte(OpPublish), 1, 0xff, 0xff})
	f.Add(EncodePublished(7))
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := DecodePublish(b); err == nil {
			again, err := DecodePublish(EncodePublish(p))
			if err != nil || !bytes.Equal(again.Channel, p.Channel) || !bytes.Equal(again.Message, p.Message) || again.Shard != p.Shard {
				t.Fatalf("round trip of %x: %v", b, err)
			}
		}
		if n, err := DecodePublished(b); err == nil && n < 0 {
			t.Fatalf("negative count %d", n)
		}
	})
}
