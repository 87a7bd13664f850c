package coordinator

import (
	"slices"
	"sync"
)

// plan is the replica set of one operation: the key's N home nodes and, in
// order, the fallbacks that may stand in for those that are down or fail.
// While a ring change is under way (ring.Ring.Next), the homes are those
// of the active ring, and the nodes that become homes in the next ring
// are pending: writes go to them too, without counting towards W, so that
// the data they received in the transfer stays complete until they own it.
type plan struct {
	home    []string // the first N of the preference list
	pending []string // homes in the next ring that are not homes now

	mu        sync.Mutex
	fallbacks []string // alive nodes after the first N, not yet used
}

func (c *Coordinator) plan(key []byte) *plan {
	if c.solo {
		return &plan{home: c.soloHome}
	}
	r := c.cluster.Ring()
	part := r.PartitionOf(key)
	pl := r.PreferenceList(part)
	n := min(c.cfg.N, len(pl))
	p := &plan{home: pl[:n]}
	if next := r.Next(); next != nil {
		for _, id := range next.Homes(part, c.cfg.N) {
			if !slices.Contains(p.home, id) {
				p.pending = append(p.pending, id)
			}
		}
		// Nodes joining stand in as fallbacks too, after the members.
		for _, id := range next.PreferenceList(part) {
			if !slices.Contains(pl, id) {
				pl = append(pl, id)
			}
		}
	}
	if !c.cfg.NoFallbacks {
		for _, id := range pl[n:] {
			if c.alive(id) && !slices.Contains(p.pending, id) {
				p.fallbacks = append(p.fallbacks, id)
			}
		}
	}
	return p
}

// nextFallback hands out the next unused fallback, or "" when none is left.
func (p *plan) nextFallback() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.fallbacks) == 0 {
		return ""
	}
	f := p.fallbacks[0]
	p.fallbacks = p.fallbacks[1:]
	return f
}

// localOnly reports whether this node is the key's only replica.
func (p *plan) localOnly(self string) bool {
	return len(p.home) == 1 && p.home[0] == self && len(p.pending) == 0
}

// isHome reports whether node is one of the key's home nodes.
func (p *plan) isHome(node string) bool {
	for _, h := range p.home {
		if h == node {
			return true
		}
	}
	return false
}
