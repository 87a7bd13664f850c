package replica

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/dynkv/dynkv/version"
	"github.com/stretchr/testify/require"
)

// benchStores are the filesystems benchmarks run on: pebble's in-memory
// one, and a real temporary directory.
var benchStores = []struct {
	name string
	open func(b *testing.B, d Durability) *Store
}{
	{name: "mem", open: func(b *testing.B, d Durability) *Store {
		s, err := Open(Config{Dir: "db", FS: vfs.NewMem(), Durability: d, CacheBytes: 8 << 20})
		require.NoError(b, err)
		b.Cleanup(func() { _ = s.Close() })
		return s
	}},
	{name: "disk", open: func(b *testing.B, d Durability) *Store {
		s, err := Open(Config{Dir: b.TempDir(), Durability: d, CacheBytes: 8 << 20})
		require.NoError(b, err)
		b.Cleanup(func() { _ = s.Close() })
		return s
	}},
}

func BenchmarkStorePut(b *testing.B) {
	ctx := context.Background()
	value := make([]byte, 100)
	for _, bs := range benchStores {
		for _, d := range []Durability{DurabilityNone, DurabilityProcess, DurabilityFsync} {
			b.Run(bs.name+"/"+string(d), func(b *testing.B) {
				s := bs.open(b, d)
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					key := fmt.Appendf(nil, "key:%d", i%1000)
					i++
					_, err := s.Update(ctx, key, func(cur version.Siblings) (version.Siblings, error) {
						return version.Update(cur, s.Actor(), cur.Context(), int64(i), value, false), nil
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkStoreGet(b *testing.B) {
	ctx := context.Background()
	const keys = 1000
	for _, bs := range benchStores {
		for _, siblings := range []int{1, 3} {
			b.Run(fmt.Sprintf("%s/siblings=%d", bs.name, siblings), func(b *testing.B) {
				s := bs.open(b, DurabilityNone)
				for k := range keys {
					for range siblings {
						_, err := s.Update(ctx, fmt.Appendf(nil, "key:%d", k), func(cur version.Siblings) (version.Siblings, error) {
							return version.Update(cur, s.Actor(), nil, 1, make([]byte, 100), false), nil
						})
						require.NoError(b, err)
					}
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					ss, err := s.Get(ctx, fmt.Appendf(nil, "key:%d", i%keys))
					i++
					if err != nil || len(ss) != siblings {
						b.Fatal(err, len(ss))
					}
				}
			})
		}
	}
}

// benchSet returns a sibling set of n concurrent writes by different
// actors, each written over a context of the others' previous writes.
func benchSet(n int, actorBase version.Actor) version.Siblings {
	var ss version.Siblings
	var ctx version.VV
	for i := range n {
		ctx = ctx.With(version.Dot{Actor: actorBase + version.Actor(i), Counter: 3})
	}
	for i := range n {
		a := actorBase + version.Actor(i)
		ss = append(ss, version.Sibling{Dot: version.Dot{Actor: a, Counter: 4}, Past: ctx, Timestamp: int64(i), Value: make([]byte, 100)})
	}
	return normalizeSibs(ss)
}

func BenchmarkSync(b *testing.B) {
	for _, n := range []int{1, 3, 8} {
		b.Run(fmt.Sprintf("siblings=%d", n), func(b *testing.B) {
			x, y := benchSet(n, 1), benchSet(n, 100)
			b.ReportAllocs()
			for b.Loop() {
				if len(version.Sync(x, y)) != 2*n {
					b.Fatal("wrong merge")
				}
			}
		})
	}
}

func BenchmarkUpdate(b *testing.B) {
	for _, n := range []int{1, 3, 8} {
		b.Run(fmt.Sprintf("siblings=%d", n), func(b *testing.B) {
			cur := benchSet(n, 1)
			ctx := cur.Context()
			value := make([]byte, 100)
			b.ReportAllocs()
			for b.Loop() {
				if len(version.Update(cur, 1, ctx, 1, value, false)) != 1 {
					b.Fatal("wrong update")
				}
			}
		})
	}
}

func BenchmarkEncodeRecord(b *testing.B) {
	for _, n := range []int{1, 3, 8} {
		b.Run(fmt.Sprintf("siblings=%d", n), func(b *testing.B) {
			ss := benchSet(n, 1)
			b.SetBytes(int64(len(version.EncodeRecord(ss))))
			b.ReportAllocs()
			for b.Loop() {
				version.EncodeRecord(ss)
			}
		})
	}
}

func BenchmarkDecodeRecord(b *testing.B) {
	for _, n := range []int{1, 3, 8} {
		b.Run(fmt.Sprintf("siblings=%d", n), func(b *testing.B) {
			enc := version.EncodeRecord(benchSet(n, 1))
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := version.DecodeRecord(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkContextCodec(b *testing.B) {
	for _, n := range []int{1, 3, 8} {
		v := wideVV(rand.New(rand.NewPCG(uint64(n), 0)), n)
		b.Run(fmt.Sprintf("encode/entries=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				version.EncodeContext(v)
			}
		})
		b.Run(fmt.Sprintf("decode/entries=%d", n), func(b *testing.B) {
			enc := version.EncodeContext(v)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := version.DecodeContext(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStorePutParallel: writes from 50 goroutines (as many
// connections) to 100,000 keys, on disk, durability process: what group
// commit (committer.go) is for. Run with -cpu 2 for this machine's shape.
func BenchmarkStorePutParallel(b *testing.B) {
	ctx := context.Background()
	value := make([]byte, 100)
	s, err := Open(Config{Dir: b.TempDir(), Durability: DurabilityProcess})
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	b.SetParallelism(25)
	b.ReportAllocs()
	var seed atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(seed.Add(1), 0))
		key := make([]byte, 0, 16)
		for pb.Next() {
			key = fmt.Appendf(key[:0], "key:%06d", rng.IntN(100_000))
			_, err := s.Update(ctx, key, func(cur version.Siblings) (version.Siblings, error) {
				return version.Update(cur, s.Actor(), cur.Context(), 1, value, false), nil
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkStoreGetCached: reads of 100,000 keys, all in the record cache,
// at random: the cost of a cache lookup over a working set larger than the
// processor's caches.
func BenchmarkStoreGetCached(b *testing.B) {
	ctx := context.Background()
	s, err := Open(Config{Dir: "db", FS: vfs.NewMem(), Durability: DurabilityNone})
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	keys := make([][]byte, 100_000)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key:%06d", i)
		_, err := s.Update(ctx, keys[i], func(cur version.Siblings) (version.Siblings, error) {
			return version.Update(cur, s.Actor(), nil, 1, make([]byte, 100), false), nil
		})
		require.NoError(b, err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(ctx, keys[rng.IntN(len(keys))]); err != nil {
			b.Fatal(err)
		}
	}
}
