package chaos

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/internal/clustertest"
)

// Kind is a kind of fault.
type Kind uint8

const (
	// Kill kills one node as kill -9 would (what reached the OS survives)
	// and restarts it.
	Kill Kind = iota
	// KillHomes kills two of a cart's three home nodes in turn — the first,
	// then the second while the first is still down — and restarts them in
	// the same order.
	KillHomes
	// PowerLoss cuts one node's power (only synced data survives; in the
	// process durability mode its recent writes and hints are gone) and
	// restarts it. The run then lets hints and read repair restore every
	// cart on its home nodes before the next fault, so that no two power
	// losses ever take two copies of a write: with W=2 that is the most the
	// promise covers without fsync.
	PowerLoss
	// Halves partitions the cluster into two and three nodes.
	Halves
	// Isolate partitions one node from the other four.
	Isolate
	// Bridge splits the cluster into two pairs that cannot reach each other
	// but both reach the fifth node (Jepsen's bridge).
	Bridge
	// OneWay cuts one node's messages in one direction only: it cannot
	// reach the others, or they cannot reach it.
	OneWay
	// Drop fails a fraction of all peer messages.
	Drop
	// Delay delays a fraction of all peer messages, some beyond the
	// clients' deadline.
	Delay
	// HalvesKill partitions the cluster into two and three nodes and kills
	// a node of the three.
	HalvesKill

	numKinds
)

var kindNames = [numKinds]string{"kill", "kill-homes", "power-loss", "halves", "isolate", "bridge", "one-way", "drop", "delay", "halves+kill"}

// String returns the kind's name, as ParseKinds reads it.
func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Kinds returns every fault kind.
func Kinds() []Kind {
	ks := make([]Kind, numKinds)
	for i := range ks {
		ks[i] = Kind(i)
	}
	return ks
}

// ParseKinds parses a comma-separated list of fault kind names.
func ParseKinds(s string) ([]Kind, error) {
	var ks []Kind
	for name := range strings.SplitSeq(s, ",") {
		i := slices.Index(kindNames[:], strings.TrimSpace(name))
		if i < 0 {
			return nil, fmt.Errorf("chaos: unknown fault kind %q (known: %s)", name, strings.Join(kindNames[:], ", "))
		}
		ks = append(ks, Kind(i))
	}
	return ks, nil
}

// Fault is one scheduled fault: a sequence of actions on the cluster with a
// hold between consecutive ones. The fault is active from its first action
// to its last, which undoes it.
type Fault struct {
	Kind Kind
	Desc string
	// Minority lists the nodes cut off or down while the fault is active;
	// operations coordinated by the other nodes make the majority side.
	Minority []string
	// Settle: after the fault, wait until no hints are held and every
	// cart's home replicas hold what a full read returns.
	Settle  bool
	actions []func(c *target)
}

// Dropping and delaying.
const (
	dropRate  = 0.2 // fraction of messages Drop fails
	delayRate = 0.3 // fraction of messages Delay delays
	delayMax  = 1.2 // a delay is uniform in [0, delayMax × Config.OpTimeout)
)

// schedule draws faults from a seed. The faults depend on the seed, the
// node IDs, the carts' home nodes and the configuration only.
type schedule struct {
	rng   *rand.Rand
	ids   []string   // sorted
	homes [][]string // per cart
	kinds []Kind
	opTO  time.Duration
}

func newSchedule(cfg Config, ids []string, homes [][]string) *schedule {
	kinds := cfg.Kinds
	if len(kinds) == 0 {
		kinds = Kinds()
	}
	return &schedule{rng: rand.New(rand.NewPCG(cfg.Seed, 0xfa17)), ids: ids, homes: homes, kinds: kinds, opTO: cfg.OpTimeout}
}

// shuffled returns a random permutation of the node IDs.
func (s *schedule) shuffled() []string {
	ids := slices.Clone(s.ids)
	s.rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return ids
}

func (s *schedule) next() Fault {
	k := s.kinds[s.rng.IntN(len(s.kinds))]
	ids := s.shuffled()
	heal := func(t *target) { t.c.Heal() }
	switch k {
	case Kill:
		n := ids[0]
		return Fault{Kind: k, Desc: "kill " + n, Minority: []string{n}, actions: []func(*target){
			func(t *target) { t.kill(n) }, func(t *target) { t.restart(n) },
		}}
	case KillHomes:
		cart := s.rng.IntN(len(s.homes))
		h := slices.Clone(s.homes[cart])
		s.rng.Shuffle(len(h), func(i, j int) { h[i], h[j] = h[j], h[i] })
		a, b := h[0], h[1]
		return Fault{Kind: k, Desc: fmt.Sprintf("kill %s then %s (homes of cart:%d)", a, b, cart), Minority: []string{a, b},
			actions: []func(*target){
				func(t *target) { t.kill(a) }, func(t *target) { t.kill(b) },
				func(t *target) { t.restart(a) }, func(t *target) { t.restart(b) },
			}}
	case PowerLoss:
		n := ids[0]
		return Fault{Kind: k, Desc: "power loss " + n, Minority: []string{n}, Settle: true, actions: []func(*target){
			func(t *target) { t.powerLoss(n) }, func(t *target) { t.restart(n) },
		}}
	case Halves, Isolate:
		cut := 2
		if k == Isolate {
			cut = 1
		}
		minority, majority := ids[:cut], ids[cut:]
		return Fault{Kind: k, Desc: fmt.Sprintf("partition %v | %v", minority, majority), Minority: minority,
			actions: []func(*target){func(t *target) { t.c.Partition(minority, majority) }, heal}}
	case Bridge:
		left, mid, right := ids[:2], ids[2], ids[3:]
		return Fault{Kind: k, Desc: fmt.Sprintf("bridge %v - %s - %v", left, mid, right), actions: []func(*target){
			func(t *target) {
				for _, l := range left {
					for _, r := range right {
						t.c.Net.Cut(l, r)
						t.c.Net.Cut(r, l)
					}
				}
			}, heal,
		}}
	case OneWay:
		n, out := ids[0], s.rng.IntN(2) == 0
		desc := n + " cannot reach the others"
		if !out {
			desc = "the others cannot reach " + n
		}
		return Fault{Kind: k, Desc: "one-way: " + desc, Minority: []string{n}, actions: []func(*target){
			func(t *target) {
				for _, o := range ids[1:] {
					if out {
						t.c.Net.Cut(n, o)
					} else {
						t.c.Net.Cut(o, n)
					}
				}
			}, heal,
		}}
	case Drop, Delay:
		rng := &lockedRand{r: rand.New(rand.NewPCG(s.rng.Uint64(), s.rng.Uint64()))}
		limit := time.Duration(float64(s.opTO) * delayMax)
		hook := func(from, to string, req []byte) (time.Duration, error) {
			if k == Drop {
				if rng.float64() < dropRate {
					return 0, ErrDropped
				}
				return 0, nil
			}
			if rng.float64() < delayRate {
				return time.Duration(rng.float64() * float64(limit)), nil
			}
			return 0, nil
		}
		desc := fmt.Sprintf("drop %.0f%% of messages", dropRate*100)
		if k == Delay {
			desc = fmt.Sprintf("delay %.0f%% of messages up to %s", delayRate*100, limit)
		}
		return Fault{Kind: k, Desc: desc, actions: []func(*target){
			func(t *target) { t.c.Net.SetHook(hook) }, heal,
		}}
	case HalvesKill:
		minority, majority := ids[:2], ids[2:]
		victim := majority[0]
		return Fault{Kind: k, Desc: fmt.Sprintf("partition %v | %v, kill %s", minority, majority, victim),
			Minority: append(slices.Clone(minority), victim), actions: []func(*target){
				func(t *target) { t.c.Partition(minority, majority); t.kill(victim) },
				func(t *target) { t.restart(victim); t.c.Heal() },
			}}
	}
	panic(fmt.Sprintf("chaos: no fault of kind %s", k))
}

// target is the cluster as faults act on it. A kill or power loss of a
// node waits for the client operations it is coordinating: a coordinator
// must not be closed under a call in progress (coordinator.Close does not
// wait for one, and the work it starts in the background would race with
// Close). The client sees its connection end between two operations; the
// node's peers still see it die in the middle of theirs.
type target struct {
	c      *clustertest.Cluster
	fences map[string]*sync.RWMutex // per node; read-held by a client operation coordinated there
}

func newTarget(c *clustertest.Cluster) *target {
	t := &target{c: c, fences: map[string]*sync.RWMutex{}}
	for _, id := range c.IDs() {
		t.fences[id] = &sync.RWMutex{}
	}
	return t
}

func (t *target) kill(id string) {
	t.fences[id].Lock()
	defer t.fences[id].Unlock()
	t.c.Kill(id)
}

func (t *target) powerLoss(id string) {
	t.fences[id].Lock()
	defer t.fences[id].Unlock()
	t.c.PowerLoss(id)
}

func (t *target) restart(id string) { t.c.Restart(id) }

// coordinator returns node id's coordinator with its fence read-held, or
// nil if the node is down. The caller calls release when done.
func (t *target) coordinator(id string) (co *coordinator.Coordinator, release func()) {
	f := t.fences[id]
	f.RLock()
	if co = t.c.Node(id).Coord; co == nil {
		f.RUnlock()
		return nil, nil
	}
	return co, f.RUnlock
}

// lockedRand is a rand.Rand for the network hook, which runs on many
// goroutines at once.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (l *lockedRand) float64() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}
