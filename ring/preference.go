package ring

import "slices"

// PreferenceList returns every member in the order partition p uses them:
// walking the ring clockwise from p, each node the first time it is met.
// The first N are the partition's replicas; the rest are the fallbacks, in
// order, for a sloppy quorum.
func (r *Ring) PreferenceList(p int) []string {
	out := make([]string, 0, len(r.nodes))
	seen := make([]bool, len(r.nodes))
	q := len(r.owners)
	for i := 0; i < q && len(out) < len(r.nodes); i++ {
		o := r.owners[(p+i)%q]
		if !seen[o] {
			seen[o] = true
			out = append(out, r.nodes[o].ID)
		}
	}
	// A node that claims no partition (weight too small for Q) still serves
	// as a fallback, after every claiming node.
	for i, n := range r.nodes {
		if !seen[i] {
			out = append(out, n.ID)
		}
	}
	return out
}

// Homes returns the first n nodes of partition p's preference list (fewer
// when the ring has fewer members): its replicas.
func (r *Ring) Homes(p, n int) []string {
	n = min(n, len(r.nodes))
	out := make([]string, 0, n)
	q := len(r.owners)
	for i := 0; i < q && len(out) < n; i++ {
		id := r.nodes[r.owners[(p+i)%q]].ID
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) < n {
		// Members that claim no partition come last, as in PreferenceList.
		for _, nd := range r.nodes {
			if len(out) < n && !slices.Contains(out, nd.ID) {
				out = append(out, nd.ID)
			}
		}
	}
	return out
}
