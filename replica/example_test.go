package replica_test

import (
	"fmt"

	"github.com/dynkv/dynkv/replica"
)

func liveValues(ss replica.Siblings) []string {
	var out []string
	for _, s := range ss.Live() {
		out = append(out, string(s.Value))
	}
	return out
}

// The DGET/DPUT flow of a shopping cart at the Siblings level: two clients
// write with the same context and both writes are kept; a write with the
// context of a read that saw both collapses them.
func ExampleUpdate() {
	const coordinator = replica.Actor(1)
	var cart replica.Siblings // the key holds nothing yet

	ctx0 := cart.Context() // A and B both DGET the empty cart
	cart = replica.Update(cart, coordinator, ctx0, 100, []byte("apple"), false)
	cart = replica.Update(cart, coordinator, ctx0, 101, []byte("pear"), false)
	fmt.Println("after concurrent DPUTs:", liveValues(cart))

	ctx2 := cart.Context() // A DGETs both siblings and merges them
	cart = replica.Update(cart, coordinator, ctx2, 102, []byte("apple,pear"), false)
	fmt.Println("after the merging DPUT:", liveValues(cart))

	v, _ := cart.Value()
	fmt.Println("GET:", string(v))
	// Output:
	// after concurrent DPUTs: [apple pear]
	// after the merging DPUT: [apple,pear]
	// GET: apple,pear
}

// Two replicas that took concurrent writes converge with Sync; a delete
// with a context that covers everything leaves a tombstone that plain reads
// see as absent.
func ExampleSync() {
	a := replica.Update(nil, replica.Actor(1), nil, 100, []byte("apple"), false)
	b := replica.Update(nil, replica.Actor(2), nil, 200, []byte("pear"), false)
	both := replica.Sync(a, b)
	fmt.Println("synced:", liveValues(both))
	w, _ := both.Winner()
	fmt.Println("plain GET picks:", string(w.Value))

	deleted := replica.Update(both, replica.Actor(1), both.Context(), 300, nil, true)
	_, ok := deleted.Value()
	fmt.Println("siblings after DDEL:", len(deleted), "present:", ok)
	fmt.Println("replica b after sync:", liveValues(replica.Sync(b, deleted)))
	// Output:
	// synced: [apple pear]
	// plain GET picks: pear
	// siblings after DDEL: 1 present: false
	// replica b after sync: []
}

// A context is opaque and printable; the empty string means "no prior read".
func ExampleDecodeContext() {
	ctx := replica.VV{{Actor: 1, Counter: 2}}
	enc := replica.EncodeContext(ctx)
	got, err := replica.DecodeContext(enc)
	fmt.Println(got, err)
	empty, err := replica.DecodeContext(nil)
	fmt.Println(len(empty), err)
	_, err = replica.DecodeContext([]byte("garbage"))
	fmt.Println(err)
	// Output:
	// [{1 2}] <nil>
	// 0 <nil>
	// replica: invalid context
}
