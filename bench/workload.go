package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
)

// Workload names.
const (
	WorkSet   = "set"   // SET of uniformly random keys
	WorkGet   = "get"   // GET of uniformly random keys, after a prefill
	WorkMixed = "mixed" // 50% GET, 50% SET, uniformly random keys
	WorkZipf  = "zipf"  // 90% GET, 10% SET, keys by Zipfian popularity (θ = 0.99)
	WorkCart  = "cart"  // DGET then DPUT with the context read, several writers per cart key
	workFill  = "fill"  // SET of every key once, in order (the prefill)
)

// Workloads lists the workload names, in the order reports show them.
var Workloads = []string{WorkSet, WorkGet, WorkMixed, WorkZipf, WorkCart}

// zipfTheta is the skew of the zipf workload, YCSB's default: the most
// popular key of 100000 gets about 8% of the requests.
const zipfTheta = 0.99

// keyName appends the name of key i of the key space of values of size
// value: keys of each value size are apart, so a GET of the 10 KB key
// space finds 10 KB values.
func keyName(b []byte, value, i int) []byte {
	b = append(b, 'k')
	b = strconv.AppendInt(b, int64(value), 10)
	b = append(b, ':')
	return strconv.AppendInt(b, int64(i), 10)
}

// cartKey returns the name of cart i.
func cartKey(i int) []byte { return fmt.Appendf(nil, "cart:%d", i) }

// zipf draws ranks in [0, n) with Zipfian popularity, rank 0 the most
// popular, by the method of Gray et al. ("Quickly generating billion-record
// synthetic databases", SIGMOD 1994) that YCSB uses. It is immutable once
// built and shared by the generators of one load.
type zipf struct {
	n                   float64
	theta, alpha, eta   float64
	zetan, halfPowTheta float64
}

func newZipf(n int, theta float64) *zipf {
	zeta := func(n int) float64 {
		s := 0.0
		for i := 1; i <= n; i++ {
			s += 1 / math.Pow(float64(i), theta)
		}
		return s
	}
	z := &zipf{n: float64(n), theta: theta, alpha: 1 / (1 - theta), zetan: zeta(n), halfPowTheta: math.Pow(0.5, theta)}
	z.eta = (1 - math.Pow(2/z.n, 1-theta)) / (1 - zeta(2)/z.zetan)
	return z
}

func (z *zipf) next(rng *rand.Rand) int {
	u := rng.Float64()
	uz := u * z.zetan
	switch {
	case uz < 1:
		return 0
	case uz < 1+z.halfPowTheta:
		return 1
	}
	r := int(z.n * math.Pow(z.eta*u-z.eta+1, z.alpha))
	return min(max(r, 0), int(z.n)-1)
}

// gen writes the requests of one connection of a stateless workload (every
// workload but cart). It is used by one goroutine.
type gen struct {
	work  string
	keys  int
	names [][]byte // Load.KeyNames
	size  int      // value size
	value []byte
	rng   *rand.Rand
	zipf  *zipf
	fill  struct{ next, step int } // fill: the next key and the stride
	key   []byte                   // scratch
}

var (
	cmdSet = []byte("SET")
	cmdGet = []byte("GET")
)

// newGen returns the generator of connection conn of conns.
func newGen(l Load, conn, conns int, z *zipf) *gen {
	g := &gen{work: l.Workload, keys: l.Keys, names: l.KeyNames, size: l.Value, zipf: z,
		rng: rand.New(rand.NewPCG(l.Seed, uint64(conn)))}
	g.fill.next, g.fill.step = conn, conns
	if len(l.KeyNames) > 0 {
		g.keys = len(l.KeyNames)
	}
	// Random printable bytes: a value of one repeated byte would compress
	// to nothing in a store that compresses.
	g.value = make([]byte, l.Value)
	for i := range g.value {
		g.value[i] = 'a' + byte(g.rng.IntN(26))
	}
	return g
}

// next appends the next request to b. It returns false when a fill is done.
func (g *gen) next(b []byte) ([]byte, bool) {
	set := false
	var k int
	switch g.work {
	case WorkSet:
		set, k = true, g.rng.IntN(g.keys)
	case WorkGet:
		k = g.rng.IntN(g.keys)
	case WorkMixed:
		set, k = g.rng.IntN(2) == 0, g.rng.IntN(g.keys)
	case WorkZipf:
		set, k = g.rng.IntN(10) == 0, g.zipf.next(g.rng)
	case workFill:
		if g.fill.next >= g.keys {
			return b, false
		}
		set, k = true, g.fill.next
		g.fill.next += g.fill.step
	}
	if len(g.names) > 0 {
		g.key = g.names[k%len(g.names)]
	} else {
		g.key = keyName(g.key[:0], g.size, k)
	}
	if set {
		return appendCommand(b, cmdSet, g.key, g.value), true
	}
	return appendCommand(b, cmdGet, g.key), true
}
