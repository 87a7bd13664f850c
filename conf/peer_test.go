package conf

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/peer"
	"github.com/dynkv/dynkv/version"
)

// TestPeerConfig_FrameFitsEveryRecord is the second probe of issue 12 ("a
// value that passes the client limits can exceed the peer frame limit"):
// the peer frame limit is derived from the client limits so that the
// largest record a write may leave (two siblings of max-value-size with
// the largest versions, under a key of max-key-size, sent as a hint for a
// node of the longest id) is a frame the peers accept.
func TestPeerConfig_FrameFitsEveryRecord(t *testing.T) {
	for _, tc := range []struct {
		name            string
		value, key, sib int64
	}{
		{"small limits", 1 << 10, 100, 0},
		{"one byte values", 1, 1, 0},
		{"a bound of its own", 4 << 10, 1 << 10, 64 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Resp.MaxValueSize, cfg.Resp.MaxKeySize, cfg.Coordinator.MaxSiblingsSize = tc.value, tc.key, tc.sib
			cfg.Resp.MaxRequestSize = max(cfg.Resp.MaxRequestSize, tc.value)
			require.NoError(t, cfg.Validate())
			pc := cfg.PeerConfig()
			require.NoError(t, pc.Validate())
			require.Equal(t, 2*pc.MinReceiveBuffer(), pc.ReceiveBuffer, "the default receive buffer")

			// The largest record writes may leave: siblings of the
			// largest value and versions, as many as the bound holds.
			var ss version.Siblings
			for a := version.Actor(1); ; a++ {
				past := make(version.VV, version.MaxVVEntries)
				for i := range past {
					past[i] = version.Entry{Actor: version.Actor(1000 + i), Counter: math.MaxUint64}
				}
				s := version.Sibling{Dot: version.Dot{Actor: a, Counter: math.MaxUint64}, Past: past,
					Timestamp: math.MinInt64, Value: bytes.Repeat([]byte{'v'}, int(tc.value))}
				next := append(ss[:len(ss):len(ss)], s)
				if int64(next.RecordSize()) > cfg.MaxSiblingsSize() {
					break
				}
				ss = next
			}
			require.GreaterOrEqual(t, len(ss), 2, "two siblings of the largest value fit the bound")
			key := bytes.Repeat([]byte{'k'}, int(tc.key))
			hint := strings.Repeat("n", 255)
			for _, op := range []peer.Op{peer.OpMerge, peer.OpHint, peer.OpCollect} {
				req := peer.EncodeRequest(peer.Request{Op: op, Key: key, Hint: hint, Siblings: ss})
				require.LessOrEqual(t, len(req), pc.MaxFrame, "op %d", op)
			}
			resp := peer.EncodeResponse(peer.Response{Siblings: ss})
			require.LessOrEqual(t, len(resp), pc.MaxFrame)
		})
	}
}

// TestPeerConfig_Defaults: with the default client limits (64 MiB values,
// 64 KiB keys) the frame limit is two values and their versions, a key and
// a message's bytes, and the receive buffer twice that.
func TestPeerConfig_Defaults(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Node.ID = "n1"
	require.NoError(t, cfg.Validate())
	pc := cfg.PeerConfig()
	want := version.RecordOverhead + 2*(64<<20+version.MaxSiblingOverhead) + 64<<10 + peer.MaxMessageOverhead
	require.Equal(t, want, pc.MaxFrame)
	require.Equal(t, int64(2*(want+16)), pc.ReceiveBuffer)
	require.Equal(t, "127.0.0.1:16379", pc.Listen)
	t.Logf("frame limit %d bytes, receive buffer %d bytes", pc.MaxFrame, pc.ReceiveBuffer)
}
