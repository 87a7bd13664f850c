package resp

import (
	"fmt"
	"strconv"

	"github.com/dynkv/dynkv/admin"
)

// infoAntiEntropy reports the syncer's counters: exchanges, keys repaired,
// tombstones collected, records handed off after a ring change (and the
// partitions still to hand off), bytes, how fresh the partitions are, the
// rate it may use now and how long its work has waited on it; the node's
// admission controller, which sets that rate (admission_*: the foreground
// p99 target, the share of the configured rate granted, the foreground
// p99 seen, the operations observed, the windows that cut the share); and
// this node's part of the ring transfer under way (transfer_*: the
// partitions it gains and has received, the keys it received and their
// rate, whether it has recorded that it is ready).
func (s *Server) infoAntiEntropy(b *infoBuilder) {
	st, ok := s.antiEntropy()
	if !ok {
		b.field("antientropy_enabled", 0)
		return
	}
	b.field("antientropy_enabled", 1)
	b.field("antientropy_rounds", st.Rounds)
	b.field("antientropy_exchanges", st.Exchanges)
	b.field("antientropy_failures", st.Failures)
	b.field("antientropy_keys_compared", st.KeysCompared)
	b.field("antientropy_keys_repaired", st.KeysRepaired)
	b.field("antientropy_tombstones_collected", st.TombstonesCollected)
	b.field("antientropy_handed_off", st.HandedOff)
	b.field("antientropy_handoff_pending_partitions", st.HandoffPending)
	b.field("antientropy_bytes_sent", st.BytesSent)
	b.field("antientropy_bytes_received", st.BytesReceived)
	last := int64(0)
	if !st.LastRound.IsZero() {
		last = st.LastRound.UnixMilli()
	}
	b.field("antientropy_last_round_unix_ms", last)
	b.field("antientropy_partitions_synced", len(st.Partitions))
	oldest := int64(-1)
	for _, p := range st.Partitions {
		if age := int64(s.now().Sub(p.At).Seconds()); age > oldest {
			oldest = age
		}
	}
	b.field("antientropy_oldest_partition_sync_age_s", oldest)
	b.field("antientropy_rate_now", strconv.FormatFloat(st.RateNow, 'f', 1, 64))
	b.field("antientropy_throttled_ms", st.Throttled.Milliseconds())
	adm := st.Admission
	b.field("admission_target_us", adm.Target.Microseconds())
	b.field("admission_share", strconv.FormatFloat(adm.Share, 'f', 3, 64))
	b.field("admission_foreground_p99_us", adm.ForegroundP99.Microseconds())
	b.field("admission_observed", adm.Observed)
	b.field("admission_cuts", adm.Cuts)
	tr := st.Transfer
	b.field("transfer_pending", boolInt(tr.Pending))
	b.field("transfer_stamp", tr.Stamp)
	b.field("transfer_partitions_total", tr.Total)
	b.field("transfer_partitions_done", tr.Done)
	b.field("transfer_keys", tr.Keys)
	b.field("transfer_keys_per_sec", strconv.FormatFloat(tr.KeysPerSecond, 'f', 1, 64))
	b.field("transfer_ready", boolInt(tr.Ready))
}

// infoAntiEntropyPartitions reports, per partition, the last completed
// exchange: with which replica, when, and how many keys it repaired.
func (s *Server) infoAntiEntropyPartitions(b *infoBuilder) {
	st, ok := s.antiEntropy()
	if !ok {
		return
	}
	for _, p := range st.Partitions {
		fmt.Fprintf(b, "partition_%d:peer=%s,last_sync_unix_ms=%d,repaired=%d\r\n", p.Partition, p.Peer, p.At.UnixMilli(), p.Repaired)
	}
}

// cmdRingRoots implements RING ROOTS: one [partition, root] entry for every
// partition this node replicates, the root as 16 hex digits. Replicas of a
// partition that agree have equal roots.
func (s *Server) cmdRingRoots(c *session, _ [][]byte) error {
	if _, ok := s.antiEntropy(); !ok {
		return errNoAntiEntropy
	}
	roots, err := s.admin.Roots(c.ctx)
	if err != nil {
		return err
	}
	c.w.array(len(roots))
	for _, r := range roots {
		c.w.array(2)
		c.w.integer(int64(r.Partition))
		c.w.bulkString(fmt.Sprintf("%016x", r.Root))
	}
	return nil
}

// antiEntropy returns the node's anti-entropy counters; ok is false when
// anti-entropy is off or the server has no Admin.
func (s *Server) antiEntropy() (admin.AntiEntropyStats, bool) {
	if s.admin == nil {
		return admin.AntiEntropyStats{}, false
	}
	return s.admin.AntiEntropy()
}
