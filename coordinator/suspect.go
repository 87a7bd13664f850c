package coordinator

import (
	"sync"
	"time"
)

// Between a node going silent (a partition, a paused process, a hung disk)
// and the failure detector declaring it dead pass seconds, in which every
// operation that counts on the node would wait for it. Each call is waited
// for only its hop deadline (deadline.go), and a node that misses one is
// suspected for a while (Config.Timeout): operations plan around it as if
// it were down — writes go to fallbacks with hints, reads to the fallback
// holding its hints — until the suspicion lapses and the next operation
// tries it again, the late reply of the call that missed arrives (the node
// answers after all: a busy node, not a silent one), or an operation that
// has no other node left tries it and it answers. This is Dynamo's "first
// N healthy nodes" with a faster, local judgement of health: as when
// gossip declares a node down, a write is acknowledged only by W nodes
// that hold it (homes or fallbacks with hints), and a read at R may be
// answered by fallbacks, which hold only the hints for the node. A wrong
// suspicion costs hints and read freshness, never an acknowledged write;
// suspicion is per coordinator and not gossiped.

// suspicion records the nodes under suspicion. Safe for concurrent use.
type suspicion struct {
	mu struct {
		sync.Mutex
		until map[string]time.Time
	}
}

// suspect puts node under suspicion until until.
func (s *suspicion) suspect(node string, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.until == nil {
		s.mu.until = map[string]time.Time{}
	}
	s.mu.until[node] = until
}

// clear lifts node's suspicion.
func (s *suspicion) clear(node string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.mu.until, node)
}

// suspected reports whether node is under suspicion at now.
func (s *suspicion) suspected(node string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.mu.until[node]
	if ok && !now.Before(until) {
		delete(s.mu.until, node)
		return false
	}
	return ok
}

// count returns the nodes under suspicion at now.
func (s *suspicion) count(now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, until := range s.mu.until {
		if now.Before(until) {
			n++
		}
	}
	return n
}

// lastResort reports whether node, passed over (suspected, or it missed
// its hop deadline or failed in this operation), should be tried once more
// when no fallback could stand in for it: whenever the failure detector
// has not declared it down. Not "while it is suspected": a call that
// missed its deadline and then succeeded lifts the suspicion, and the
// operation, which stopped waiting for it, must still get that replica.
// Suspicion only ranks nodes; it never costs an operation a replica that
// answers.
func (c *Coordinator) lastResort(node string) bool {
	return node != c.cluster.Self() && c.cluster.Alive(node)
}

// alive reports whether node is alive for planning: the failure detector
// says so and it is not under suspicion. This node always is.
func (c *Coordinator) alive(node string) bool {
	if node == c.cluster.Self() {
		return true
	}
	return c.cluster.Alive(node) && !c.suspects.suspected(node, c.now())
}

// timedOut puts node under suspicion after it let an attempt time out or
// missed its hop deadline.
func (c *Coordinator) timedOut(node string) {
	if node == c.cluster.Self() {
		return
	}
	c.suspicions.Add(1)
	c.suspects.suspect(node, c.now().Add(c.cfg.Timeout))
	c.log.Debug("peer suspected: attempt timed out", "node", node, "for", c.cfg.Timeout)
}
