package hashslot_test

import (
	"fmt"

	"github.com/dynkv/dynkv/hashslot"
)

func ExampleOf() {
	fmt.Println(hashslot.Of([]byte("cart:42")), hashslot.Of([]byte("{user1000}.following")))
	// Output: 15749 3443
}
