package ring

import (
	"fmt"
	"slices"
)

// Join returns the ring with n added: n claims its share of partitions,
// taken from the nodes most above their share.
func (r *Ring) Join(n Node) (*Ring, error) {
	if err := n.validate(); err != nil {
		return nil, err
	}
	if r.Has(n.ID) {
		return nil, fmt.Errorf("ring: node %s: already a member", n.ID)
	}
	next := r.withNodes(append(r.Nodes(), n))
	x := next.index(n.ID)
	target := next.targets()
	count := next.counts()
	for count[x] < target[x] {
		donor := mostOver(count, target, x)
		p := next.farthest(x, func(p int) bool { return next.owners[p] == donor })
		next.owners[p] = x
		count[donor]--
		count[x]++
	}
	return next, nil
}

// Leave returns the ring without id: its partitions go to the nodes most
// below their share.
func (r *Ring) Leave(id string) (*Ring, error) {
	if !r.Has(id) {
		return nil, fmt.Errorf("ring: node %s: not a member", id)
	}
	if len(r.nodes) == 1 {
		return nil, fmt.Errorf("ring: node %s: the last member cannot leave", id)
	}
	// Renumber owners with the leaver marked -1.
	nodes := slices.DeleteFunc(r.Nodes(), func(n Node) bool { return n.ID == id })
	next := r.withNodes(nodes)
	target := next.targets()
	count := next.counts()
	for {
		p := slices.Index(next.owners, -1)
		if p < 0 {
			return next, nil
		}
		heir := mostUnder(count, target)
		p = next.farthest(heir, func(p int) bool { return next.owners[p] == -1 })
		next.owners[p] = heir
		count[heir]++
	}
}

// withNodes returns a copy of r over nodes (sorted here), owners renumbered;
// partitions of a node not in nodes get owner -1.
func (r *Ring) withNodes(nodes []Node) *Ring {
	slices.SortFunc(nodes, func(a, b Node) int { return cmpString(a.ID, b.ID) })
	next := &Ring{nodes: nodes, owners: make([]int, len(r.owners))}
	for p, o := range r.owners {
		next.owners[p] = next.index(r.nodes[o].ID)
	}
	return next
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// targets returns each node's share of partitions: Q·w/Σw rounded by the
// largest-remainder method (ties to the lower index), so the shares add up
// to Q and each is within one of exact.
func (r *Ring) targets() []int {
	q := len(r.owners)
	total := 0
	for _, n := range r.nodes {
		total += n.Weight
	}
	t := make([]int, len(r.nodes))
	rem := make([]int, len(r.nodes))
	sum := 0
	for i, n := range r.nodes {
		t[i] = q * n.Weight / total
		rem[i] = q * n.Weight % total
		sum += t[i]
	}
	order := make([]int, len(r.nodes))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return rem[b] - rem[a] })
	for _, i := range order[:q-sum] {
		t[i]++
	}
	return t
}

func (r *Ring) counts() []int {
	c := make([]int, len(r.nodes))
	for _, o := range r.owners {
		if o >= 0 {
			c[o]++
		}
	}
	return c
}

// mostOver returns the node other than skip with the most partitions above
// its target (lowest index on ties).
func mostOver(count, target []int, skip int) int {
	best := -1
	for i := range count {
		if i != skip && count[i] > 0 && (best < 0 || count[i]-target[i] > count[best]-target[best]) {
			best = i
		}
	}
	return best
}

// mostUnder returns the node with the most partitions below its target.
func mostUnder(count, target []int) int {
	best := 0
	for i := range count {
		if target[i]-count[i] > target[best]-count[best] {
			best = i
		}
	}
	return best
}

// spacing is the window within which the ring tries to give every
// partition a distinct owner. When any spacing consecutive partitions have
// distinct owners, the first N ≤ spacing nodes of a preference list are the
// owners of N consecutive partitions, and every node's replica load is
// exactly N times its claims (Riak's target_n_val plays the same role).
const spacing = 4

// farthest returns, among the partitions eligible says yes to, the best for
// x to claim: first one with no claim of x within spacing either way, then
// one whose current owner also owns a partition within spacing (claiming it
// removes that duplicate), then the one farthest from x's claims; ties go to
// the lowest partition. It panics if none is eligible (the callers
// guarantee one is).
func (r *Ring) farthest(x int, eligible func(p int) bool) int {
	q := len(r.owners)
	dist := r.distances(x)
	best, bestScore := -1, -1
	for p := 0; p < q; p++ {
		if !eligible(p) {
			continue
		}
		score := min(dist[p], spacing)*4*q + r.duplicates(p)*q + dist[p]
		if score > bestScore {
			best, bestScore = p, score
		}
	}
	if best < 0 {
		panic("ring: no eligible partition")
	}
	return best
}

// duplicates counts the partitions within spacing of p (either way) that
// have p's owner, capped at 3.
func (r *Ring) duplicates(p int) int {
	q := len(r.owners)
	o, n := r.owners[p], 0
	if o < 0 {
		return 0
	}
	for d := 1; d < spacing && d < q; d++ {
		if r.owners[(p+d)%q] == o {
			n++
		}
		if r.owners[(p-d+q)%q] == o {
			n++
		}
	}
	return min(n, 3)
}

// distances returns, for every partition, the ring distance to the nearest
// partition owned by x (q if x owns none).
func (r *Ring) distances(x int) []int {
	q := len(r.owners)
	d := make([]int, q)
	for i := range d {
		d[i] = q
	}
	// Two sweeps around the ring, forwards and backwards.
	for pass := 0; pass < 2; pass++ {
		last := -1
		for k := 0; k < 2*q; k++ {
			p := k % q
			if pass == 1 {
				p = (2*q - 1 - k) % q
			}
			if r.owners[p] == x {
				last = k
			}
			if last >= 0 {
				d[p] = min(d[p], k-last)
			}
		}
	}
	return d
}
