package ring

import (
	"strings"

	"github.com/hashicorp/memberlist"
)

// delegate adapts memberlist's callbacks: they copy, merge and return.
type delegate struct{ m *Membership }

func (d delegate) NodeMeta(limit int) []byte {
	meta := []byte(d.m.cfg.ClientAddr + "\x00" + d.m.cfg.PeerAddr)
	if len(meta) > limit {
		return nil
	}
	return meta
}

func (d delegate) NotifyMsg(b []byte) { d.merge(b) }

func (d delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.m.queue.GetBroadcasts(overhead, limit)
}

func (d delegate) LocalState(bool) []byte {
	if d.m.joining.Load() != nil {
		// JoinCluster: this node's one-node history stays out of theirs.
		return State{Q: d.m.cfg.Partitions}.Encode()
	}
	return d.m.State().Encode()
}

func (d delegate) MergeRemoteState(b []byte, _ bool) { d.merge(b) }

func (d delegate) merge(b []byte) {
	st, err := DecodeState(b)
	if err != nil {
		d.m.log.Warn("malformed ring state from a peer", "err", err)
		return
	}
	if j := d.m.joining.Load(); j != nil {
		// JoinCluster collects the seeds' state apart from ours.
		d.m.joinMu.Lock()
		*j = j.Merge(st)
		d.m.joinMu.Unlock()
		return
	}
	d.m.apply(st)
}

func (d delegate) NotifyJoin(n *memberlist.Node)   { d.update(n, true) }
func (d delegate) NotifyUpdate(n *memberlist.Node) { d.update(n, true) }
func (d delegate) NotifyLeave(n *memberlist.Node)  { d.update(n, false) }

func (d delegate) update(n *memberlist.Node, alive bool) {
	client, peer, _ := strings.Cut(string(n.Meta), "\x00")
	d.m.mu.Lock()
	defer d.m.mu.Unlock()
	d.m.mu.alive[n.Name] = alive
	if client != "" || peer != "" {
		d.m.mu.addrs[n.Name] = [2]string{client, peer}
	}
}

// broadcast is a ring state to gossip; a newer state replaces an older one
// in the queue (both are whole states, so the newer includes the older).
type broadcast []byte

func (b broadcast) Invalidates(memberlist.Broadcast) bool { return true }
func (b broadcast) Message() []byte                       { return b }
func (b broadcast) Finished()                             {}
