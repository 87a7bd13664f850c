package coordinator

import "time"

// ReplicaDeadline exposes replicaDeadline to the cluster tests, which live
// in coordinator_test (clustertest imports coordinator).
func (c *Coordinator) ReplicaDeadline(node string) time.Duration { return c.replicaDeadline(node) }

// ForwardDeadline exposes forwardDeadline likewise.
func (c *Coordinator) ForwardDeadline(node string) time.Duration { return c.forwardDeadline(node) }

// HopMisses returns how many calls to node missed their hop deadline.
func (c *Coordinator) HopMisses(node string) int64 { return c.rtts.of(node).misses.Load() }
