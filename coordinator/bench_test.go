package coordinator_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/internal/clustertest"
)

// BenchmarkRoundTrip measures a coordinator's Put and Get over the
// in-memory transport (memnet), stores on pebble's in-memory filesystem:
// 3 nodes with N=3 R=2 W=2 coordinated by a key's home node, and a 5-node
// cluster where the write goes to a node that is not a home node and must
// forward it. Allocations include every node's.
func BenchmarkRoundTrip(b *testing.B) {
	ctx := context.Background()
	value := coordinator.Value(make([]byte, 100))
	for _, tc := range []struct {
		name    string
		nodes   int
		forward bool
	}{
		{"nodes=3", 3, false},
		{"nodes=5/forwarded", 5, true},
	} {
		c := clustertest.New(b, tc.nodes, clustertest.Config())
		keys := make([][]byte, 64)
		for i := range keys {
			keys[i] = fmt.Appendf(nil, "bench:%d", i)
		}
		coord := func(key []byte) *coordinator.Coordinator {
			home := c.Home(key)
			if !tc.forward {
				return c.Node(home[0]).Coord
			}
			for _, id := range c.IDs() {
				if !slices.Contains(home[:3], id) {
					return c.Node(id).Coord
				}
			}
			b.Fatal("no node outside the home nodes")
			return nil
		}
		b.Run(tc.name+"/put", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				key := keys[i%len(keys)]
				i++
				if _, err := coord(key).Put(ctx, key, coordinator.Write{Supersede: true, Value: value}); err != nil {
					b.Fatal(err)
				}
			}
		})
		if tc.forward {
			continue // reads are not forwarded
		}
		b.Run(tc.name+"/get", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				key := keys[i%len(keys)]
				i++
				if _, err := coord(key).Get(ctx, key, coordinator.ReadOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
