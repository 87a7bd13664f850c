package antientropy

import "errors"

// ErrNotReplica is returned by Exchange for a partition that this node or
// the peer does not replicate.
var ErrNotReplica = errors.New("antientropy: not a replica of the partition")
