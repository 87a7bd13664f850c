package version

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func BenchmarkVVCompare(b *testing.B) {
	for _, n := range []int{1, 3, 8} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			x := wideVV(rand.New(rand.NewPCG(uint64(n), 1)), n)
			y := x.With(Dot{Actor: x[0].Actor, Counter: x[0].Counter + 1}) // y descends x
			b.ReportAllocs()
			for b.Loop() {
				if x.Compare(y) != Before {
					b.Fatal("wrong order")
				}
			}
		})
	}
}

func BenchmarkVVJoin(b *testing.B) {
	for _, n := range []int{1, 3, 8} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			x := wideVV(rand.New(rand.NewPCG(uint64(n), 1)), n)
			y := wideVV(rand.New(rand.NewPCG(uint64(n), 2)), n)
			b.ReportAllocs()
			for b.Loop() {
				if len(x.Join(y)) < n {
					b.Fatal("wrong join")
				}
			}
		})
	}
}
