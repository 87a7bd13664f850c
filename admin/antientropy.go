package admin

import "time"

// PartitionStats describe the last exchange of one partition.
type PartitionStats struct {
	Partition int
	Peer      string    // the replica it was with
	At        time.Time // when it completed
	Repaired  int64     // keys it repaired
}

// AntiEntropyStats are an anti-entropy Syncer's counters since it was
// created.
type AntiEntropyStats struct {
	Rounds              int64     // rounds completed
	Exchanges           int64     // exchanges completed
	Failures            int64     // exchanges that failed (peer unreachable, store closed)
	KeysCompared        int64     // keys of differing leaves compared
	KeysRepaired        int64     // keys whose replicas differed, synced
	TombstonesCollected int64     // tombstones collected on this node
	HandedOff           int64     // records handed to their partition's new homes after a ring change
	HandoffPending      int64     // partitions this node no longer replicates that it still held records of after the last round
	BytesSent           int64     // peer request bytes
	BytesReceived       int64     // peer response bytes
	LastRound           time.Time // end of the last completed round; zero if none
	// Partitions holds the last completed exchange of each partition this
	// node exchanged, sorted by partition.
	Partitions []PartitionStats
	// Transfer is this node's part of the ring change under way: the data
	// it must receive before the new ring owns it.
	Transfer TransferStats
	// RateNow is the keys per second anti-entropy may use now: its
	// configured rate times Admission.Share; 0: no limit.
	RateNow float64
	// Throttled is how long its work has waited on that rate, in total
	// (each wait counted, also when several ran side by side).
	Throttled time.Duration
	// Admission is the node's admission controller, which scales the rate
	// of its background work by foreground latency.
	Admission AdmissionStats
}

// TransferStats describe what a node receives for a ring change under way
// (see ring.State.Active) or, when none is (Pending false), for the last
// one it received data for.
type TransferStats struct {
	// Pending: a change is under way (the node's active ring has a Next).
	Pending bool
	// Stamp is the stamp of the change the node works towards.
	Stamp uint64
	// Total and Done count the partitions it gains in that change and
	// those it has received. Total is 0 when it gains none.
	Total, Done int
	// Keys is the keys received (repaired here) for the change so far.
	Keys int64
	// Started is when the node began receiving for Stamp; zero if it has
	// not.
	Started time.Time
	// KeysPerSecond is Keys over the time since Started (until Done ==
	// Total).
	KeysPerSecond float64
	// Ready: the node has received everything and recorded it.
	Ready bool
}

// PartitionRoot is the root hash of one partition's tree on this node.
type PartitionRoot struct {
	Partition int
	Root      uint64
}
