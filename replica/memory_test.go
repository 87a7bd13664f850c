package replica

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/dynkv/dynkv/engine"
	"github.com/dynkv/dynkv/hashslot"
	"github.com/dynkv/dynkv/version"
	"github.com/stretchr/testify/require"
)

func openMemory(t testing.TB, fs vfs.FS, clock func() time.Time) *Store {
	t.Helper()
	s, err := Open(Config{Dir: "db", FS: fs, Storage: StorageMemory, Durability: DurabilityNone, Clock: clock})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestMemory_SameAsPebble: the same random writes (merges of concurrent
// versions, tombstones, expiring values, drops, reclaims, hints) leave a
// memory store and a pebble store with the same records, hash tree,
// tombstone and expiry indexes, hints and key count.
func TestMemory_SameAsPebble(t *testing.T) {
	ctx := context.Background()
	r := newRand(t)
	mem := openMemory(t, vfs.NewMem(), nil)
	peb, _ := openMem(t, DurabilityNone)
	stores := []*Store{mem, peb}
	key := func() []byte { return fmt.Appendf(nil, "k%d", r.IntN(150)) }
	const nowMs = 1_000_000
	for i := range 3000 {
		k := key()
		switch op := r.IntN(10); {
		case op < 5: // a version from one of a few actors
			sib := valSib(version.Actor(1+r.IntN(4)), uint64(1+r.IntN(50)), randVV(r, 4, 40), int64(i), fmt.Sprint("v", i))
			switch r.IntN(4) {
			case 0:
				sib.Value, sib.Tombstone = nil, true
			case 1:
				sib.Expiry = nowMs + int64(r.IntN(200)) - 100 // some already expired at nowMs
			}
			for _, s := range stores {
				_, err := s.Merge(ctx, k, version.Siblings{sib})
				require.NoError(t, err)
			}
		case op < 6: // drop what the pebble store holds (as a handoff does)
			ss, err := peb.Get(ctx, k)
			require.NoError(t, err)
			for _, s := range stores {
				_, err := s.Drop(ctx, k, ss)
				require.NoError(t, err)
			}
		case op < 8:
			node := fmt.Sprint("n", r.IntN(3))
			sib := valSib(version.Actor(9), uint64(i+1), nil, int64(i), "hint")
			del := r.IntN(3) == 0
			for _, s := range stores {
				if del {
					require.NoError(t, s.DeleteHint(ctx, node, k, version.Siblings{sib}))
				} else {
					require.NoError(t, s.PutHint(ctx, node, k, version.Siblings{sib}))
				}
			}
		case op < 9:
			limit := 1 + r.IntN(5)
			for _, s := range stores {
				_, _, err := s.ReclaimExpired(ctx, nowMs, limit)
				require.NoError(t, err)
			}
		default: // a plain SET, as a coordinator with actor 7 writes it
			for _, s := range stores {
				_, err := s.Update(ctx, k, func(cur version.Siblings) (version.Siblings, error) {
					return version.Update(cur, 7, cur.Context(), int64(i), []byte("set"), false), nil
				})
				require.NoError(t, err)
			}
		}
	}

	for i := range 150 {
		k := fmt.Appendf(nil, "k%d", i)
		a, err := mem.Get(ctx, k)
		require.NoError(t, err)
		b, err := peb.Get(ctx, k)
		require.NoError(t, err)
		require.Equal(t, canonSibs(b), canonSibs(a), "key %s", k)
	}
	for _, s := range stores {
		require.NoError(t, s.CheckTree(ctx))
	}
	require.Equal(t, peb.Stats().Keys, mem.Stats().Keys)
	require.Equal(t, peb.Stats().Hints, mem.Stats().Hints)
	// The keys of the records each listing returns, over every slot.
	type listing func(s *Store, ctx context.Context, first, last int, after []byte, limit int) ([]Record, error)
	keys := func(list listing, s *Store) (out []string) {
		recs, err := list(s, ctx, 0, hashslot.Count-1, nil, 1_000_000)
		require.NoError(t, err)
		for _, rec := range recs {
			out = append(out, string(rec.Key))
		}
		return out
	}
	for _, list := range []listing{(*Store).Scan, (*Store).Tombstones} {
		require.Equal(t, keys(list, peb), keys(list, mem))
	}
	pe, err := peb.Expiring(ctx)
	require.NoError(t, err)
	me, err := mem.Expiring(ctx)
	require.NoError(t, err)
	require.Equal(t, pe, me)
	pc, err := peb.HintCount(ctx)
	require.NoError(t, err)
	mc, err := mem.HintCount(ctx)
	require.NoError(t, err)
	require.Equal(t, pc, mc)
	require.NotEmpty(t, mc, "the workload left hints")
}

// TestMemory_RestartKeepsOnlyMetadata: a memory store comes back empty,
// with a new actor identity, keeping its metadata and its dot clock's
// reservation (so no dot is issued twice even with the wall clock set
// back).
func TestMemory_RestartKeepsOnlyMetadata(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := openMemory(t, fs, clock)
	mustPut(t, s, "cart", "apple")
	require.NoError(t, s.SetMeta(ctx, "ring", []byte("state")))
	c1, err := s.NextCounter(0)
	require.NoError(t, err)
	actor := s.Actor()
	require.NoError(t, s.Close())

	now = now.Add(-time.Hour) // the wall clock went back
	s = openMemory(t, fs, clock)
	ss, err := s.Get(ctx, []byte("cart"))
	require.NoError(t, err)
	require.Empty(t, ss, "the data does not survive")
	require.Zero(t, s.Stats().Keys)
	require.NotEqual(t, actor, s.Actor(), "new data, new actor")
	meta, err := s.GetMeta(ctx, "ring")
	require.NoError(t, err)
	require.Equal(t, "state", string(meta))
	c2, err := s.NextCounter(0)
	require.NoError(t, err)
	require.Greater(t, c2, c1)
	require.NoError(t, s.CheckTree(ctx))
	// Only the metadata file is on disk.
	names, err := fs.List("db")
	require.NoError(t, err)
	require.ElementsMatch(t, []string{keepFile, keepFile + ".lock"}, names)
}

// TestMemory_DirectoryLocked: a second memory store on the same directory
// is refused while the first is open, as pebble refuses one.
func TestMemory_DirectoryLocked(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, Storage: StorageMemory, Durability: DurabilityNone}
	a, err := Open(cfg)
	require.NoError(t, err)
	_, err = Open(cfg)
	require.ErrorContains(t, err, "another process")
	require.NoError(t, a.Close())
	b, err := Open(cfg)
	require.NoError(t, err)
	require.NoError(t, b.Close())
}

// TestMemory_SyncRefused: a memory store cannot make a write survive the
// machine: Sync says so, and that is no fault of the store.
func TestMemory_SyncRefused(t *testing.T) {
	s := openMemory(t, vfs.NewMem(), nil)
	err := s.Sync(context.Background())
	require.ErrorIs(t, err, engine.ErrNotDurable)
	require.NoError(t, s.Fault())
	mustPut(t, s, "k", "v")
}

func TestMemory_Config(t *testing.T) {
	for _, d := range []Durability{DurabilityProcess, DurabilityFsync} {
		err := Config{Dir: "d", Storage: StorageMemory, Durability: d}.Validate()
		require.ErrorContains(t, err, "storage memory")
	}
	require.NoError(t, Config{Dir: "d", Storage: StorageMemory, Durability: DurabilityNone}.Validate())
	require.ErrorContains(t, Config{Dir: "d", Storage: "tape", Durability: DurabilityNone}.Validate(), `"tape" is not one of pebble, memory`)
}

// TestMemory_KeepFileFaultKeepsData: a metadata write the disk refuses
// faults the store (writes refused) but loses none of the data in memory;
// once the disk takes writes again the store does too.
func TestMemory_KeepFileFaultKeepsData(t *testing.T) {
	ctx := context.Background()
	full := &diskFull{}
	fs := newErrFS(full)
	s, err := Open(Config{Dir: "db", FS: fs, Storage: StorageMemory, Durability: DurabilityNone, ProbeInterval: time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	mustPut(t, s, "cart", "apple")
	full.on.Store(true)
	require.ErrorIs(t, s.SetMeta(ctx, "ring", []byte("x")), ErrDiskFull)
	require.ErrorIs(t, s.Fault(), ErrDiskFull)
	_, err = s.Update(ctx, []byte("cart"), func(cur version.Siblings) (version.Siblings, error) {
		return version.Update(cur, s.Actor(), cur.Context(), 1, []byte("refused"), false), nil
	})
	require.ErrorIs(t, err, ErrDiskFull, "a faulted store refuses writes")
	full.on.Store(false)
	require.Eventually(t, func() bool { return s.Fault() == nil }, 10*time.Second, time.Millisecond)
	ss, err := s.Get(ctx, []byte("cart"))
	require.NoError(t, err)
	require.Equal(t, []string{"apple"}, liveValues(ss))
	mustPut(t, s, "cart", "pear")
	require.NoError(t, s.SetMeta(ctx, "ring", []byte("y")))
	require.NoError(t, s.CheckTree(ctx))
}

// TestMemory_OpensOnAFullDisk: a memory store whose disk refuses writes
// at open opens read-only, as pebble's does, and takes writes once the
// disk does.
func TestMemory_OpensOnAFullDisk(t *testing.T) {
	ctx := context.Background()
	full := &diskFull{}
	fs := newErrFS(full)
	full.on.Store(true)
	s, err := Open(Config{Dir: "db", FS: fs, Storage: StorageMemory, Durability: DurabilityNone, ProbeInterval: time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	require.ErrorIs(t, s.Fault(), ErrDiskFull)
	_, err = s.Update(ctx, []byte("k"), func(cur version.Siblings) (version.Siblings, error) {
		return version.Update(cur, s.Actor(), cur.Context(), 1, []byte("v"), false), nil
	})
	require.ErrorIs(t, err, ErrDiskFull)
	full.on.Store(false)
	// The recovery clears the fault, then (holding every operation back)
	// takes a new actor: the first write after it has one.
	require.Eventually(t, func() bool { return s.Fault() == nil }, 10*time.Second, time.Millisecond)
	ss := mustPut(t, s, "k", "v")
	require.NotZero(t, ss[0].Dot.Actor)
	require.NoError(t, s.CheckTree(ctx))
}

// TestMemory_ConcurrentWriters: writers of a memory store commit their own
// writes (no committer); concurrent read-modify-writes of one key still
// serialise, and the tree matches the records.
func TestMemory_ConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	s := openMemory(t, vfs.NewMem(), nil)
	const goroutines, each = 8, 50
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				_, err := s.Update(ctx, []byte("counter"), func(cur version.Siblings) (version.Siblings, error) {
					n := 0
					if v, ok := cur.Value(); ok {
						n, _ = strconv.Atoi(string(v))
					}
					return version.Update(cur, s.Actor(), cur.Context(), 1, []byte(strconv.Itoa(n+1)), false), nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Update(ctx, fmt.Appendf(nil, "k%d-%d", g, i), func(cur version.Siblings) (version.Siblings, error) {
					return version.Update(cur, s.Actor(), cur.Context(), 1, []byte("v"), false), nil
				}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	ss, err := s.Get(ctx, []byte("counter"))
	require.NoError(t, err)
	require.Equal(t, []string{strconv.Itoa(goroutines * each)}, liveValues(ss))
	require.EqualValues(t, goroutines*each+1, s.Stats().Keys)
	require.NoError(t, s.CheckTree(ctx))
}
