package ring

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/dynkv/dynkv/hashslot"
)

// DefaultPartitions is the default Q. With it a node of a 64-node ring
// claims 16 partitions, so ownership is within one partition (6%) of even.
const DefaultPartitions = 1024

// Node is a member of the ring.
type Node struct {
	ID     string // unique, non-empty
	Weight int    // > 0; a node's share of partitions is proportional to it
}

// Ring is an immutable assignment of Q partitions to nodes.
type Ring struct {
	nodes  []Node // sorted by ID, unique
	owners []int  // partition → index into nodes; len Q

	// next is the ring a transfer under way leads to (State.Active); nil
	// when none. nextStamp is the stamp of its last change.
	next      *Ring
	nextStamp uint64
	// departed, undrained and waiting: see Departed, Undrained, Waiting.
	departed, undrained, waiting []string
	// digest caches Digest; 0 until computed.
	digest uint64
}

// New returns a ring of q partitions owned by the first of nodes, the others
// joining one after another in the order given. q must be a power of two
// between 1 and Slots.
func New(q int, nodes ...Node) (*Ring, error) {
	if q < 1 || q > Slots || q&(q-1) != 0 {
		return nil, fmt.Errorf("ring: partitions: %d is not a power of two between 1 and %d", q, Slots)
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("ring: no nodes")
	}
	if err := nodes[0].validate(); err != nil {
		return nil, err
	}
	r := &Ring{nodes: []Node{nodes[0]}, owners: make([]int, q)}
	var err error
	for _, n := range nodes[1:] {
		if r, err = r.Join(n); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (n Node) validate() error {
	if n.ID == "" {
		return fmt.Errorf("ring: node id: must not be empty")
	}
	if n.Weight < 1 {
		return fmt.Errorf("ring: node %s: weight must be at least 1, got %d", n.ID, n.Weight)
	}
	return nil
}

// Partitions returns Q.
func (r *Ring) Partitions() int { return len(r.owners) }

// Nodes returns the members, sorted by ID.
func (r *Ring) Nodes() []Node { return slices.Clone(r.nodes) }

// Has reports whether id is a member.
func (r *Ring) Has(id string) bool { return r.index(id) >= 0 }

func (r *Ring) index(id string) int {
	i, ok := slices.BinarySearchFunc(r.nodes, id, func(n Node, id string) int { return cmp.Compare(n.ID, id) })
	if !ok {
		return -1
	}
	return i
}

// PartitionOfSlot returns the partition holding slot.
func (r *Ring) PartitionOfSlot(slot int) int { return slot / (Slots / len(r.owners)) }

// PartitionOf returns the partition holding key.
func (r *Ring) PartitionOf(key []byte) int { return r.PartitionOfSlot(hashslot.Of(key)) }

// SlotRange returns the first and last slot of partition p.
func (r *Ring) SlotRange(p int) (first, last int) {
	size := Slots / len(r.owners)
	return p * size, p*size + size - 1
}

// Owner returns the node that claims partition p: the first of its
// preference list.
func (r *Ring) Owner(p int) string { return r.nodes[r.owners[p]].ID }

// Claims returns the partitions each node claims, by node ID.
func (r *Ring) Claims() map[string][]int {
	m := make(map[string][]int, len(r.nodes))
	for p, o := range r.owners {
		id := r.nodes[o].ID
		m[id] = append(m[id], p)
	}
	return m
}

// Moves lists the partitions whose owner differs between r and next.
func (r *Ring) Moves(next *Ring) []Move {
	var out []Move
	for p := range r.owners {
		if from, to := r.Owner(p), next.Owner(p); from != to {
			out = append(out, Move{Partition: p, From: from, To: to})
		}
	}
	return out
}

// Move is a change of a partition's owner.
type Move struct {
	Partition int
	From, To  string
}
