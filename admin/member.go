package admin

// Member is what one node knows of another.
type Member struct {
	ID         string
	Alive      bool
	ClientAddr string
	PeerAddr   string
	Partitions int // partitions it claims in the active ring
	// Target is the partitions it claims once the transfer under way
	// completes (Partitions when none is).
	Target int
	// Joining: it is in the target ring but not yet in the active one;
	// Leaving: the other way round.
	Joining, Leaving bool
	// Ready: it has received the data it gains in the transfer under way
	// (or gains none).
	Ready bool
}
