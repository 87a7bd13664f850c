package engine

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

func TestMemory_SyncNotDurable(t *testing.T) {
	m := newTestMemory(t)
	if err := m.Set([]byte("k"), []byte("v"), true); err != nil {
		t.Fatal(err)
	}
	if err := m.Sync(); !errors.Is(err, ErrNotDurable) {
		t.Fatalf("Sync() = %v; want ErrNotDurable", err)
	}
	if n := m.DiskSpaceUsage(); n != 0 {
		t.Fatalf("DiskSpaceUsage() = %d; want 0", n)
	}
}

func TestMemory_Closed(t *testing.T) {
	m := newTestMemory(t)
	k := []byte("k")
	if err := m.Set(k, val(1), false); err != nil {
		t.Fatal(err)
	}
	early := m.NewBatch()
	early.Set([]byte("early"), val(2))
	if err := m.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	cases := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, _, err := m.Get(k); return err }},
		{"NewIter", func() error { _, err := m.NewIter(nil, nil); return err }},
		{"Set", func() error { return m.Set(k, val(3), false) }},
		{"Delete", func() error { return m.Delete(k, false) }},
		{"DeleteRange", func() error { return m.DeleteRange(k, []byte("z"), false) }},
		{"Merge", func() error { return m.Merge(k, val(3), false) }},
		{"Commit", func() error {
			b := m.NewBatch()
			b.Set(k, val(4))
			return b.Commit(true)
		}},
		{"CommitBatchFromBeforeClose", func() error { return early.Commit(false) }},
		{"Sync", m.Sync},
		{"Flush", func() error { _, err := m.Flush(); return err }},
		{"Close", m.Close},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, ErrClosed) {
				t.Fatalf("%s after Close = %v; want ErrClosed", tc.name, err)
			}
		})
	}
	if n := m.Bytes(); n != 0 {
		t.Fatalf("Bytes() after Close = %d; want 0", n)
	}
}

// TestMemory_Bytes: Bytes is the sum of len(key)+len(value) held, after
// each kind of write.
func TestMemory_Bytes(t *testing.T) {
	m := newTestMemory(t)
	k := func(s string) []byte { return []byte(s) }
	steps := []struct {
		name string
		do   func() error
		want int64
	}{
		{"Set", func() error { return m.Set(k("k1"), k("vvv"), false) }, 5},
		{"OverwriteShorter", func() error { return m.Set(k("k1"), k("v"), false) }, 3},
		{"SetAnother", func() error { return m.Set(k("k22"), k("xy"), false) }, 8},
		{"MergeNewKey", func() error { return m.Merge(k("k3"), val(5), false) }, 18},
		{"MergeExisting", func() error { return m.Merge(k("k3"), val(6), false) }, 18},
		{"SetEmptyValue", func() error { return m.Set(k("k4"), nil, false) }, 20},
		{"OverwriteLonger", func() error { return m.Set(k("k4"), k("1234"), false) }, 24},
		{"Delete", func() error { return m.Delete(k("k1"), false) }, 21},
		{"DeleteMissing", func() error { return m.Delete(k("k1"), false) }, 21},
		{"Batch", func() error {
			return commit(m, []write{
				{kind: wSet, key: k("k5"), value: k("12345")}, // +7
				{kind: wDelete, key: k("k22")},                // -5
				{kind: wSet, key: k("k6"), value: k("x")},     // +3
				{kind: wDelete, key: k("k6")},                 // -3
				{kind: wMerge, key: k("k7"), value: val(1)},   // +10
				{kind: wMerge, key: k("k7"), value: val(2)},   // +0
			}, false)
		}, 33},
		{"DeleteRangeKeepsEnd", func() error { return m.DeleteRange(k("k3"), k("k5"), false) }, 17},
		{"DeleteRangeNone", func() error { return m.DeleteRange(k("a"), k("k"), false) }, 17},
		{"DeleteRangeAll", func() error { return m.DeleteRange(nil, k("z"), false) }, 0},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := m.Bytes(); got != s.want {
			t.Fatalf("after %s: Bytes() = %d; want %d", s.name, got, s.want)
		}
	}
}

// TestMemory_GetValueStable: a value returned by Get is never changed by
// later writes, nor by closing its closer.
func TestMemory_GetValueStable(t *testing.T) {
	m := newTestMemory(t)
	k := []byte("k")
	writes := []struct {
		name string
		do   func() error
	}{
		{"Overwrite", func() error { return m.Set(k, val(2), false) }},
		{"Merge", func() error { return m.Merge(k, val(0xff), false) }},
		{"BatchOverwrite", func() error {
			return commit(m, []write{{kind: wSet, key: k, value: val(3)}, {kind: wMerge, key: k, value: val(4)}}, false)
		}},
		{"Delete", func() error { return m.Delete(k, false) }},
		{"DeleteRange", func() error { return m.DeleteRange(k, []byte("l"), false) }},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			want := val(1)
			if err := m.Set(k, want, false); err != nil {
				t.Fatal(err)
			}
			v, c, err := m.Get(k)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.do(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(v, want) {
				t.Fatalf("value after %s = %x; want %x", w.name, v, want)
			}
		})
	}
}

// TestMemory_ConcurrentBatches: writers commit batches while readers get
// and iterate. Every batch writes t/a, t/b and t/c alike (set, merge or
// delete them all), so a snapshot that sees them differ saw part of one.
func TestMemory_ConcurrentBatches(t *testing.T) {
	const writers, readers, rounds = 4, 4, 300
	m := newTestMemory(t)
	triple := [][]byte{[]byte("t/a"), []byte("t/b"), []byte("t/c")}
	noise := func(r *rand.Rand) []byte { return fmt.Appendf(nil, "n/%02d", r.IntN(50)) }
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range rounds {
				v := val(uint64(w)<<32 | uint64(i))
				b := m.NewBatch()
				switch r.IntN(4) {
				case 0:
					for _, k := range triple {
						b.Set(k, v)
						b.Set(noise(r), v)
					}
				case 1:
					for _, k := range triple {
						b.Merge(k, v)
						b.Delete(noise(r))
					}
				case 2:
					b.Set(noise(r), v)
					b.DeleteRange([]byte("t/a"), []byte("t/d"))
				case 3:
					for _, k := range triple {
						b.Delete(k)
						b.Merge(noise(r), v)
					}
				}
				if err := b.Commit(false); err != nil {
					t.Errorf("writer %d: commit: %v", w, err)
					return
				}
				_ = b.Close()
				var err error
				if r.IntN(8) == 0 {
					lo := noise(r)
					err = m.DeleteRange(lo, append(lo, 0xff), false)
				} else {
					err = m.Set(noise(r), v, false)
				}
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	bounds := [][]byte{nil, {}, []byte("n/"), []byte("n/25"), []byte("t/"), []byte("t/a"), []byte("t/b"), []byte("t/c\x00"), []byte("u")}
	for rd := range readers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(rd), 2))
			for range rounds {
				lower, upper := bounds[r.IntN(len(bounds))], bounds[r.IntN(len(bounds))]
				if upper != nil && bytes.Compare(lower, upper) > 0 {
					lower, upper = upper, lower
				}
				if len(upper) == 0 {
					upper = nil
				}
				if err := checkSnapshot(m, lower, upper, triple); err != nil {
					t.Errorf("reader %d: %v", rd, err)
					return
				}
				v, c, err := m.Get(triple[r.IntN(len(triple))])
				if err == nil {
					_ = c.Close()
				}
				if err == nil && len(v) != 8 || err != nil && !errors.Is(err, ErrNotFound) {
					t.Errorf("reader %d: get = %x, %v", rd, v, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := checkSnapshot(m, nil, nil, triple); err != nil {
		t.Fatal(err)
	}
}

// checkSnapshot iterates [lower, upper) and checks order, bounds and, if
// the range covers them, that the keys of triple are all absent or all
// equal.
func checkSnapshot(m *Memory, lower, upper []byte, triple [][]byte) error {
	it, err := m.NewIter(lower, upper)
	if err != nil {
		return err
	}
	defer it.Close()
	var prev []byte
	var seen [][]byte
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			return fmt.Errorf("iter [%q, %q): key %q after %q", lower, upper, k, prev)
		}
		if lower != nil && bytes.Compare(k, lower) < 0 || upper != nil && bytes.Compare(k, upper) >= 0 {
			return fmt.Errorf("iter [%q, %q): key %q out of bounds", lower, upper, k)
		}
		for _, tk := range triple {
			if bytes.Equal(k, tk) {
				seen = append(seen, bytes.Clone(it.Value()))
			}
		}
		prev = bytes.Clone(k)
	}
	covers := bytes.Compare(lower, triple[0]) <= 0 && (upper == nil || bytes.Compare(upper, triple[len(triple)-1]) > 0)
	if !covers {
		return nil
	}
	if len(seen) != 0 && len(seen) != len(triple) {
		return fmt.Errorf("iter [%q, %q): %d of the %d batch keys", lower, upper, len(seen), len(triple))
	}
	for _, v := range seen {
		if !bytes.Equal(v, seen[0]) {
			return fmt.Errorf("iter [%q, %q): batch keys hold %x", lower, upper, seen)
		}
	}
	return nil
}
