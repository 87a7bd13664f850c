package admin

// Cluster is one read of a node's view of the ring, for INFO's cluster
// section and RING. The members and the ring state are read one after the
// other, so a ring change in between may show in one and not yet in the
// other; each is consistent in itself.
type Cluster struct {
	Self    string   // this node's ID
	Version uint64   // ring version: the highest stamp of the ring state
	Q       int      // partitions
	Members []Member // every member of the active or the target ring
	Pending bool     // a transfer is under way: the active ring has a Next
}

// Change is a membership change to plan: Node's joining with Weight, or
// its leaving.
type Change struct {
	Join   bool
	Node   string
	Weight int // Join only: the node's weight, at least 1
}

// Plan is what a membership change does: per node of the ring before or
// after it, the partitions it claims and replicates before and after; per
// partition whose replicas change, the replicas before and after.
type Plan struct {
	Nodes []PlanNode // sorted by ID
	Moves []Move     // sorted by partition
}

// PlanNode is one node's part of a Plan.
type PlanNode struct {
	ID            string
	Before, After int // partitions claimed before and after
	Gained, Lost  int // partitions it becomes, and stops being, a replica of
}

// Move is one partition's change of replicas.
type Move struct {
	Partition int
	From, To  []string // replicas before and after, in preference order
}
