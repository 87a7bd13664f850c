package ring

import "github.com/dynkv/dynkv/admin"

// The ring as the admin surface reports it (package admin): what a node's
// RING and INFO cluster show, and the membership changes they make.

// AdminCluster returns the admin view of a node's ring: self, the state's
// version and Q, the members, and whether the active ring r has a transfer
// under way (r may be nil while the node is not a member).
func AdminCluster(self string, st State, members []admin.Member, r *Ring) admin.Cluster {
	return admin.Cluster{Self: self, Version: st.Stamp(), Q: st.Q, Members: members, Pending: r != nil && r.Next() != nil}
}

// Preference returns the partition of slot in r and its preference list;
// ErrEmpty when there is no ring yet (r nil).
func Preference(r *Ring, slot int) (partition int, prefs []string, err error) {
	if r == nil {
		return 0, nil, ErrEmpty
	}
	partition = r.PartitionOfSlot(slot)
	return partition, r.PreferenceList(partition), nil
}

// ChangeEvent returns the ring event of an admin change (its stamp is the
// committer's to set).
func ChangeEvent(c admin.Change) Event {
	if c.Join {
		return Event{Node: c.Node, Kind: EventJoin, Weight: c.Weight}
	}
	return Event{Node: c.Node, Kind: EventLeave}
}
