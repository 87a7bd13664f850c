package chaos

import "fmt"

// itemName names the seq-th item of a client: unique across the run.
func itemName(client, seq int) string { return fmt.Sprintf("c%d-%d", client, seq) }

// cartKey is the key of cart i.
func cartKey(i int) []byte { return fmt.Appendf(nil, "cart:%d", i) }
