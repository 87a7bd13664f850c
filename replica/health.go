package replica

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/dynkv/dynkv/engine"
)

// Disk failures: a full disk and I/O errors.
//
// What pebble v2 does (read in its source, v2.1.7):
//   - A synced commit whose WAL write or sync fails makes DB.Apply call
//     Logger.Fatalf("pebble: fatal commit error"). The batch was already
//     applied to the memtable: readers may see it although it is not
//     durable. The WAL writer keeps the error, so every later synced
//     commit on that WAL fails the same way: the instance never takes a
//     write again.
//   - An unsynced commit (DurabilityNone) does not see the error until the
//     WAL writer's next block, where pebble panics inside its commit
//     pipeline with the pipeline's mutex held: no commit, flush or Close
//     ever gets through again (the instance is wedged; reads still work).
//   - A failed flush or compaction goes to EventListener.BackgroundError
//     and is retried at once, with no backoff (a hot loop on a full disk).
//     Once the memtables cannot be flushed, commits stall, blocked with no
//     way to cancel them, and Flush never returns.
//   - A failed MANIFEST write is fatal (Logger.Fatalf) wherever it happens.
//
// So the store does not trust a pebble instance with another write once
// one failed:
//  1. A commit's error (pebble's fatal commit error, which our Fatalf
//     raises as a panic, or an I/O panic) becomes the store's fault:
//     ErrDiskFull for ENOSPC and EDQUOT, ErrDiskIO for other errors. A
//     background I/O error (flush, compaction) becomes the fault too.
//     While the store has a fault, every write is refused with it at
//     once; reads go on.
//  2. A write still inside pebble when the fault is recorded (a stalled
//     commit) is answered with the fault; the commit finishes, or not, in
//     the background, holding the key's lock and a read lock of the store.
//     It was not acknowledged, so nothing acknowledged depends on it.
//     The store is not reopened or closed while such a commit runs.
//  3. The recovery loop (run) reopens pebble read-only: flushes,
//     compactions and their retry loop stop, and reads go on from what is
//     on disk. Every ProbeInterval it checks that the disk has room (room:
//     pebble.Open would otherwise hang in a flush retry loop); once it
//     has, it reopens pebble read-write, with a new
//     actor identity (a failed write may have been read, with its dot,
//     before it vanished with the memtable), and takes writes again.
//  4. A wedged instance (a panic inside pebble's commit pipeline) cannot
//     be closed: the store keeps reading from it, refuses writes, and logs
//     that the node needs a restart; Close leaves it. A commit that does
//     not return keeps the store from reopening (it retries every
//     ProbeInterval) and Close gives up on it after CloseTimeout; a pebble
//     whose Close does not return within CloseTimeout is dropped, and
//     reads fail as well until a restart.
//
// Open follows the same rules: a directory pebble cannot open read-write,
// or whose opening writes fail, is opened read-only with a fault.
// A write is acknowledged only when pebble returned success for it.

// health is the store's fault state.
type health struct {
	refusing atomic.Bool   // mu.fault != nil; read without the lock
	kick     chan struct{} // buffered (1): wakes the recovery loop

	mu struct {
		sync.Mutex
		fault    error         // why writes are refused; nil while they are taken
		faulted  chan struct{} // closed when fault is set; a new one once it clears
		readOnly bool          // pebble is open read-only
		wedged   bool          // pebble can be neither written nor closed
	}
}

func (h *health) init() {
	h.kick = make(chan struct{}, 1)
	h.mu.faulted = make(chan struct{})
}

// faulted returns the channel closed when the store next faults (already
// closed if it has a fault).
func (h *health) faulted() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mu.faulted
}

// Fault returns the error writes are refused with (wrapping ErrDiskFull or
// ErrDiskIO), or nil while the store takes writes.
func (s *Store) Fault() error {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	return s.health.mu.fault
}

// refusal is the error of a write refused because of the fault.
func (s *Store) refusal() error {
	if err := s.Fault(); err != nil {
		return fmt.Errorf("replica: write refused: %w", err)
	}
	return fmt.Errorf("replica: write refused: %w", ErrDiskIO)
}

// fail records cause, an error of op, as the store's fault unless it has
// one already, wakes the recovery loop, and returns the error for op's
// caller.
func (s *Store) fail(op string, cause error) error {
	err := fmt.Errorf("%w: %s: %w", diskErrorKind(cause), op, cause)
	h := &s.health
	h.mu.Lock()
	first := h.mu.fault == nil
	if first {
		h.mu.fault = err
		h.refusing.Store(true)
		close(h.mu.faulted)
	}
	h.mu.Unlock()
	if first {
		s.log.Error("store refuses writes", "err", err.Error())
	} else {
		s.errlog.Error("store write failed", "op", op, "err", cause.Error())
	}
	select {
	case h.kick <- struct{}{}:
	default:
	}
	return err
}

// clearFault makes the store take writes again.
func (s *Store) clearFault() {
	h := &s.health
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.mu.fault != nil {
		h.mu.fault = nil
		h.mu.faulted = make(chan struct{})
		h.refusing.Store(false)
	}
}

// diskErrorKind returns ErrDiskFull for an error that says the disk is
// full, else ErrDiskIO.
func diskErrorKind(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return ErrDiskFull
	}
	return ErrDiskIO
}

// isDiskError reports whether err comes from the operating system's I/O
// (it carries an errno) or is already a store fault.
func isDiskError(err error) bool {
	var errno syscall.Errno
	return errors.As(err, &errno) || errors.Is(err, ErrDiskFull) || errors.Is(err, ErrDiskIO)
}

// pebbleFatal is what our pebble Logger's Fatalf panics with.
type pebbleFatal struct {
	msg string
	err error // the first error among Fatalf's arguments, if any
}

func (f pebbleFatal) Error() string { return f.msg }
func (f pebbleFatal) Unwrap() error { return f.err }

// commit runs write, which commits to pebble, and returns its error,
// recorded as the store's fault. The caller holds s.open for reading. If
// the store faults while write is still running (a commit stalled behind
// flushes that fail), commit returns the fault at once and leaves write to
// finish in the background, counted in s.pending; release (which may
// be nil) runs once write returned, so the caller hands commit what write
// needs to keep (the key's lock).
func (s *Store) commit(write func() error, release func()) error {
	faulted := s.health.faulted()
	select {
	case <-faulted:
		if release != nil {
			release()
		}
		return s.refusal()
	default:
	}
	s.pending.Add(1) // reopen and Close wait for it, not only for s.open
	done := make(chan commitResult, 1)
	go func() {
		defer s.pending.Add(-1)
		var res commitResult
		func() {
			defer func() { res.panic = recover() }()
			res.err = s.guard(write)
		}()
		if release != nil {
			release()
		}
		done <- res
	}()
	select {
	case res := <-done:
		return res.get()
	case <-faulted:
		select {
		case res := <-done:
			return res.get()
		default:
			return s.refusal()
		}
	}
}

// commitResult is how a commit ended: an error, or a panic that guard
// does not handle, raised again in the caller's goroutine (where resp
// recovers a command's panic) rather than in commit's.
type commitResult struct {
	err   error
	panic any
}

func (r commitResult) get() error {
	if r.panic != nil {
		panic(r.panic)
	}
	return r.err
}

// guard runs write and turns pebble's fatal commit errors and I/O panics
// into the store's fault. Other panics go on.
func (s *Store) guard(write func() error) (err error) {
	defer func() {
		r := recover()
		if r == nil {
			if err != nil && !errors.Is(err, ErrDiskFull) && !errors.Is(err, ErrDiskIO) {
				err = s.fail("commit", err)
			}
			return
		}
		if f, ok := r.(pebbleFatal); ok {
			// DB.Apply's "fatal commit error": the commit pipeline is
			// free again; the WAL is broken for good.
			cause := f.err
			if cause == nil {
				cause = f
			}
			err = s.fail("commit", cause)
			return
		}
		if e, ok := r.(error); ok && isDiskError(e) {
			// Raised inside pebble's commit pipeline, which stays locked.
			s.health.mu.Lock()
			s.health.mu.wedged = true
			s.health.mu.Unlock()
			err = s.fail("commit", e)
			return
		}
		panic(r)
	}()
	return write()
}

// flush flushes the memtable to an sstable, giving up (with the fault)
// when the store faults first: a flush that fails is retried by pebble
// forever.
func (s *Store) flush() error {
	faulted := s.health.faulted()
	ch, err := s.db.Flush()
	if err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-faulted:
		return s.refusal()
	}
}

// eventListener reports pebble's background I/O errors as the store's
// fault and logs its other trouble at a bounded rate.
func (s *Store) eventListener() *pebble.EventListener {
	return &pebble.EventListener{
		BackgroundError: func(err error) {
			if isDiskError(err) {
				_ = s.fail("background", err)
				return
			}
			s.errlog.Error("pebble background error", "err", err.Error())
		},
		DiskSlow: func(info pebble.DiskSlowInfo) {
			s.errlog.Warn("disk slow", "op", info.OpType.String(), "path", info.Path, "duration", info.Duration.String())
		},
		WriteStallBegin: func(info pebble.WriteStallBeginInfo) {
			s.errlog.Warn("write stall", "reason", info.Reason)
		},
	}
}

// run is the recovery loop: while the store has a fault it moves reads to
// a read-only pebble and probes the disk until writes may resume. It
// returns when the store closes.
func (s *Store) run() {
	defer s.wg.Done()
	t := time.NewTicker(s.probeInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-s.health.kick:
		case <-t.C:
		}
		if s.Fault() != nil {
			s.recoverOnce()
		}
	}
}

// recoverOnce takes one step towards writes: reopen read-only, then, if a
// probe write succeeds, reopen read-write.
func (s *Store) recoverOnce() {
	s.health.mu.Lock()
	ro, wedged := s.health.mu.readOnly, s.health.mu.wedged
	s.health.mu.Unlock()
	if wedged {
		s.errlog.Error("store wedged: pebble cannot be closed after a failed write; restart the node to take writes again", "err", s.Fault().Error())
		return
	}
	if !ro {
		if err := s.reopen(true); err != nil {
			s.errlog.Error("reopen read-only failed", "err", err.Error())
			return
		}
	}
	if err := s.room(); err != nil {
		s.errlog.Warn("disk still refuses writes", "err", err.Error())
		return
	}
	if err := s.reopen(false); err != nil {
		s.errlog.Error("reopen read-write failed", "err", err.Error())
		return
	}
	s.clearFault()
	s.log.Info("store takes writes again", "actor", fmt.Sprintf("%016x", s.actor.Load()))
}

// probeBytes is the room a store wants beyond what pebble needs to open:
// a new WAL's first writes and the store's opening records.
const probeBytes = 1 << 20

// room reports (with an error that wraps ENOSPC, or the probe's) whether
// the disk has room for pebble to open read-write. pebble.Open flushes the
// WALs it replays and waits for the flush, retrying a failing one forever:
// on a full disk it never returns. So the store opens read-write only when
// the disk has the WALs' size and probeBytes free: as the filesystem
// reports it, or else as a probe file of that size written and synced next
// to the data shows. A directory not created yet needs nothing.
func (s *Store) room() error {
	names, err := s.fs.List(s.dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	need := int64(probeBytes)
	for _, n := range names {
		if strings.HasSuffix(n, ".log") {
			if fi, err := s.fs.Stat(s.fs.PathJoin(s.dir, n)); err == nil {
				need += fi.Size()
			}
		}
	}
	du, err := s.fs.GetDiskUsage(s.dir)
	if err == nil {
		if du.AvailBytes < uint64(need) {
			return fmt.Errorf("replica: %d bytes free in %s, opening for writes needs %d: %w", du.AvailBytes, s.dir, need, syscall.ENOSPC)
		}
		return nil
	}
	return s.probe(need)
}

// probe writes, syncs and removes a file of size bytes next to the data.
func (s *Store) probe(size int64) (err error) {
	name := s.fs.PathJoin(s.dir, "dynkv-probe")
	defer func() { _ = s.fs.Remove(name) }()
	f, err := s.fs.Create(name, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	buf := make([]byte, 64<<10)
	for n := int64(0); n < size; n += int64(len(buf)) {
		if _, err := f.Write(buf); err != nil {
			return err
		}
	}
	return f.Sync()
}

// reopen replaces the pebble instance with a new one, read-only or not.
// New operations wait (s.pause) while operations in flight finish; if they
// do not within CloseTimeout, the instance stays until the next attempt. A
// pebble that does not close within CloseTimeout is wedged: the store
// drops it, and reads fail too until a restart.
func (s *Store) reopen(readOnly bool) error {
	pause := make(chan struct{})
	s.pause.Store(&pause)
	defer func() {
		s.pause.Store(nil)
		close(pause)
	}()
	if !s.quiesce(s.closeTimeout) {
		return fmt.Errorf("replica: operations still inside pebble after %s", s.closeTimeout)
	}
	defer s.open.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	if s.memory && s.db != nil {
		return s.reopenMemory(readOnly)
	}
	if s.db != nil {
		if err := s.closeDB(s.db, s.closeTimeout); errors.Is(err, errCloseTimeout) {
			// Stuck inside Close, perhaps past the point where pebble
			// panics on reads: stop using it.
			s.health.mu.Lock()
			s.health.mu.wedged = true
			s.health.mu.Unlock()
			s.db = nil
			return err
		} else if err != nil {
			s.errlog.Warn("close after a disk fault", "err", err.Error()) // closed nevertheless
		}
		s.db = nil
	}
	if readOnly {
		return s.openDB(true, true)
	}
	// The opening writes must pass; no other operation runs.
	fault := s.Fault()
	s.clearFault()
	err := s.openDB(false, true)
	if err == nil {
		return nil
	}
	if s.Fault() == nil {
		if isDiskError(err) {
			_ = s.fail("reopen", err)
		} else {
			s.restoreFault(fault)
		}
	}
	// Back to reading, at least.
	return errors.Join(err, s.openDB(true, true))
}

// reopenMemory is reopen for StorageMemory, whose engine fails only to
// save its kept metadata: the data in memory is whole, so it stays. Read
// only, the store refuses writes; read-write again, it marks itself
// running and, the metadata it failed to save perhaps lost, takes a new
// actor identity. The caller holds s.open for writing.
func (s *Store) reopenMemory(readOnly bool) error {
	s.health.mu.Lock()
	s.health.mu.readOnly = readOnly
	s.health.mu.Unlock()
	if readOnly {
		return nil
	}
	fault := s.Fault()
	s.clearFault()
	err := s.markRunning()
	if err == nil {
		err = s.newActor()
	}
	if err != nil {
		if s.Fault() == nil {
			s.restoreFault(fault)
		}
		s.health.mu.Lock()
		s.health.mu.readOnly = true
		s.health.mu.Unlock()
	}
	return err
}

// restoreFault sets err back as the fault after a failed reopen.
func (s *Store) restoreFault(err error) {
	h := &s.health
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.mu.fault == nil {
		h.mu.fault = err
		h.refusing.Store(true)
		close(h.mu.faulted)
	}
}

// quiesce write-locks s.open and waits for abandoned commits (s.pending),
// all within d; it reports false, holding nothing, if they do not finish.
func (s *Store) quiesce(d time.Duration) bool {
	deadline := time.Now().Add(d)
	if !s.lockWithin(d) {
		return false
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for s.pending.Load() > 0 {
		if time.Now().After(deadline) {
			s.open.Unlock()
			return false
		}
		<-tick.C
	}
	return true
}

// lockWithin write-locks s.open, polling TryLock so that waiting does not
// hold up readers as a blocked Lock would. It reports false if operations
// still hold s.open after d.
func (s *Store) lockWithin(d time.Duration) bool {
	if s.open.TryLock() {
		return true
	}
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-deadline.C:
			return false
		case <-tick.C:
			if s.open.TryLock() {
				return true
			}
		}
	}
}

// errCloseTimeout reports a pebble instance that did not close in time:
// it is still open (and wedged).
var errCloseTimeout = errors.New("replica: close: pebble did not close in time")

// closeDB closes db, giving up after d (errCloseTimeout): a wedged pebble
// never closes. On any other error db is closed nevertheless.
func (s *Store) closeDB(db engine.Engine, d time.Duration) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("replica: close: %v", r)
			}
		}()
		done <- db.Close()
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("replica: close: %w", err)
		}
		return nil
	case <-t.C:
		return fmt.Errorf("%w (%s)", errCloseTimeout, d)
	}
}
