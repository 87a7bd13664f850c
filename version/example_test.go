package version_test

import (
	"fmt"

	"github.com/dynkv/dynkv/version"
)

func liveValues(ss version.Siblings) []string {
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
	const coordinator = version.Actor(1)
	var cart version.Siblings // the key holds nothing yet

	ctx0 := cart.Context() // A and B both DGET the empty cart
	cart = version.Update(cart, coordinator, ctx0, 100, []byte("apple"), false)
	cart = version.Update(cart, coordinator, ctx0, 101, []byte("pear"), false)
	fmt.Println("after concurrent DPUTs:", liveValues(cart))

	ctx2 := cart.Context() // A DGETs both siblings and merges them
	cart = version.Update(cart, coordinator, ctx2, 102, []byte("apple,pear"), false)
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
	a := version.Update(nil, version.Actor(1), nil, 100, []byte("apple"), false)
	b := version.Update(nil, version.Actor(2), nil, 200, []byte("pear"), false)
	both := version.Sync(a, b)
	fmt.Println("synced:", liveValues(both))
	w, _ := both.Winner()
	fmt.Println("plain GET picks:", string(w.Value))

	deleted := version.Update(both, version.Actor(1), both.Context(), 300, nil, true)
	_, ok := deleted.Value()
	fmt.Println("siblings after DDEL:", len(deleted), "present:", ok)
	fmt.Println("replica b after sync:", liveValues(version.Sync(b, deleted)))
	// Output:
	// synced: [apple pear]
	// plain GET picks: pear
	// siblings after DDEL: 1 present: false
	// replica b after sync: []
}

// A context is opaque and printable; the empty string means "no prior read".
func ExampleDecodeContext() {
	ctx := version.VV{{Actor: 1, Counter: 2}}
	enc := version.EncodeContext(ctx)
	got, err := version.DecodeContext(enc)
	fmt.Println(got, err)
	empty, err := version.DecodeContext(nil)
	fmt.Println(len(empty), err)
	_, err = version.DecodeContext([]byte("garbage"))
	fmt.Println(err)
	// Output:
	// [{1 2}] <nil>
	// 0 <nil>
	// version: invalid context
}
