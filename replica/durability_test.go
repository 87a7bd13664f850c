package replica

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/dynkv/dynkv/version"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Crash tests run a store on vfs.NewCrashableMem and open a CrashClone of
// its filesystem, taken while the store is still open: with the zero
// CrashCloneCfg the clone holds only synced data (a power loss); with
// UnsyncedDataPercent 100 it holds everything written to the "operating
// system" (kill -9 of the process).

func powerLoss(fs *vfs.MemFS, _ *rand.Rand) *vfs.MemFS { return fs.CrashClone(vfs.CrashCloneCfg{}) }

func processKill(fs *vfs.MemFS, r *rand.Rand) *vfs.MemFS {
	return fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 100, RNG: r})
}

func partialLoss(fs *vfs.MemFS, r *rand.Rand) *vfs.MemFS {
	return fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 1 + r.IntN(99), RNG: r})
}

// ackLog records acknowledged writes: for each key, the siblings its last
// acknowledged Update returned (keys are written by one goroutine each), and
// for the shared key, every value acknowledged.
type ackLog struct {
	mu     sync.Mutex
	final  map[string]version.Siblings
	shared []string
}

func newAckLog() *ackLog { return &ackLog{final: map[string]version.Siblings{}} }

// workload writes n operations from one writer: sets, overwrites, deletes
// and blind writes to a shared key, recording each once acknowledged.
func workload(ctx context.Context, s *Store, r *rand.Rand, writer, n int, acks *ackLog) error {
	for i := range n {
		key := fmt.Sprintf("w%d.k%d", writer, r.IntN(8))
		tombstone := r.IntN(5) == 0
		blind := r.IntN(4) == 0
		if r.IntN(6) == 0 {
			key, tombstone, blind = "shared", false, true
		}
		value := fmt.Sprintf("w%d.%d.%x", writer, i, r.Uint32())
		ss, err := s.Update(ctx, []byte(key), func(cur version.Siblings) (version.Siblings, error) {
			var c version.VV
			if !blind {
				c = cur.Context()
			}
			return version.Update(cur, s.Actor(), c, int64(i), []byte(value), tombstone), nil
		})
		if err != nil {
			return err
		}
		acks.mu.Lock()
		if key == "shared" {
			acks.shared = append(acks.shared, value)
		} else {
			acks.final[key] = ss
		}
		acks.mu.Unlock()
	}
	return nil
}

// snapshot copies the acknowledged state.
func (a *ackLog) snapshot() (map[string]version.Siblings, []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	final := make(map[string]version.Siblings, len(a.final))
	for k, ss := range a.final {
		final[k] = ss
	}
	return final, append([]string(nil), a.shared...)
}

// checkAcked asserts that s holds every acknowledged write of the snapshot.
// A key written after the snapshot may have moved on, so only its dots must
// be present or replaced; keys not written after are compared exactly.
func checkAcked(t *testing.T, s *Store, final map[string]version.Siblings, shared []string, exact bool) {
	t.Helper()
	ctx := context.Background()
	live := int64(0)
	for k, want := range final {
		got, err := s.Get(ctx, []byte(k))
		require.NoError(t, err, "key %s", k)
		checkInvariants(t, got)
		if exact {
			require.Equal(t, canonSibs(want), canonSibs(got), "key %s", k)
		}
		ctxGot := got.Context()
		for _, w := range want {
			require.True(t, ctxGot.Covers(w.Dot), "key %s: acknowledged write %v lost", k, w.Dot)
		}
		if _, ok := got.Value(); ok {
			live++
		}
	}
	got, err := s.Get(ctx, []byte("shared"))
	require.NoError(t, err)
	require.Subset(t, liveValues(got), shared, "acknowledged blind writes lost")
	if exact {
		require.ElementsMatch(t, shared, liveValues(got))
		if len(shared) > 0 {
			live++
		}
		require.Equal(t, live, s.Stats().Keys, "live keys recounted after recovery")
	}
}

func openCrashable(t *testing.T, fs vfs.FS, d Durability) *Store {
	t.Helper()
	s, err := Open(Config{Dir: "db", FS: fs, Durability: d})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestDurability_AcknowledgedWritesSurvive: every write acknowledged before
// the crash is there after recovery, for each durability and the crashes it
// promises to survive.
func TestDurability_AcknowledgedWritesSurvive(t *testing.T) {
	r := newRand(t)
	tests := []struct {
		name       string
		durability Durability
		crash      func(*vfs.MemFS, *rand.Rand) *vfs.MemFS
	}{
		{name: "fsync survives power loss", durability: DurabilityFsync, crash: powerLoss},
		{name: "fsync survives partial loss of unsynced data", durability: DurabilityFsync, crash: partialLoss},
		{name: "fsync survives kill", durability: DurabilityFsync, crash: processKill},
		{name: "process survives kill", durability: DurabilityProcess, crash: processKill},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			for _, writers := range []int{1, 4} {
				fs := vfs.NewCrashableMem()
				s := openCrashable(t, fs, tt.durability)
				acks := newAckLog()
				var wg sync.WaitGroup
				errs := make(chan error, writers)
				for w := range writers {
					wr := rand.New(rand.NewPCG(r.Uint64(), uint64(w)))
					wg.Go(func() { errs <- workload(ctx, s, wr, w, 60, acks) })
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					require.NoError(t, err)
				}
				final, shared := acks.snapshot()
				clone := tt.crash(fs, r)
				recovered := openCrashable(t, clone, tt.durability)
				if tt.durability == DurabilityFsync {
					require.Equal(t, s.Actor(), recovered.Actor(), "actor identity lost")
				}
				checkAcked(t, recovered, final, shared, true)
			}
		})
	}
}

// TestDurability_CrashUnderLoad takes the crash image while writers are
// still running: writes acknowledged before it was taken must be there.
func TestDurability_CrashUnderLoad(t *testing.T) {
	r := newRand(t)
	tests := []struct {
		name       string
		durability Durability
		crash      func(*vfs.MemFS, *rand.Rand) *vfs.MemFS
	}{
		{name: "fsync power loss", durability: DurabilityFsync, crash: powerLoss},
		{name: "process kill", durability: DurabilityProcess, crash: processKill},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			fs := vfs.NewCrashableMem()
			s := openCrashable(t, fs, tt.durability)
			acks := newAckLog()
			progress := make(chan struct{}, 1)
			var wg sync.WaitGroup
			for w := range 3 {
				wr := rand.New(rand.NewPCG(r.Uint64(), uint64(w)))
				wg.Go(func() {
					for ctx.Err() == nil {
						if err := workload(ctx, s, wr, w, 10, acks); err != nil {
							return
						}
						select {
						case progress <- struct{}{}:
						default:
						}
					}
				})
			}
			for range 5 {
				<-progress
			}
			final, shared := acks.snapshot()
			clone := tt.crash(fs, r)
			cancel()
			wg.Wait()
			require.NotEmpty(t, final)
			recovered := openCrashable(t, clone, tt.durability)
			checkAcked(t, recovered, final, shared, false)
		})
	}
}

// TestDurability_RepeatedCrashes crashes, recovers and writes on again.
func TestDurability_RepeatedCrashes(t *testing.T) {
	r := newRand(t)
	ctx := context.Background()
	fs := vfs.NewCrashableMem()
	s := openCrashable(t, fs, DurabilityFsync)
	actor := s.Actor()
	acks := newAckLog()
	for round := range 4 {
		require.NoError(t, workload(ctx, s, r, round, 40, acks))
		final, shared := acks.snapshot()
		fs = powerLoss(fs, r)
		s = openCrashable(t, fs, DurabilityFsync)
		require.Equal(t, actor, s.Actor())
		checkAcked(t, s, final, shared, true)
	}
}

// TestDurability_ControlsLoseWrites shows that the crash tests can fail: a
// store whose promise does not cover the crash does lose acknowledged
// writes. With DurabilityProcess the WAL is never fsynced, so a power loss
// right after the writes loses them (deterministically: nothing else is
// synced before a memtable flush). With DurabilityNone a kill may lose
// writes; how many depends on timing, so only recovery is asserted.
func TestDurability_ControlsLoseWrites(t *testing.T) {
	r := newRand(t)
	ctx := context.Background()
	tests := []struct {
		name       string
		durability Durability
		crash      func(*vfs.MemFS, *rand.Rand) *vfs.MemFS
		mustLose   bool
	}{
		{name: "process power loss", durability: DurabilityProcess, crash: powerLoss, mustLose: true},
		{name: "none power loss", durability: DurabilityNone, crash: powerLoss, mustLose: true},
		{name: "none kill", durability: DurabilityNone, crash: processKill},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := vfs.NewCrashableMem()
			s := openCrashable(t, fs, tt.durability)
			const n = 20
			for i := range n {
				mustPut(t, s, fmt.Sprint(i), "v")
			}
			recovered := openCrashable(t, tt.crash(fs, r), tt.durability)
			present := 0
			for i := range n {
				ss, err := recovered.Get(ctx, []byte(fmt.Sprint(i)))
				require.NoError(t, err, "a crash may lose writes but never corrupts them")
				if len(ss) > 0 {
					require.Equal(t, []string{"v"}, liveValues(ss))
					present++
				}
			}
			t.Logf("%d of %d acknowledged writes survived", present, n)
			require.Equal(t, int64(present), recovered.Stats().Keys)
			if tt.mustLose {
				require.Less(t, present, n, "the control lost nothing: the crash tests cannot tell durabilities apart")
			}
		})
	}
}

// TestDurability_NoDotReissuedAfterPowerLoss: doc.go promises that a node
// that lost its data never reissues dots it issued before (Riak's kv679). A
// power loss under DurabilityProcess loses the unsynced tail of the WAL,
// while the actor identity may already be in an sstable (here: after one
// restart). The store must not hand out a dot it had acknowledged before
// the crash: another replica (W=2) still holds that write, and Sync keeps
// only one of two siblings with the same dot, so a reissued dot would
// destroy an acknowledged write cluster-wide.
func TestDurability_NoDotReissuedAfterPowerLoss(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		durability Durability
	}{
		{name: "process", durability: DurabilityProcess},
		{name: "fsync", durability: DurabilityFsync},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := vfs.NewCrashableMem()
			s := openCrashable(t, fs, tt.durability)
			mustPut(t, s, "cart", "A")
			require.NoError(t, s.Close())
			s = openCrashable(t, fs, tt.durability) // the node restarts once: its actor is now in an sstable

			b := mustPut(t, s, "cart", "B") // acknowledged, and stored on a second replica too
			other, _ := openMem(t, DurabilityFsync)
			_, err := other.Merge(ctx, []byte("cart"), b)
			require.NoError(t, err)

			recovered := openCrashable(t, powerLoss(fs, nil), tt.durability)
			read, err := recovered.Get(ctx, []byte("cart"))
			require.NoError(t, err)
			sawB := read.Context().Covers(b[0].Dot)
			t.Logf("after the crash the node holds %v; B is %v", liveValues(read), b[0].Dot)
			c := mustPut(t, recovered, "cart", "C") // a client reads and writes through the recovered node
			for _, sb := range c {
				if !sawB {
					assert.NotEqual(t, b[0].Dot, sb.Dot, "dot %v of the acknowledged write B reissued to C (actor %x kept after losing B)", sb.Dot, recovered.Actor())
				}
			}

			merged, err := other.Merge(ctx, []byte("cart"), c)
			require.NoError(t, err)
			if sawB {
				require.Equal(t, []string{"C"}, liveValues(merged), "C's writer read B: C replaces it")
			} else {
				require.ElementsMatch(t, []string{"B", "C"}, liveValues(merged), "C's writer never read B: both must stay")
			}
		})
	}
}

// TestProcessFS_SkipsOnlyWALSyncs checks the mechanism of DurabilityProcess:
// syncs of *.log files are no-ops, every other file syncs for real.
func TestProcessFS_SkipsOnlyWALSyncs(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		open      func(fs vfs.FS, name string) (vfs.File, error)
		sync      func(f vfs.File) error
		survives  bool
		preCreate bool
	}{
		{name: "wal create sync", file: "000002.log", survives: false},
		{name: "wal create syncdata", file: "000002.log", sync: func(f vfs.File) error { return f.SyncData() }, survives: false},
		{name: "wal syncto", file: "000002.log", sync: func(f vfs.File) error { _, err := f.SyncTo(3); return err }, survives: false},
		{name: "wal reuse", file: "000004.log", preCreate: true, open: func(fs vfs.FS, name string) (vfs.File, error) {
			return fs.ReuseForWrite("old.log", name, vfs.WriteCategoryUnspecified)
		}, survives: false},
		{name: "wal open read-write", file: "000005.log", preCreate: true, open: func(fs vfs.FS, name string) (vfs.File, error) {
			return fs.OpenReadWrite(name, vfs.WriteCategoryUnspecified)
		}, survives: false},
		{name: "sstable", file: "000003.sst", survives: true},
		{name: "manifest", file: "MANIFEST-000001", survives: true},
		{name: "log in the name only", file: "000002.log.tmp", survives: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := vfs.NewCrashableMem()
			fs := processFS{FS: mem}
			if tt.preCreate {
				for _, name := range []string{"old.log", "000005.log"} {
					f, err := mem.Create(name, vfs.WriteCategoryUnspecified)
					require.NoError(t, err)
					require.NoError(t, f.Sync())
					require.NoError(t, f.Close())
				}
				d, err := mem.OpenDir("")
				require.NoError(t, err)
				require.NoError(t, d.Sync())
				require.NoError(t, d.Close())
			}
			open := tt.open
			if open == nil {
				open = func(fs vfs.FS, name string) (vfs.File, error) { return fs.Create(name, vfs.WriteCategoryUnspecified) }
			}
			sync := tt.sync
			if sync == nil {
				sync = func(f vfs.File) error { return f.Sync() }
			}
			f, err := open(fs, tt.file)
			require.NoError(t, err)
			_, err = f.Write([]byte("data"))
			require.NoError(t, err)
			require.NoError(t, sync(f))
			d, err := fs.OpenDir("")
			require.NoError(t, err)
			require.NoError(t, d.Sync())
			require.NoError(t, d.Close())

			clone := mem.CrashClone(vfs.CrashCloneCfg{})
			got, err := clone.Open(tt.file)
			require.NoError(t, err)
			b, err := io.ReadAll(got)
			require.NoError(t, err)
			require.NoError(t, got.Close())
			require.Equal(t, tt.survives, string(b) == "data", "contents after power loss: %q", b)
			require.NoError(t, f.Close())
			require.Equal(t, vfs.FS(mem), fs.Unwrap())
		})
	}
}

// TestDurability_ActorAfterUncleanShutdown: after a crash the store keeps
// its actor only if every acknowledged write was fsynced; otherwise it may
// have lost dots it issued, so it draws a new actor (see
// TestDurability_NoDotReissuedAfterPowerLoss). A clean Close keeps it.
func TestDurability_ActorAfterUncleanShutdown(t *testing.T) {
	r := newRand(t)
	tests := []struct {
		name       string
		durability Durability
		crash      func(*vfs.MemFS, *rand.Rand) *vfs.MemFS // nil: clean Close
		keep       bool
	}{
		{name: "fsync clean close", durability: DurabilityFsync, keep: true},
		{name: "fsync kill", durability: DurabilityFsync, crash: processKill, keep: true},
		{name: "fsync power loss", durability: DurabilityFsync, crash: powerLoss, keep: true},
		{name: "process clean close", durability: DurabilityProcess, keep: true},
		{name: "process kill", durability: DurabilityProcess, crash: processKill},
		{name: "process power loss", durability: DurabilityProcess, crash: powerLoss},
		{name: "none clean close", durability: DurabilityNone, keep: true},
		{name: "none kill", durability: DurabilityNone, crash: processKill},
		{name: "none power loss", durability: DurabilityNone, crash: powerLoss},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := vfs.NewCrashableMem()
			s := openCrashable(t, fs, tt.durability)
			mustPut(t, s, "k", "v")
			next := fs
			if tt.crash != nil {
				next = tt.crash(fs, r)
			} else {
				require.NoError(t, s.Close())
			}
			s2 := openCrashable(t, next, tt.durability)
			require.NotZero(t, s2.Actor())
			require.Equal(t, tt.keep, s.Actor() == s2.Actor(), "actor %x, then %x", s.Actor(), s2.Actor())
			// The new incarnation is itself durable: a clean restart keeps it.
			a := s2.Actor()
			require.NoError(t, s2.Close())
			s3 := openCrashable(t, next, tt.durability)
			require.Equal(t, a, s3.Actor())
		})
	}
}

// TestStore_SyncSurvivesPowerLoss: in DurabilityProcess and
// DurabilityNone, a write followed by Sync survives a power loss (the
// clone keeps only synced data), while one written after the Sync does
// not: Sync forces the fsync that those modes skip. In DurabilityFsync,
// Sync has nothing to do.
func TestStore_SyncSurvivesPowerLoss(t *testing.T) {
	for _, d := range []Durability{DurabilityProcess, DurabilityNone, DurabilityFsync} {
		t.Run(string(d), func(t *testing.T) {
			mem := vfs.NewCrashableMem()
			s, err := Open(Config{Dir: "db", FS: mem, Durability: d})
			require.NoError(t, err)
			ctx := context.Background()
			mustPut(t, s, "synced", "v")
			require.NoError(t, s.Sync(ctx))
			mustPut(t, s, "unsynced", "v")
			clone := mem.CrashClone(vfs.CrashCloneCfg{})
			require.NoError(t, s.Close())

			s2, err := Open(Config{Dir: "db", FS: clone, Durability: d})
			require.NoError(t, err)
			defer s2.Close()
			got, err := s2.Get(ctx, []byte("synced"))
			require.NoError(t, err)
			require.Equal(t, []string{"v"}, liveValues(got), "a synced write survives")
			got, err = s2.Get(ctx, []byte("unsynced"))
			require.NoError(t, err)
			if d == DurabilityFsync {
				require.Equal(t, []string{"v"}, liveValues(got), "every write is synced")
				require.Zero(t, s.syncs.Load(), "Sync has nothing to do")
			} else {
				require.Empty(t, got, "control: a write after the Sync is lost with the power")
				require.EqualValues(t, 1, s.syncs.Load())
			}
		})
	}
}
