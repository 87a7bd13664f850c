package resp_test

import (
	"context"
	"fmt"
	"net"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/redis/go-redis/v9"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/replica"
	"github.com/dynkv/dynkv/resp"
)

// Two clients update a shopping cart concurrently with DGET and DPUT: both
// writes are kept as siblings, and a write with the context of a read that
// saw both resolves them.
func Example_dynamo() {
	st, err := replica.Open(replica.Config{Dir: "db", FS: vfs.NewMem(), Durability: replica.DurabilityNone})
	if err != nil {
		panic(err)
	}
	defer st.Close()
	co, err := coordinator.New(coordinator.DefaultConfig(), st, nil, nil)
	if err != nil {
		panic(err)
	}
	defer co.Close()
	srv, err := resp.New(resp.DefaultConfig(), co, st, nil)
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() { _ = srv.Close(context.Background()); <-served }()

	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String()})
	defer rdb.Close()
	dget := func() (context string, values []any) {
		r, err := rdb.Do(ctx, "DGET", "cart:42").Slice()
		if err != nil {
			panic(err)
		}
		return r[0].(string), r[1].([]any)
	}

	ctx0, _ := dget()                             // both clients read the empty cart
	rdb.Do(ctx, "DPUT", "cart:42", ctx0, "apple") // client A
	rdb.Do(ctx, "DPUT", "cart:42", ctx0, "pear")  // client B, concurrently
	ctx2, values := dget()
	fmt.Println("siblings:", values)

	rdb.Do(ctx, "DPUT", "cart:42", ctx2, "apple,pear") // merge with the context that saw both
	_, values = dget()
	fmt.Println("resolved:", values)
	fmt.Println("GET:", rdb.Get(ctx, "cart:42").Val())
	fmt.Println(rdb.Do(ctx, "DPUT", "cart:42", "garbage", "x").Err())
	// Output:
	// siblings: [apple pear]
	// resolved: [apple,pear]
	// GET: apple,pear
	// ERR invalid context
}
