package ring_test

import (
	"fmt"

	"github.com/dynkv/dynkv/hashslot"
	"github.com/dynkv/dynkv/ring"
)

func ExampleRing_PreferenceList() {
	r, _ := ring.New(8,
		ring.Node{ID: "a", Weight: 1}, ring.Node{ID: "b", Weight: 1}, ring.Node{ID: "c", Weight: 1})
	p := r.PartitionOf([]byte("cart:42"))
	fmt.Println(hashslot.Of([]byte("cart:42")), p, r.PreferenceList(p))
	// Output: 15749 7 [a b c]
}
