package replica

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/version"
)

// diskFull is an errorfs injector that, while on, fails with ENOSPC (or
// errno, when set) every operation that needs room on the disk, as a full
// filesystem does.
type diskFull struct {
	on    atomic.Bool
	errno syscall.Errno
}

func (d *diskFull) String() string { return "disk full" }

func (d *diskFull) MaybeError(op errorfs.Op) error {
	if !d.on.Load() {
		return nil
	}
	switch op.Kind {
	case errorfs.OpCreate, errorfs.OpReuseForWrite, errorfs.OpFileWrite, errorfs.OpFileWriteAt,
		errorfs.OpFilePreallocate, errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
		errno := d.errno
		if errno == 0 {
			errno = syscall.ENOSPC
		}
		return &os.PathError{Op: "write", Path: op.Path, Err: errno}
	}
	return nil
}

// errFS is errorfs.FS with its one gap closed: errorfs returns a recycled
// WAL file (ReuseForWrite) without injecting errors into it.
type errFS struct {
	*errorfs.FS
	inj errorfs.Injector
}

func newErrFS(inj errorfs.Injector) errFS { return errFS{errorfs.Wrap(vfs.NewMem(), inj), inj} }

func (fs errFS) ReuseForWrite(oldname, newname string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, cat)
	if err != nil {
		return nil, err
	}
	return errorfs.WrapFile(f, fs.inj), nil
}

// logCounter sends logs to t.Log and counts the records at warning level
// and above.
type logCounter struct {
	slog.Handler
	n *atomic.Int64
}

func (h logCounter) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.n.Add(1)
	}
	return h.Handler.Handle(ctx, r)
}

func (h logCounter) WithAttrs(as []slog.Attr) slog.Handler {
	return logCounter{h.Handler.WithAttrs(as), h.n}
}
func (h logCounter) WithGroup(g string) slog.Handler { return logCounter{h.Handler.WithGroup(g), h.n} }

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func testLogger(t testing.TB, n *atomic.Int64) *slog.Logger {
	return slog.New(logCounter{slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}), n})
}

// fullDiskStore opens a store on an in-memory filesystem whose disk fills
// when the returned injector is turned on.
func fullDiskStore(t *testing.T, d Durability, logs *atomic.Int64) (*Store, *diskFull, Config) {
	t.Helper()
	inj := &diskFull{}
	cfg := Config{Dir: "db", FS: newErrFS(inj), Durability: d, ProbeInterval: 10 * time.Millisecond,
		CloseTimeout: 5 * time.Second, Logger: testLogger(t, logs)}
	s, err := Open(cfg)
	require.NoError(t, err)
	return s, inj, cfg
}

func put(ctx context.Context, s *Store, key, value string) error {
	_, err := s.Update(ctx, []byte(key), func(cur version.Siblings) (version.Siblings, error) {
		return version.Update(cur, s.Actor(), cur.Context(), 1, []byte(value), false), nil
	})
	return err
}

// waitFor polls cond until it holds, failing t after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for: %s", timeout, what)
		}
		<-tick.C
	}
}

// requireValues checks that every key of acked reads back its value.
func requireValues(t *testing.T, s *Store, acked map[string]string) {
	t.Helper()
	for k, v := range acked {
		ss, err := s.Get(context.Background(), []byte(k))
		require.NoError(t, err, k)
		require.Equal(t, []string{v}, liveValues(ss), k)
	}
}

func TestStore_DiskFullRefusesWritesAndRecovers(t *testing.T) {
	for _, d := range []Durability{DurabilityProcess, DurabilityFsync} {
		t.Run(string(d), func(t *testing.T) {
			var logs atomic.Int64
			s, inj, _ := fullDiskStore(t, d, &logs)
			ctx := context.Background()
			acked := map[string]string{}
			for i := range 100 {
				k := fmt.Sprintf("k%d", i)
				require.NoError(t, put(ctx, s, k, "v"+k))
				acked[k] = "v" + k
			}
			actor := s.Actor()

			inj.on.Store(true)
			start := time.Now()
			err := put(ctx, s, "refused", "x")
			require.ErrorIs(t, err, ErrDiskFull)
			for i := range 1000 { // every later write is refused at once, and logged at a bounded rate
				require.ErrorIs(t, put(ctx, s, fmt.Sprintf("r%d", i), "x"), ErrDiskFull)
			}
			require.ErrorIs(t, s.PutHint(ctx, "n2", []byte("h"), version.Siblings{valSib(1, 1, nil, 1, "h")}), ErrDiskFull)
			require.ErrorIs(t, s.SetMeta(ctx, "m", []byte("x")), ErrDiskFull)
			require.ErrorIs(t, s.RotateActor(ctx), ErrDiskFull)
			require.Less(t, time.Since(start), 5*time.Second, "refusals must be immediate")
			requireValues(t, s, acked)
			require.Equal(t, "disk_full", s.Stats().Fault)
			waitFor(t, 10*time.Second, "store reopened read-only", s.readOnly)
			requireValues(t, s, acked)
			require.ErrorIs(t, put(ctx, s, "refused", "x"), ErrDiskFull)
			require.Less(t, logs.Load(), int64(60), "error lines are rate limited")

			inj.on.Store(false)
			waitFor(t, 10*time.Second, "store takes writes again", func() bool { return s.Fault() == nil })
			require.NoError(t, put(ctx, s, "after", "y"))
			require.False(t, s.readOnly())
			require.NotEqual(t, actor, s.Actor(), "a store that failed a write takes a new actor")
			require.Empty(t, s.Stats().Fault)
			acked["after"] = "y"
			requireValues(t, s, acked)
			ss, err := s.Get(ctx, []byte("refused"))
			require.NoError(t, err)
			require.Empty(t, ss.Live(), "a refused write is not stored")
			require.NoError(t, s.Close())
		})
	}
}

func TestStore_DiskFullDurabilityNone(t *testing.T) {
	// Unsynced commits learn of a WAL failure only when pebble panics in its
	// commit pipeline, which wedges the instance: writes are refused until a
	// restart; reads go on; Close gives up at once instead of hanging.
	var logs atomic.Int64
	inj := &diskFull{}
	mem := vfs.NewCrashableMem()
	cfg := Config{Dir: "db", FS: errFS{errorfs.Wrap(mem, inj), inj}, Durability: DurabilityNone, ProbeInterval: 10 * time.Millisecond,
		CloseTimeout: 5 * time.Second, Logger: testLogger(t, &logs)}
	s, err := Open(cfg)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, put(ctx, s, "a", "1"))
	inj.on.Store(true)
	waitFor(t, 30*time.Second, "a write refused", func() bool {
		return put(ctx, s, "filler", strings.Repeat("x", 4096)) != nil
	})
	require.ErrorIs(t, put(ctx, s, "b", "2"), ErrDiskFull)
	ss, err := s.Get(ctx, []byte("a"))
	require.NoError(t, err)
	require.Equal(t, []string{"1"}, liveValues(ss))
	waitFor(t, 10*time.Second, "the wedge noticed", func() bool {
		s.health.mu.Lock()
		defer s.health.mu.Unlock()
		return s.health.mu.wedged
	})
	require.ErrorIs(t, put(ctx, s, "b", "2"), ErrDiskFull)
	start := time.Now()
	require.Error(t, s.Close(), "a wedged pebble is left open")
	require.Less(t, time.Since(start), cfg.CloseTimeout)

	// The restart: a new process on what the disk holds (the wedged
	// instance keeps its lock in this one).
	inj.on.Store(false)
	cfg.FS = mem.CrashClone(vfs.CrashCloneCfg{})
	s, err = Open(cfg)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, put(ctx, s, "c", "3"))
}

func TestOpen_FullDiskOpensReadOnly(t *testing.T) {
	for _, d := range []Durability{DurabilityProcess, DurabilityFsync} {
		t.Run(string(d), func(t *testing.T) {
			var logs atomic.Int64
			s, inj, cfg := fullDiskStore(t, d, &logs)
			ctx := context.Background()
			acked := map[string]string{"a": "1", "b": "2"}
			for k, v := range acked {
				require.NoError(t, put(ctx, s, k, v))
			}
			require.NoError(t, s.Close())

			inj.on.Store(true)
			s, err := Open(cfg)
			require.NoError(t, err, "a full disk opens read-only")
			require.ErrorIs(t, s.Fault(), ErrDiskFull)
			require.True(t, s.readOnly())
			requireValues(t, s, acked)
			require.Equal(t, int64(2), s.Stats().Keys)
			require.ErrorIs(t, put(ctx, s, "c", "3"), ErrDiskFull)

			inj.on.Store(false)
			waitFor(t, 10*time.Second, "store takes writes again", func() bool { return s.Fault() == nil })
			require.NoError(t, put(ctx, s, "c", "3"))
			acked["c"] = "3"
			requireValues(t, s, acked)
			require.NoError(t, s.Close())
		})
	}
}

// stallSync is an errorfs injector that blocks WAL syncs while on, until
// released.
type stallSync struct {
	on      atomic.Bool
	entered chan struct{} // receives when a sync blocks
	release chan struct{}
}

func (st *stallSync) String() string { return "stall" }

func (st *stallSync) MaybeError(op errorfs.Op) error {
	if st.on.Load() && op.Kind == errorfs.OpFileSyncData || st.on.Load() && op.Kind == errorfs.OpFileSync {
		if strings.HasSuffix(op.Path, ".log") {
			select {
			case st.entered <- struct{}{}:
			default:
			}
			<-st.release
		}
	}
	return nil
}

func TestStore_StalledWriteAnsweredOnFault(t *testing.T) {
	st := &stallSync{entered: make(chan struct{}, 1), release: make(chan struct{})}
	var logs atomic.Int64
	cfg := Config{Dir: "db", FS: newErrFS(st), Durability: DurabilityFsync, ProbeInterval: time.Hour,
		CloseTimeout: 5 * time.Second, Logger: testLogger(t, &logs)}
	s, err := Open(cfg)
	require.NoError(t, err)
	ctx := context.Background()
	st.on.Store(true)
	var wg sync.WaitGroup
	var werr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		werr = put(ctx, s, "k", "v")
	}()
	<-st.entered
	_ = s.fail("test", &os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC})
	wg.Wait() // answered although the commit is still blocked
	require.ErrorIs(t, werr, ErrDiskFull)
	ss, err := s.Get(ctx, []byte("other"))
	require.NoError(t, err, "reads go on")
	require.Empty(t, ss)
	st.on.Store(false)
	close(st.release)
	require.NoError(t, s.Close())
}

func TestLogLimiter(t *testing.T) {
	var logs atomic.Int64
	now := time.Unix(0, 0)
	l := newLogLimiter(testLogger(t, &logs), func() time.Time { return now }, time.Second, 3)
	for range 100 {
		l.Error("disk full")
	}
	l.Error("other")
	require.Equal(t, int64(4), logs.Load(), "three of the first message, one of the other")
	now = now.Add(time.Second)
	for range 100 {
		l.Error("disk full")
	}
	require.Equal(t, int64(7), logs.Load())
}

func TestCommit_OtherPanicsReachTheCaller(t *testing.T) {
	s, _ := openMem(t, DurabilityProcess)
	require.PanicsWithValue(t, "boom", func() { _ = s.commit(func() error { panic("boom") }, nil) },
		"a panic that is not a disk failure is the caller's, as before commits ran in their own goroutine")
	require.NoError(t, s.Fault())
	require.NoError(t, put(context.Background(), s, "k", "v"))
}

func TestStore_IOErrorRefusesWritesAsDiskIO(t *testing.T) {
	var logs atomic.Int64
	inj := &diskFull{errno: syscall.EIO}
	s, err := Open(Config{Dir: "db", FS: newErrFS(inj), Durability: DurabilityFsync, ProbeInterval: 10 * time.Millisecond,
		Logger: testLogger(t, &logs)})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, put(ctx, s, "a", "1"))
	inj.on.Store(true)
	err = put(ctx, s, "b", "2")
	require.ErrorIs(t, err, ErrDiskIO)
	require.NotErrorIs(t, err, ErrDiskFull)
	require.Equal(t, "disk_io_error", s.Stats().Fault)
	requireValues(t, s, map[string]string{"a": "1"})
	inj.on.Store(false)
	waitFor(t, 10*time.Second, "store takes writes again", func() bool { return s.Fault() == nil })
	require.NoError(t, put(ctx, s, "b", "2"))
	require.NoError(t, s.Close())
}
