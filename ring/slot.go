package ring

import "github.com/dynkv/dynkv/hashslot"

// Slots is the number of hash slots (hashslot.Count): a ring of Q
// partitions gives each Slots/Q contiguous slots.
const Slots = hashslot.Count
