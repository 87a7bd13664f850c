package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

const keepPath = "keep"

func keepOptions(fs vfs.FS) MemoryOptions {
	return MemoryOptions{Merge: xorMerge, Keep: &KeepOptions{Prefix: []byte("m"), FS: fs, Path: keepPath}}
}

// openKept opens a Memory engine keeping the keys under "m" in fs.
func openKept(t *testing.T, fs vfs.FS) *Memory {
	t.Helper()
	m, err := NewMemory(keepOptions(fs))
	if err != nil {
		t.Fatalf("NewMemory: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// keptOnly returns the entries of m under prefix.
func (m model) keptOnly(prefix string) model {
	k := model{}
	for key, v := range m {
		if strings.HasPrefix(key, prefix) {
			k[key] = v
		}
	}
	return k
}

func readKeep(t *testing.T, fs vfs.FS) []byte {
	t.Helper()
	f, err := fs.Open(keepPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeKeep(t *testing.T, fs vfs.FS, b []byte) {
	t.Helper()
	f, err := fs.Create(keepPath, vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// seal appends the keep file's checksum to body.
func seal(body []byte) []byte {
	return binary.BigEndian.AppendUint32(bytes.Clone(body), crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
}

// entry encodes one key and value as a keep file does.
func entry(k, v string) []byte {
	b := binary.AppendUvarint(nil, uint64(len(k)))
	b = append(b, k...)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func keepBody(entries ...[]byte) []byte {
	return slices.Concat(append([][]byte{[]byte("DKVKEEP1")}, entries...)...)
}

// TestKeep_KeptKeysSurviveRestart: after Close and NewMemory on the same
// file, exactly the keys under the prefix are back, with their latest
// values.
func TestKeep_KeptKeysSurviveRestart(t *testing.T) {
	fs := vfs.NewMem()
	k := func(s string) []byte { return []byte(s) }
	set := func(key string, v uint64) write { return write{kind: wSet, key: k(key), value: val(v)} }
	steps := [][]write{
		{set("m1", 1)}, {set("m2", 2)}, {set("m3", 3)}, {set("m", 4)}, {set("l1", 5)}, {set("n1", 6)}, {set("a", 7)},
		{{kind: wDelete, key: k("m2")}},
		{{kind: wDeleteRange, key: k("l"), end: k("m1\x00")}}, // l1, m and m1: across the prefix's start
		{set("m1", 11)}, {set("m5", 5)}, {set("m6", 6)}, {set("n2", 8)},
		{{kind: wDeleteRange, key: k("m55"), end: k("n15")}}, // m6 and n1: across the prefix's end
		{{kind: wMerge, key: k("m7"), value: val(3)}},
		{{kind: wMerge, key: k("m7"), value: val(5)}},
		{{kind: wMerge, key: k("l7"), value: val(5)}},
		{set("m8", 8), set("a2", 9), {kind: wDelete, key: k("m3")}, {kind: wMerge, key: k("m9"), value: val(9)}},
		{set("a3", 10), set("z", 11)},
	}
	keys := [][]byte{k("a"), k("a2"), k("a3"), k("l1"), k("l7"), k("m"), k("m1"), k("m2"), k("m3"), k("m5"), k("m6"),
		k("m7"), k("m8"), k("m9"), k("n1"), k("n2"), k("z")}
	e := openKept(t, fs)
	m := model{}
	for _, ws := range steps {
		if err := commit(e, ws, false); err != nil {
			t.Fatalf("%v: %v", ws, err)
		}
		for _, w := range ws {
			m.apply(w)
		}
	}
	checkGets(t, e, m, keys)
	for round := range 2 {
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		e = openKept(t, fs)
		m = m.keptOnly("m")
		if want := []string{"m1", "m5", "m7", "m8", "m9"}; round == 0 && !slices.Equal(m.scan(nil, nil), want) {
			t.Fatalf("model keeps %q; want %q", m.scan(nil, nil), want)
		}
		checkGets(t, e, m, keys)
		checkIter(t, e, m, nil, nil)
		if got, want := e.Bytes(), m.bytes(); got != want {
			t.Fatalf("Bytes() after restart = %d; want %d", got, want)
		}
		// Writes after a restart are kept too.
		for _, w := range []write{set("m1", 12), {kind: wDelete, key: k("m9")}, set("a", 1), set("m6", 6)} {
			if err := applyOne(e, w, false); err != nil {
				t.Fatal(err)
			}
			m.apply(w)
		}
	}
}

// TestKeep_RandomRestarts runs random writes over keys under l, m and n,
// restarting now and then: what comes back is the model's keys under m.
func TestKeep_RandomRestarts(t *testing.T) {
	const seed, steps = 7, 1500
	t.Logf("seed %d", seed)
	fs := vfs.NewMem()
	g := newGen(seed, "lmn")
	e := openKept(t, fs)
	m := model{}
	for step := range steps {
		var ws []write
		if g.r.IntN(2) == 0 {
			ws = []write{g.write()}
			if err := applyOne(e, ws[0], false); err != nil {
				t.Fatalf("step %d: %v: %v", step, ws[0], err)
			}
		} else {
			for range 2 + g.r.IntN(4) {
				ws = append(ws, g.write())
			}
			if err := commit(e, ws, false); err != nil {
				t.Fatalf("step %d: %v: %v", step, ws, err)
			}
		}
		for _, w := range ws {
			m.apply(w)
		}
		if g.r.IntN(50) == 0 {
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			e = openKept(t, fs)
			m = m.keptOnly("m")
		}
		checkGets(t, e, m, g.keys)
		checkIter(t, e, m, nil, nil)
	}
}

// TestKeep_NonKeptWritesLeaveFile: writes of keys outside the prefix do no
// file system write at all, before and after the file exists.
func TestKeep_NonKeptWritesLeaveFile(t *testing.T) {
	var writes atomic.Int64
	fs := errorfs.Wrap(vfs.NewMem(), errorfs.InjectorFunc(func(op errorfs.Op) error {
		if op.Kind.ReadOrWrite() == errorfs.OpIsWrite {
			writes.Add(1)
		}
		return nil
	}))
	e := openKept(t, fs)
	writes.Store(0) // opening created the lock file
	k := func(s string) []byte { return []byte(s) }
	nonKept := func(t *testing.T) {
		t.Helper()
		ws := []write{
			{kind: wSet, key: k("a"), value: val(1)},
			{kind: wSet, key: k("n"), value: val(1)},
			{kind: wMerge, key: k("l"), value: val(1)},
			{kind: wDelete, key: k("a")},
			{kind: wDeleteRange, key: k("a"), end: k("m")},     // ends at the prefix
			{kind: wDeleteRange, key: k("n"), end: k("z")},     // starts past it
			{kind: wDeleteRange, key: k("l\xff"), end: k("m")}, // just below it
		}
		for _, w := range ws {
			if err := applyOne(e, w, true); err != nil {
				t.Fatalf("%v: %v", w, err)
			}
		}
		if err := commit(e, ws, true); err != nil {
			t.Fatal(err)
		}
		if n := writes.Load(); n != 0 {
			t.Fatalf("writes of non-kept keys did %d file system writes", n)
		}
	}
	nonKept(t)
	if _, err := fs.Stat(keepPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stat keep file after non-kept writes: %v; want not exist", err)
	}
	if err := e.Set(k("m1"), val(1), false); err != nil {
		t.Fatal(err)
	}
	if writes.Load() == 0 {
		t.Fatal("a kept write did no file system write")
	}
	before := readKeep(t, fs)
	writes.Store(0)
	nonKept(t)
	if after := readKeep(t, fs); !bytes.Equal(after, before) {
		t.Fatalf("non-kept writes changed the keep file from %x to %x", before, after)
	}
}

// TestKeep_Corrupt: NewMemory refuses a keep file that does not decode
// with an error wrapping ErrCorruptKeepFile.
func TestKeep_Corrupt(t *testing.T) {
	valid := encodeKeep([]item{newItem([]byte("m1"), []byte("v1")), newItem([]byte("m2"), []byte("value two"))})
	if _, err := decodeKeep(valid, []byte("m")); err != nil {
		t.Fatalf("valid file: %v", err)
	}
	type corrupt struct {
		name string
		file []byte
	}
	cases := []corrupt{
		{"Empty", nil},
		{"MagicOnly", []byte("DKVKEEP1")},
		{"WrongMagic", seal(append([]byte("DKVKEEP2"), entry("m1", "v")...))},
		{"NoChecksum", keepBody(entry("m1", "v"))},
		{"KeyOutsidePrefix", seal(keepBody(entry("m1", "v"), entry("n1", "v")))},
		{"KeyBeforePrefix", seal(keepBody(entry("a", "v")))},
		{"KeysOutOfOrder", seal(keepBody(entry("m2", "v"), entry("m1", "v")))},
		{"DuplicateKey", seal(keepBody(entry("m1", "v"), entry("m1", "w")))},
		{"KeyPastEnd", seal(keepBody([]byte{100, 'm'}))},
		{"ValuePastEnd", seal(keepBody([]byte{2, 'm', '1', 9, 'v'}))},
		{"NoValue", seal(keepBody([]byte{2, 'm', '1'}))},
		{"VarintOverflow", seal(keepBody(bytes.Repeat([]byte{0xff}, 11)))},
		{"HugeLength", seal(keepBody(binary.AppendUvarint(nil, 1<<63)))},
		{"NonMinimalLength", seal(keepBody([]byte{0x82, 0x00, 'm', '1', 1, 'v'}))}, // decodes, but encodes back otherwise
	}
	for i := range valid {
		b := bytes.Clone(valid)
		b[i] ^= 0x20
		cases = append(cases, corrupt{fmt.Sprintf("FlipByte%d", i), b})
	}
	for n := range len(valid) {
		cases = append(cases, corrupt{fmt.Sprintf("TruncateTo%d", n), valid[:n]})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := vfs.NewMem()
			writeKeep(t, fs, tc.file)
			m, err := NewMemory(keepOptions(fs))
			if !errors.Is(err, ErrCorruptKeepFile) {
				t.Fatalf("NewMemory on %x: %v; want ErrCorruptKeepFile", tc.file, err)
			}
			if m != nil {
				t.Fatal("NewMemory returned an engine with its error")
			}
		})
	}
}

// TestKeep_SaveErrorFailsCommit: a commit of a kept key whose save fails
// returns the error, and the file left behind still loads.
func TestKeep_SaveErrorFailsCommit(t *testing.T) {
	cases := []struct {
		name string
		kind errorfs.OpKind
		path string // "" for any
	}{
		{"CreateTemp", errorfs.OpCreate, keepPath + ".tmp"},
		{"WriteTemp", errorfs.OpFileWrite, keepPath + ".tmp"},
		{"SyncTemp", errorfs.OpFileSync, keepPath + ".tmp"},
		{"Rename", errorfs.OpRename, ""},
		{"OpenDir", errorfs.OpOpenDir, ""},
		{"SyncDir", errorfs.OpFileSync, "."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var on atomic.Bool
			var injected atomic.Int64
			fs := errorfs.Wrap(vfs.NewMem(), errorfs.InjectorFunc(func(op errorfs.Op) error {
				if on.Load() && op.Kind == tc.kind && (tc.path == "" || op.Path == tc.path) {
					injected.Add(1)
					return errorfs.ErrInjected
				}
				return nil
			}))
			e := openKept(t, fs)
			if err := e.Set([]byte("m1"), val(1), false); err != nil {
				t.Fatal(err)
			}
			on.Store(true)
			err := e.Set([]byte("m1"), val(2), false)
			on.Store(false)
			if injected.Load() == 0 {
				t.Fatal("no error injected: the save does no such operation")
			}
			if !errors.Is(err, errorfs.ErrInjected) {
				t.Fatalf("Set with a failing save = %v; want the injected error", err)
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			e = openKept(t, fs)
			v, c, err := e.Get([]byte("m1"))
			if err != nil {
				t.Fatalf("get m1 after a failed save: %v", err)
			}
			defer c.Close()
			if !bytes.Equal(v, val(1)) && !bytes.Equal(v, val(2)) {
				t.Fatalf("m1 = %x after a failed save; want the old or the new value", v)
			}
			if err := e.Set([]byte("m1"), val(3), false); err != nil {
				t.Fatalf("set once the file system works again: %v", err)
			}
		})
	}
}

// TestKeep_CommitRacingClose: a commit of a kept key racing Close never
// loses the kept keys saved before, nor, if it returned nil, its own. Each
// round closes the engine once the commit's write is visible. (The
// interleaving varies; TestKeep_CloseDuringSave fixes one.)
func TestKeep_CommitRacingClose(t *testing.T) {
	fs := vfs.NewMem()
	for round := range 50 {
		e := openKept(t, fs)
		v1, v2 := val(uint64(2*round)), val(uint64(2*round+1))
		if err := e.Set([]byte("m1"), v1, false); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- e.Set([]byte("m2"), v2, false) }()
		waitFor(t, func() bool {
			v, c, err := e.Get([]byte("m2"))
			if err == nil {
				_ = c.Close()
			}
			return err == nil && bytes.Equal(v, v2)
		})
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		err := <-done
		if err != nil && !errors.Is(err, ErrClosed) {
			t.Fatalf("round %d: commit racing Close: %v", round, err)
		}
		e = openKept(t, fs)
		want := model{"m1": v1}
		if err == nil {
			want["m2"] = v2
		}
		checkGets(t, e, want, [][]byte{[]byte("m1")})
		if err == nil {
			checkGets(t, e, want, [][]byte{[]byte("m2")})
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKeep_CloseDuringSave: Close while a save is writing the file leaves
// the save's keys in the file.
func TestKeep_CloseDuringSave(t *testing.T) {
	var hold atomic.Bool
	entered, release := make(chan struct{}), make(chan struct{})
	fs := errorfs.Wrap(vfs.NewMem(), errorfs.InjectorFunc(func(op errorfs.Op) error {
		if op.Kind == errorfs.OpCreate && hold.CompareAndSwap(true, false) {
			close(entered)
			<-release
		}
		return nil
	}))
	e := openKept(t, fs)
	if err := e.Set([]byte("m1"), val(1), false); err != nil {
		t.Fatal(err)
	}
	hold.Store(true)
	setDone, closeDone := make(chan error, 1), make(chan error, 1)
	go func() { setDone <- e.Set([]byte("m2"), val(2), false) }()
	<-entered
	go func() { closeDone <- e.Close() }()
	close(release)
	if err := <-setDone; err != nil {
		t.Fatalf("set during Close: %v", err)
	}
	if err := <-closeDone; err != nil {
		t.Fatalf("close during a save: %v", err)
	}
	e = openKept(t, fs)
	checkGets(t, e, model{"m1": val(1), "m2": val(2)}, [][]byte{[]byte("m1"), []byte("m2")})
}

// TestKeep_NoSaveAfterClose: a commit after Close fails and leaves the
// file as it was.
func TestKeep_NoSaveAfterClose(t *testing.T) {
	fs := vfs.NewMem()
	e := openKept(t, fs)
	if err := e.Set([]byte("m1"), val(1), false); err != nil {
		t.Fatal(err)
	}
	before := readKeep(t, fs)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	for _, w := range []write{
		{kind: wSet, key: []byte("m2"), value: val(2)},
		{kind: wDelete, key: []byte("m1")},
		{kind: wDeleteRange, key: []byte("a"), end: []byte("z")},
	} {
		if err := applyOne(e, w, false); !errors.Is(err, ErrClosed) {
			t.Fatalf("%v after Close = %v; want ErrClosed", w, err)
		}
	}
	if after := readKeep(t, fs); !bytes.Equal(after, before) {
		t.Fatalf("writes after Close changed the keep file from %x to %x", before, after)
	}
}

// waitFor waits until cond holds, failing the test after a deadline.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		runtime.Gosched()
	}
}

// checkDecodeKeep decodes in: it must fail with ErrCorruptKeepFile or give
// sorted keys under "m" that encode back to in.
func checkDecodeKeep(t *testing.T, in []byte) {
	t.Helper()
	items, err := decodeKeep(in, []byte("m"))
	if err != nil {
		if !errors.Is(err, ErrCorruptKeepFile) {
			t.Fatalf("decodeKeep(%x) = %v; want ErrCorruptKeepFile", in, err)
		}
		if items != nil {
			t.Fatalf("decodeKeep(%x) returned items with its error", in)
		}
		return
	}
	for i, it := range items {
		if !bytes.HasPrefix(it.key(), []byte("m")) || i > 0 && bytes.Compare(items[i-1].key(), it.key()) >= 0 {
			t.Fatalf("decodeKeep(%x) returned key %q out of order or outside the prefix", in, it.key())
		}
	}
	if out := encodeKeep(items); !bytes.Equal(out, in) {
		t.Fatalf("decodeKeep(%x) does not round-trip: encodes back as %x", in, out)
	}
}

// FuzzDecodeKeep feeds decodeKeep arbitrary bytes (reseal=false) or bytes
// given a correct checksum (reseal=true).
func FuzzDecodeKeep(f *testing.F) {
	long := bytes.Repeat([]byte("x"), 300)
	for _, items := range [][]item{
		nil,
		{newItem([]byte("m"), nil)},
		{newItem([]byte("m1"), []byte("v1")), newItem([]byte("m2"), []byte("value two"))},
		{newItem([]byte("m"), long), newItem([]byte("m\x00"), nil), newItem(append([]byte("m"), long...), []byte("\xff"))},
	} {
		enc := encodeKeep(items)
		f.Add(enc, false)
		f.Add(enc[:len(enc)/2], false)
		flipped := bytes.Clone(enc)
		flipped[len(flipped)/2] ^= 1
		f.Add(flipped, false)
		body := enc[:len(enc)-4]
		f.Add(body, true)
		f.Add(body[:len(body)-1], true)
	}
	f.Add([]byte("garbage"), false)
	f.Add(keepBody(entry("n", "v")), true)
	f.Add(keepBody(entry("m2", "v"), entry("m1", "v")), true)
	f.Add(keepBody([]byte{0x82, 0x00, 'm', '1', 1, 'v'}), true)
	f.Fuzz(func(t *testing.T, in []byte, reseal bool) {
		if reseal {
			in = seal(in)
		}
		checkDecodeKeep(t, in)
	})
}

// TestKeep_Locked: a second engine on the same keep file is refused while
// the first is open (two processes would overwrite each other's kept
// keys), and takes it once the first is closed.
func TestKeep_Locked(t *testing.T) {
	dir := t.TempDir() // the OS's locks: vfs.NewMem's are per FS value too, but real ones are what matter
	opts := MemoryOptions{Keep: &KeepOptions{Prefix: []byte("m"), Path: dir + "/keep"}}
	a, err := NewMemory(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewMemory(opts); err == nil {
		t.Fatal("a second engine opened the keep file the first holds")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := NewMemory(opts)
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}
