package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

var (
	_ Engine = (*Pebble)(nil)
	_ Engine = (*Memory)(nil)
)

// xorMerger merges 8-byte big-endian values by XOR. Operands of another
// length count as zero.
var xorMerger = &pebble.Merger{
	Name: "engine_test.xor64",
	Merge: func(_, value []byte) (pebble.ValueMerger, error) {
		return &xorValueMerger{sum: u64(value)}, nil
	},
}

type xorValueMerger struct{ sum uint64 }

func (m *xorValueMerger) MergeNewer(v []byte) error { m.sum ^= u64(v); return nil }
func (m *xorValueMerger) MergeOlder(v []byte) error { m.sum ^= u64(v); return nil }
func (m *xorValueMerger) Finish(bool) ([]byte, io.Closer, error) {
	return val(m.sum), nil, nil
}

// xorMerge is xorMerger for Memory.
func xorMerge(old, operand []byte) []byte { return val(u64(old) ^ u64(operand)) }

func u64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func val(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// quiet is a pebble logger that drops what pebble logs.
type quiet struct{}

func (quiet) Infof(string, ...any)           {}
func (quiet) Errorf(string, ...any)          {}
func (quiet) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }

func newTestPebble(tb testing.TB) *Pebble {
	tb.Helper()
	db, err := pebble.Open("db", &pebble.Options{FS: vfs.NewMem(), Merger: xorMerger, Logger: quiet{}})
	if err != nil {
		tb.Fatal(err)
	}
	p := NewPebble(db)
	tb.Cleanup(func() {
		if err := p.Close(); err != nil {
			tb.Errorf("close pebble: %v", err)
		}
	})
	return p
}

func newTestMemory(tb testing.TB) *Memory {
	tb.Helper()
	m, err := NewMemory(MemoryOptions{Merge: xorMerge})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = m.Close() })
	return m
}

// engines lists every implementation, for the conformance tests.
var engines = []struct {
	name string
	open func(testing.TB) Engine
}{
	{"pebble", func(tb testing.TB) Engine { return newTestPebble(tb) }},
	{"memory", func(tb testing.TB) Engine { return newTestMemory(tb) }},
}

type writeKind uint8

const (
	wSet writeKind = iota
	wDelete
	wDeleteRange
	wMerge
)

// write is one write of a batch: key is the start of a range delete.
type write struct {
	kind            writeKind
	key, value, end []byte
}

func (w write) String() string {
	switch w.kind {
	case wSet:
		return fmt.Sprintf("set %q=%x", w.key, w.value)
	case wDelete:
		return fmt.Sprintf("delete %q", w.key)
	case wDeleteRange:
		return fmt.Sprintf("deleterange [%q, %q)", w.key, w.end)
	default:
		return fmt.Sprintf("merge %q^%x", w.key, w.value)
	}
}

// applyOne writes w with the engine's single-write method.
func applyOne(e Engine, w write, sync bool) error {
	switch w.kind {
	case wSet:
		return e.Set(w.key, w.value, sync)
	case wDelete:
		return e.Delete(w.key, sync)
	case wDeleteRange:
		return e.DeleteRange(w.key, w.end, sync)
	default:
		return e.Merge(w.key, w.value, sync)
	}
}

// addTo adds w to b.
func addTo(b Batch, w write) {
	switch w.kind {
	case wSet:
		b.Set(w.key, w.value)
	case wDelete:
		b.Delete(w.key)
	case wDeleteRange:
		b.DeleteRange(w.key, w.end)
	default:
		b.Merge(w.key, w.value)
	}
}

func commit(e Engine, ws []write, sync bool) error {
	b := e.NewBatch()
	for _, w := range ws {
		addTo(b, w)
	}
	if err := b.Commit(sync); err != nil {
		_ = b.Close()
		return err
	}
	return b.Close()
}

// model is the reference: a plain map, merged the naive way.
type model map[string][]byte

func (m model) apply(w write) {
	k := string(w.key)
	switch w.kind {
	case wSet:
		m[k] = bytes.Clone(w.value)
	case wDelete:
		delete(m, k)
	case wDeleteRange:
		for mk := range m {
			if mk >= k && mk < string(w.end) {
				delete(m, mk)
			}
		}
	case wMerge:
		var sum uint64
		if old, ok := m[k]; ok {
			sum = binary.BigEndian.Uint64(old)
		}
		m[k] = val(sum ^ binary.BigEndian.Uint64(w.value))
	}
}

// scan returns the model's keys in [lower, upper) in order; nil bounds are
// open.
func (m model) scan(lower, upper []byte) []string {
	var ks []string
	for k := range m {
		if (lower == nil || k >= string(lower)) && (upper == nil || k < string(upper)) {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

// bytes is the sum of len(key)+len(value), what Memory.Bytes counts.
func (m model) bytes() int64 {
	var n int64
	for k, v := range m {
		n += int64(len(k) + len(v))
	}
	return n
}

// gen draws writes over a small key space: the empty key and keys under
// the one-byte prefixes a, b and c.
type gen struct {
	r      *rand.Rand
	keys   [][]byte
	bounds [][]byte // keys and points between them
}

func newGen(seed uint64, prefixes string) *gen {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed))}
	g.keys = append(g.keys, []byte{})
	for _, p := range prefixes {
		for _, s := range []string{"", "0", "00", "1", "2", "3", "\xff"} {
			g.keys = append(g.keys, []byte(string(p)+s))
		}
	}
	g.bounds = slices.Clone(g.keys)
	for _, p := range prefixes {
		g.bounds = append(g.bounds, []byte(string(p)+"\x00"), []byte(string(p)+"15"), []byte(string(p)+"\xff\xff"))
	}
	g.bounds = append(g.bounds, []byte("\x00"), []byte("\xff"), []byte("zz"))
	return g
}

func (g *gen) key() []byte   { return bytes.Clone(g.keys[g.r.IntN(len(g.keys))]) }
func (g *gen) bound() []byte { return bytes.Clone(g.bounds[g.r.IntN(len(g.bounds))]) }

// span returns start < end, start not the empty key: pebble in race and
// invariants builds sometimes copies an empty span start into a nil buffer,
// and a range delete from "" then also deletes its end key once flushed.
func (g *gen) span() (start, end []byte) {
	for {
		a, b := g.bound(), g.bound()
		if bytes.Compare(a, b) > 0 {
			a, b = b, a
		}
		if len(a) > 0 && bytes.Compare(a, b) < 0 {
			return a, b
		}
	}
}

// iterBounds returns lower <= upper, either possibly nil, neither the
// empty key (see TestEngine_EmptyBoundIsNoBound).
func (g *gen) iterBounds() (lower, upper []byte) {
	if g.r.IntN(4) > 0 {
		lower = g.bound()
	}
	if g.r.IntN(4) > 0 {
		upper = g.bound()
	}
	if lower != nil && upper != nil && bytes.Compare(lower, upper) > 0 {
		lower, upper = upper, lower
	}
	if len(lower) == 0 {
		lower = nil
	}
	if len(upper) == 0 {
		upper = nil
	}
	return lower, upper
}

func (g *gen) write() write {
	n := g.r.IntN(100)
	switch {
	case n < 40:
		return write{kind: wSet, key: g.key(), value: val(g.r.Uint64())}
	case n < 60:
		return write{kind: wDelete, key: g.key()}
	case n < 70:
		s, e := g.span()
		return write{kind: wDeleteRange, key: s, end: e}
	default:
		return write{kind: wMerge, key: g.key(), value: val(g.r.Uint64())}
	}
}

// checkGets compares the engine's value of every key with the model's.
func checkGets(t *testing.T, e Engine, m model, keys [][]byte) {
	t.Helper()
	for _, k := range keys {
		v, c, err := e.Get(k)
		want, ok := m[string(k)]
		switch {
		case !ok && !errors.Is(err, ErrNotFound):
			t.Fatalf("get %q = %x, %v; want ErrNotFound", k, v, err)
		case ok && err != nil:
			t.Fatalf("get %q: %v; want %x", k, err, want)
		case ok && !bytes.Equal(v, want):
			t.Fatalf("get %q = %x; want %x", k, v, want)
		}
		if err == nil {
			if err := c.Close(); err != nil {
				t.Fatalf("get %q: close: %v", k, err)
			}
		}
	}
}

// collect walks it from First and returns its keys and values, copied.
func collect(t *testing.T, it Iterator) (keys []string, vals [][]byte) {
	t.Helper()
	for ok := it.First(); ok; ok = it.Next() {
		if !it.Valid() {
			t.Fatal("iterator moved to a key but is not valid")
		}
		keys = append(keys, string(it.Key()))
		vals = append(vals, bytes.Clone(it.Value()))
	}
	if it.Valid() {
		t.Fatal("iterator valid after First or Next returned false")
	}
	if it.Next() {
		t.Fatal("Next moved an exhausted iterator")
	}
	if err := it.Error(); err != nil {
		t.Fatalf("iterator error: %v", err)
	}
	return keys, vals
}

// checkIter compares the keys and values of NewIter(lower, upper) with
// the model's, walking twice to check that First rewinds.
func checkIter(t *testing.T, e Engine, m model, lower, upper []byte) {
	t.Helper()
	it, err := e.NewIter(lower, upper)
	if err != nil {
		t.Fatalf("iter [%q, %q): %v", lower, upper, err)
	}
	defer func() {
		if err := it.Close(); err != nil {
			t.Fatalf("iter close: %v", err)
		}
	}()
	want := m.scan(lower, upper)
	for range 2 {
		keys, vals := collect(t, it)
		if !slices.Equal(keys, want) {
			t.Fatalf("iter [%q, %q) keys %q; want %q", lower, upper, keys, want)
		}
		for i, k := range keys {
			if !bytes.Equal(vals[i], m[k]) {
				t.Fatalf("iter [%q, %q) value of %q = %x; want %x", lower, upper, k, vals[i], m[k])
			}
		}
	}
}

// TestEngine_Model runs one seeded random sequence of writes against each
// engine and checks every key and random ranges against a map after every
// step.
func TestEngine_Model(t *testing.T) {
	const seed, steps = 20260601, 3000
	t.Logf("seed %d", seed)
	for _, ec := range engines {
		t.Run(ec.name, func(t *testing.T) {
			e := ec.open(t)
			g := newGen(seed, "abc")
			m := model{}
			var last []write
			for step := range steps {
				var ws []write
				sync := g.r.IntN(8) == 0
				switch n := g.r.IntN(100); {
				case n < 60: // one write
					ws = []write{g.write()}
					if err := applyOne(e, ws[0], sync); err != nil {
						t.Fatalf("step %d: %v: %v", step, ws[0], err)
					}
				case n < 95: // a batch, often writing a key twice
					for range 2 + g.r.IntN(5) {
						ws = append(ws, g.write())
					}
					if err := commit(e, ws, sync); err != nil {
						t.Fatalf("step %d: batch %v: %v", step, ws, err)
					}
				case n < 98: // a batch closed without Commit writes nothing
					b := e.NewBatch()
					for range 3 {
						addTo(b, g.write())
					}
					if err := b.Close(); err != nil {
						t.Fatalf("step %d: close batch: %v", step, err)
					}
				default:
					ch, err := e.Flush()
					if err != nil {
						t.Fatalf("step %d: flush: %v", step, err)
					}
					<-ch
				}
				for _, w := range ws {
					m.apply(w)
				}
				if len(ws) > 0 {
					last = ws
				}
				func() {
					defer func() {
						if t.Failed() {
							t.Logf("step %d, last writes %v", step, last)
						}
					}()
					checkGets(t, e, m, g.keys)
					for range 2 {
						lower, upper := g.iterBounds()
						checkIter(t, e, m, lower, upper)
					}
					if mem, ok := e.(*Memory); ok {
						if got, want := mem.Bytes(), m.bytes(); got != want {
							t.Fatalf("Bytes() = %d; want %d", got, want)
						}
					}
				}()
			}
		})
	}
}

// TestEngine_WriteSemantics pins the cases the random test may reach
// rarely, each from an empty engine.
func TestEngine_WriteSemantics(t *testing.T) {
	k := func(s string) []byte { return []byte(s) }
	set := func(key string, v uint64) write { return write{kind: wSet, key: k(key), value: val(v)} }
	merge := func(key string, v uint64) write { return write{kind: wMerge, key: k(key), value: val(v)} }
	del := func(key string) write { return write{kind: wDelete, key: k(key)} }
	delRange := func(s, e string) write { return write{kind: wDeleteRange, key: k(s), end: k(e)} }
	cases := []struct {
		name  string
		steps [][]write // each a batch; a batch of one uses the single-write method
	}{
		{"DeleteRangeKeepsEnd", [][]write{{set("a", 1), set("b", 2), set("c", 3)}, {delRange("a", "c")}}},
		{"DeleteRangeStartOnly", [][]write{{set("a", 1), set("a\x00", 2)}, {delRange("a", "a\x00")}}},
		{"MergeMissing", [][]write{{merge("a", 5)}}},
		{"MergeTwice", [][]write{{merge("a", 5)}, {merge("a", 3)}}},
		{"MergeOverSet", [][]write{{set("a", 12)}, {merge("a", 10)}}},
		{"MergeAfterDelete", [][]write{{set("a", 12)}, {del("a")}, {merge("a", 10)}}},
		{"MergeAfterDeleteRange", [][]write{{set("a", 12)}, {delRange("a", "b")}, {merge("a", 10)}}},
		{"BatchSetThenDeleteRange", [][]write{{set("a", 1), delRange("a", "b")}}},
		{"BatchDeleteRangeThenSet", [][]write{{set("a", 1)}, {delRange("a", "b"), set("a", 2)}}},
		{"BatchDeleteRangeThenMerge", [][]write{{set("a", 1)}, {delRange("a", "b"), merge("a", 2)}}},
		{"BatchSetMergeMerge", [][]write{{set("a", 1), merge("a", 2), merge("a", 4)}}},
		{"BatchDeleteThenSet", [][]write{{set("a", 1)}, {del("a"), set("a", 3)}}},
		{"BatchOverwrite", [][]write{{set("a", 1), set("a", 2)}}},
		{"EmptyKey", [][]write{{set("", 1)}, {merge("", 2)}, {set("a", 3)}}},
	}
	keys := [][]byte{k(""), k("a"), k("a\x00"), k("b"), k("c")}
	for _, ec := range engines {
		t.Run(ec.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					e := ec.open(t)
					m := model{}
					for _, ws := range tc.steps {
						var err error
						if len(ws) == 1 {
							err = applyOne(e, ws[0], false)
						} else {
							err = commit(e, ws, false)
						}
						if err != nil {
							t.Fatalf("%v: %v", ws, err)
						}
						for _, w := range ws {
							m.apply(w)
						}
					}
					checkGets(t, e, m, keys)
					checkIter(t, e, m, nil, nil)
					checkIter(t, e, m, k("a"), k("c"))
				})
			}
		})
	}
}

// TestEngine_EmptyBoundIsNoBound: an empty lower or upper bound is no
// bound. Pebble copies bounds into its iterator's buffer, where an empty
// bound becomes nil only if the buffer is new: so each round first opens
// and closes a bounded iterator (which a pooled iterator then reuses), and
// the last round keeps sixteen iterators open at once (which are new).
func TestEngine_EmptyBoundIsNoBound(t *testing.T) {
	bounds := []struct{ lower, upper []byte }{{[]byte{}, nil}, {nil, []byte{}}, {[]byte{}, []byte{}}}
	for _, ec := range engines {
		t.Run(ec.name, func(t *testing.T) {
			e := ec.open(t)
			m := model{}
			for _, k := range []string{"", "a", "b"} {
				w := write{kind: wSet, key: []byte(k), value: val(1)}
				if err := applyOne(e, w, false); err != nil {
					t.Fatal(err)
				}
				m.apply(w)
			}
			want := m.scan(nil, nil)
			check := func(round int, it Iterator, b int) {
				t.Helper()
				keys, p := collectRecover(t, it)
				if p != nil {
					t.Fatalf("round %d: iterator over [%q, %q) panicked: %v", round, bounds[b].lower, bounds[b].upper, p)
				}
				if !slices.Equal(keys, want) {
					t.Fatalf("round %d: iterator over [%q, %q) (lower nil: %v, upper nil: %v) returned %q; want %q",
						round, bounds[b].lower, bounds[b].upper, bounds[b].lower == nil, bounds[b].upper == nil, keys, want)
				}
			}
			for round := range 16 {
				for b := range bounds {
					checkIter(t, e, m, []byte("a"), []byte("b"))
					it, err := e.NewIter(bounds[b].lower, bounds[b].upper)
					if err != nil {
						t.Fatal(err)
					}
					func() {
						defer it.Close()
						check(round, it, b)
					}()
				}
			}
			for i := range 16 {
				b := i % len(bounds)
				it, err := e.NewIter(bounds[b].lower, bounds[b].upper)
				if err != nil {
					t.Fatal(err)
				}
				defer it.Close()
				check(16, it, b)
			}
		})
	}
}

// collectRecover is collect, returning what it panicked with, if it did.
func collectRecover(t *testing.T, it Iterator) (keys []string, p any) {
	t.Helper()
	defer func() { p = recover() }()
	keys, _ = collect(t, it)
	return keys, nil
}

// TestEngine_CallerReusesBuffers: keys, values and bounds passed in may be
// overwritten once the call returns.
func TestEngine_CallerReusesBuffers(t *testing.T) {
	for _, ec := range engines {
		t.Run(ec.name, func(t *testing.T) {
			e := ec.open(t)
			k, v := []byte("k1"), val(7)
			if err := e.Set(k, v, false); err != nil {
				t.Fatal(err)
			}
			k[1], v[7] = '2', 8
			b := e.NewBatch()
			b.Set(k, v) // k2 = 8
			k[1], v[7] = '3', 9
			b.Merge(k, v) // k3 = 9
			start, end := []byte("x1"), []byte("x3")
			b.DeleteRange(start, end)
			start[0], end[0] = 'k', 'k' // the batch deletes x1..x3, not k1..k3
			if err := b.Commit(false); err != nil {
				t.Fatal(err)
			}
			_ = b.Close()
			k[1], v[7] = '4', 10
			m := model{"k1": val(7), "k2": val(8), "k3": val(9)}
			lower, upper := []byte("k1"), []byte("k3")
			it, err := e.NewIter(lower, upper)
			if err != nil {
				t.Fatal(err)
			}
			defer it.Close()
			lower[1], upper[1] = '0', '9'
			keys, _ := collect(t, it)
			if want := []string{"k1", "k2"}; !slices.Equal(keys, want) {
				t.Fatalf("iter keys %q; want %q", keys, want)
			}
			checkGets(t, e, m, [][]byte{[]byte("k1"), []byte("k2"), []byte("k3"), []byte("k4")})
		})
	}
}

// TestEngine_IterSnapshot: an iterator sees the engine as it was at
// NewIter for its whole walk, whatever is written meanwhile; a new
// iterator sees the writes.
func TestEngine_IterSnapshot(t *testing.T) {
	for _, ec := range engines {
		t.Run(ec.name, func(t *testing.T) {
			e := ec.open(t)
			m := model{}
			for i := range 10 {
				w := write{kind: wSet, key: fmt.Appendf(nil, "k%d", i), value: val(uint64(i))}
				if err := applyOne(e, w, false); err != nil {
					t.Fatal(err)
				}
				m.apply(w)
			}
			old := model{}
			for k, v := range m {
				old[k] = v
			}
			full, err := e.NewIter(nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer full.Close()
			bounded, err := e.NewIter([]byte("k2"), []byte("k8"))
			if err != nil {
				t.Fatal(err)
			}
			defer bounded.Close()
			writes := [][]write{
				{{kind: wSet, key: []byte("k5"), value: val(50)}},  // overwrite ahead
				{{kind: wDelete, key: []byte("k3")}},               // delete ahead
				{{kind: wSet, key: []byte("k35"), value: val(35)}}, // insert ahead
				{{kind: wDeleteRange, key: []byte("k6"), end: []byte("k8")}},
				{{kind: wMerge, key: []byte("k9"), value: val(1)}},
				{{kind: wDelete, key: []byte("k0")}}, // delete behind
				{{kind: wSet, key: []byte("k4"), value: val(40)}, {kind: wDelete, key: []byte("k8")}},
				{{kind: wDeleteRange, key: []byte("k"), end: []byte("l")}}, // everything
				{{kind: wSet, key: []byte("k7"), value: val(70)}},
			}
			walk := func(it Iterator, lower, upper string, writes [][]write) {
				t.Helper()
				var keys []string
				i := 0
				for ok := it.First(); ok; ok = it.Next() {
					k, v := string(it.Key()), it.Value()
					if !bytes.Equal(v, old[k]) {
						t.Fatalf("old iterator: %q = %x; want %x", k, v, old[k])
					}
					keys = append(keys, k)
					if i < len(writes) {
						ws := writes[i]
						if err := commit(e, ws, false); err != nil {
							t.Fatal(err)
						}
						for _, w := range ws {
							m.apply(w)
						}
						i++
					}
				}
				if err := it.Error(); err != nil {
					t.Fatal(err)
				}
				if want := old.scan([]byte(lower), []byte(upper)); !slices.Equal(keys, want) {
					t.Fatalf("old iterator keys %q; want %q", keys, want)
				}
			}
			walk(full, "", "zz", writes)
			if len(m) != 1 {
				t.Fatalf("the writes left %d keys; want 1", len(m))
			}
			// bounded was opened before all the writes too.
			walk(bounded, "k2", "k8", [][]write{
				{{kind: wSet, key: []byte("k3"), value: val(33)}},
				{{kind: wSet, key: []byte("k2"), value: val(22)}}, // behind
				{{kind: wDeleteRange, key: []byte("k0"), end: []byte("k9")}},
				{{kind: wSet, key: []byte("k6"), value: val(66)}, {kind: wMerge, key: []byte("k5"), value: val(5)}},
			})
			checkGets(t, e, m, [][]byte{[]byte("k0"), []byte("k3"), []byte("k5"), []byte("k7"), []byte("k9")})
			checkIter(t, e, m, nil, nil)
			checkIter(t, e, m, []byte("k2"), []byte("k8"))
		})
	}
}

func BenchmarkEngineSetGet(b *testing.B) {
	const nKeys = 100_000
	keys := make([][]byte, nKeys)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key%08d", i)
	}
	value := []byte(strings.Repeat("v", 100))
	for _, ec := range engines {
		b.Run(ec.name, func(b *testing.B) {
			b.Run("Set", func(b *testing.B) {
				e := ec.open(b)
				b.ReportAllocs()
				b.SetBytes(int64(len(value)))
				i := 0
				for b.Loop() {
					if err := e.Set(keys[i%nKeys], value, false); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run("Get", func(b *testing.B) {
				e := ec.open(b)
				for _, k := range keys {
					if err := e.Set(k, value, false); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				b.SetBytes(int64(len(value)))
				i := 0
				for b.Loop() {
					v, c, err := e.Get(keys[i%nKeys])
					if err != nil || len(v) != len(value) {
						b.Fatalf("get: %d bytes, %v", len(v), err)
					}
					_ = c.Close()
					i++
				}
			})
		})
	}
}
