package resp

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/admin"
)

type fakeAE struct {
	st    admin.AntiEntropyStats
	roots []admin.PartitionRoot
}

func (f fakeAE) Stats() admin.AntiEntropyStats { return f.st }

func (f fakeAE) Roots(context.Context) ([]admin.PartitionRoot, error) { return f.roots, nil }

// TestInfo_AntiEntropy: INFO reports the syncer's counters, and per
// partition its last exchange when asked for antientropy_partitions.
func TestInfo_AntiEntropy(t *testing.T) {
	e := newDefaultEnv(t)
	now := e.clock.Now()
	setAntiEntropy(e.s, fakeAE{st: admin.AntiEntropyStats{
		Rounds: 3, Exchanges: 7, Failures: 1, KeysCompared: 40, KeysRepaired: 5, TombstonesCollected: 2,
		BytesSent: 100, BytesReceived: 200, LastRound: now, HandedOff: 11, HandoffPending: 2,
		Partitions: []admin.PartitionStats{
			{Partition: 1, Peer: "node-2", At: now.Add(-30 * time.Second), Repaired: 5},
			{Partition: 9, Peer: "node-3", At: now.Add(-2 * time.Second)},
		},
		Transfer: admin.TransferStats{Pending: true, Stamp: 12, Total: 40, Done: 15, Keys: 3000,
			Started: now.Add(-time.Minute), KeysPerSecond: 50.25},
		RateNow: 500, Throttled: 1500 * time.Millisecond,
		Admission: admin.AdmissionStats{Target: 10 * time.Millisecond, Share: 0.25, ForegroundP99: 23456 * time.Microsecond,
			Observed: 90_000, Cuts: 4},
	}})
	tc := e.client()
	v, _ := parseReply(t, tc.do("INFO", "antientropy"))
	require.Equal(t, "# AntiEntropy\r\nantientropy_enabled:1\r\nantientropy_rounds:3\r\nantientropy_exchanges:7\r\n"+
		"antientropy_failures:1\r\nantientropy_keys_compared:40\r\nantientropy_keys_repaired:5\r\n"+
		"antientropy_tombstones_collected:2\r\nantientropy_handed_off:11\r\nantientropy_handoff_pending_partitions:2\r\nantientropy_bytes_sent:100\r\nantientropy_bytes_received:200\r\n"+
		"antientropy_last_round_unix_ms:"+itoa(now.UnixMilli())+"\r\nantientropy_partitions_synced:2\r\n"+
		"antientropy_oldest_partition_sync_age_s:30\r\nantientropy_rate_now:500.0\r\nantientropy_throttled_ms:1500\r\n"+
		"admission_target_us:10000\r\nadmission_share:0.250\r\nadmission_foreground_p99_us:23456\r\n"+
		"admission_observed:90000\r\nadmission_cuts:4\r\n"+
		"transfer_pending:1\r\ntransfer_stamp:12\r\ntransfer_partitions_total:40\r\ntransfer_partitions_done:15\r\n"+
		"transfer_keys:3000\r\ntransfer_keys_per_sec:50.2\r\ntransfer_ready:0\r\n", v)
	v, _ = parseReply(t, tc.do("INFO", "antientropy_partitions"))
	require.Equal(t, "# AntiEntropy_Partitions\r\npartition_1:peer=node-2,last_sync_unix_ms="+itoa(now.Add(-30*time.Second).UnixMilli())+
		",repaired=5\r\npartition_9:peer=node-3,last_sync_unix_ms="+itoa(now.Add(-2*time.Second).UnixMilli())+",repaired=0\r\n", v)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestRingRoots: RING ROOTS lists the partitions' roots as 16 hex digits;
// without anti-entropy it is an error.
func TestRingRoots(t *testing.T) {
	e := newDefaultEnv(t)
	tc := e.client()
	require.Equal(t, "-ERR anti-entropy is off on this node\r\n", tc.do("RING", "ROOTS"))
	setAntiEntropy(e.s, fakeAE{roots: []admin.PartitionRoot{{Partition: 3, Root: 0xab}, {Partition: 7, Root: 1<<64 - 1}}})
	require.Equal(t, "*2\r\n*2\r\n:3\r\n$16\r\n00000000000000ab\r\n*2\r\n:7\r\n$16\r\nffffffffffffffff\r\n",
		tc.do("RING", "ROOTS"))
	require.Equal(t, "-ERR wrong number of arguments for 'ring|roots' command\r\n", tc.do("RING", "ROOTS", "x"))
}
