package replica

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/dynkv/dynkv/admin"
	"github.com/dynkv/dynkv/engine"
	"github.com/dynkv/dynkv/version"
)

// Key spaces inside pebble. Every stored key starts with one of these bytes.
const (
	spaceData byte = 'k' // 'k' + hash slot (2 bytes) + key hash (8 bytes) + user key → EncodeRecord(siblings); see layout.go
	spaceMeta byte = 'm' // 'm' + name → store metadata
)

var (
	metaActor   = []byte{spaceMeta, 'a', 'c', 't', 'o', 'r'}
	metaRunning = []byte{spaceMeta, 'r', 'u', 'n', 'n', 'i', 'n', 'g'}
)

const lockStripes = 1024

// Store is a node's local replica: the sibling sets of the keys it holds,
// in its storage engine (pebble, or memory). All methods are safe for
// concurrent use.
type Store struct {
	db    engine.Engine // guarded by open; nil only after a failed reopen
	cfg   Config        // as given to Open, for reopening
	fs    vfs.FS        // Config.FS or the operating system's
	cache *pebble.Cache
	dir   string // Config.Dir, for errors
	log   *slog.Logger
	// errlog logs failures that may repeat at every write, at a bounded
	// rate.
	errlog *logLimiter
	// syncWrites: every write asks the engine for a WAL sync
	// (DurabilityProcess, in which processFS makes it a no-op, and
	// DurabilityFsync).
	syncWrites bool
	// memory: the engine is engine.Memory (StorageMemory).
	memory bool
	actor  atomic.Uint64 // Actor; changes only by RotateActor
	seed   maphash.Seed
	// processMode: WAL syncs are no-ops (DurabilityProcess), except
	// while forceSync is above zero (Sync).
	processMode bool
	forceSync   atomic.Int64
	maxHints    int64        // Config.MaxHints
	tree        *tree        // the hash tree's leaves; see merkle.go
	records     *recordCache // nil: none
	clock       dotClock

	closeTimeout  time.Duration   // Config.CloseTimeout or its default
	probeInterval time.Duration   // Config.ProbeInterval or its default
	health        health          // the disk's faults; see health.go
	done          chan struct{}   // closed by Close: the recovery loop ends
	commits       chan *commitJob // to the committer; see committer.go
	stopCommits   chan struct{}   // closed by Close once nothing is pending
	wg            sync.WaitGroup

	// Lock order: open before locks[i]. open is write-locked only with
	// TryLock (lockWithin), so that waiting for it holds up no reader.
	open    sync.RWMutex            // read-held by every operation; Close and reopen write-hold it
	locks   [lockStripes]sync.Mutex // striped by key; held across read-modify-write
	pending atomic.Int64            // commits running, some perhaps abandoned (see commit)
	// pause, while set, holds new operations back so that reopen can
	// write-lock open; closed when the reopen is over.
	pause atomic.Pointer[chan struct{}]

	live  atomic.Int64 // keys whose Value() is present
	hints atomic.Int64 // hint records held
	reads atomic.Int64 // Get calls
	syncs atomic.Int64 // Sync calls that fsynced
	// diskReads counts records read from pebble (the record cache missed).
	diskReads atomic.Int64
	writes    atomic.Int64 // records written or deleted
	corrupt   atomic.Int64 // records that failed to decode
	closed    atomic.Bool

	treeRebuilds atomic.Int64 // times Open rebuilt the hash tree from the data
	reclaimed    atomic.Int64 // records whose expired values ReclaimExpired turned into tombstones
}

// loadActor reads the store's actor identity, drawing and persisting a new
// one for a new (or wiped) data directory, and after an unclean shutdown:
// unless every write is fsynced, a crash of the machine may have lost writes
// whose dots other replicas already hold, and reusing the actor would issue
// those dots again for different values (Riak's kv679). It then marks the
// store running until Close.
func (s *Store) loadActor() error {
	_, rc, err := s.db.Get(metaRunning)
	unclean := err == nil
	if unclean {
		_ = rc.Close()
	} else if !errors.Is(err, engine.ErrNotFound) {
		return fmt.Errorf("replica: read run marker: %w", err)
	}
	if err := s.markRunning(); err != nil {
		return err
	}
	v, closer, err := s.db.Get(metaActor)
	if err == nil && unclean && (!s.syncWrites || s.processMode) {
		old := fmt.Sprintf("%x", v) // v belongs to pebble only until closer.Close
		_ = closer.Close()
		s.log.Warn("unclean shutdown: new actor identity", "old", old)
		err = engine.ErrNotFound
	}
	if err == nil {
		defer closer.Close()
		if len(v) != 8 || binary.BigEndian.Uint64(v) == 0 {
			return fmt.Errorf("replica: actor identity: %w", version.ErrCorruptRecord)
		}
		s.actor.Store(binary.BigEndian.Uint64(v))
		return nil
	}
	if !errors.Is(err, engine.ErrNotFound) {
		return fmt.Errorf("replica: read actor: %w", err)
	}
	return s.newActor()
}

// markRunning marks the store running until Close.
func (s *Store) markRunning() error {
	if err := s.setDurable(metaRunning, nil); err != nil {
		return fmt.Errorf("replica: write run marker: %w", err)
	}
	return nil
}

// readActor reads the actor identity of a store opened read-only, which
// coordinates no write (0 if the directory has none yet).
func (s *Store) readActor() error {
	v, closer, err := s.db.Get(metaActor)
	if errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("replica: read actor: %w", err)
	}
	defer closer.Close()
	if len(v) == 8 {
		s.actor.Store(binary.BigEndian.Uint64(v))
	}
	return nil
}

// newActor draws a new actor identity, persists it and makes it current.
func (s *Store) newActor() error {
	var b [8]byte
	for binary.BigEndian.Uint64(b[:]) == 0 {
		_, _ = rand.Read(b[:])
	}
	if err := s.setDurable(metaActor, b[:]); err != nil {
		return fmt.Errorf("replica: write actor: %w", err)
	}
	s.actor.Store(binary.BigEndian.Uint64(b[:]))
	return nil
}

// RotateActor gives the store a new actor identity, durably, for the
// writes it coordinates from now on. A node calls it before it forgets
// versions its current actor issued (handing a partition's records off):
// without them it would issue those dots again for other values.
func (s *Store) RotateActor(ctx context.Context) error {
	if err := s.enterWrite(ctx); err != nil {
		return err
	}
	defer s.open.RUnlock()
	old := s.actor.Load()
	if err := s.newActor(); err != nil {
		return err
	}
	s.log.Info("new actor identity", "old", fmt.Sprintf("%016x", old), "new", fmt.Sprintf("%016x", s.actor.Load()))
	return nil
}

// setDurable writes k and makes it survive a machine crash in every
// durability mode: in DurabilityProcess WAL syncs are no-ops, so the
// memtable is flushed to an (fsynced) sstable. It is refused while the
// store has a fault.
func (s *Store) setDurable(k, v []byte) error {
	if s.health.refusing.Load() {
		return s.refusal()
	}
	return s.commit(func() error {
		if err := s.db.Set(k, v, true); err != nil {
			return err
		}
		if s.syncWrites && !s.processMode {
			return nil
		}
		return s.flush()
	}, nil)
}

func (s *Store) countKeys() error {
	it, err := s.db.NewIter([]byte{spaceData}, []byte{spaceData + 1})
	if err != nil {
		return fmt.Errorf("replica: count keys: %w", err)
	}
	var n int64
	for it.First(); it.Valid(); it.Next() {
		ss, err := version.DecodeRecord(it.Value())
		if err != nil {
			s.corrupt.Add(1)
			s.log.Error("corrupt record", "key_len", len(it.Key())-1)
			continue
		}
		if _, ok := ss.Value(); ok {
			n++
		}
	}
	s.live.Store(n)
	if err := it.Close(); err != nil {
		return err
	}
	hs, err := s.db.NewIter([]byte{spaceHint}, []byte{spaceHint + 1})
	if err != nil {
		return fmt.Errorf("replica: count hints: %w", err)
	}
	n = 0
	for hs.First(); hs.Valid(); hs.Next() {
		n++
	}
	s.hints.Store(n)
	return hs.Close()
}

// Actor returns the identity this store's node uses to coordinate writes.
func (s *Store) Actor() version.Actor { return version.Actor(s.actor.Load()) }

// Get returns the siblings of key; an absent key has none. The result is
// the caller's. It does not block on other readers or writers.
func (s *Store) Get(ctx context.Context, key []byte) (version.Siblings, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.open.RUnlock()
	s.reads.Add(1)
	return s.get(key)
}

func (s *Store) get(key []byte) (version.Siblings, error) { return s.getRaw(dataKey(key)) }

// getRaw reads the record under the pebble key k: from the record cache
// if it holds a data key, else from pebble (filling the cache in).
func (s *Store) getRaw(k []byte) (version.Siblings, error) {
	cached := k[0] == spaceData
	var gen uint64
	if cached {
		rec, ok, g := s.records.get(k)
		if ok {
			if rec == nil {
				return nil, nil
			}
			return s.decode(k, rec)
		}
		gen = g
	}
	s.diskReads.Add(1)
	v, closer, err := s.db.Get(k)
	if errors.Is(err, engine.ErrNotFound) {
		if cached {
			s.records.fill(k, nil, gen)
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("replica: get: %w", err)
	}
	rec := append([]byte(nil), v...)
	var keep []byte // the cache's copy
	if cached && s.records != nil {
		keep = append([]byte(nil), v...)
	}
	_ = closer.Close()
	ss, err := s.decode(k, rec)
	if err == nil && keep != nil {
		s.records.fill(k, keep, gen)
	}
	return ss, err
}

// decode decodes rec, the record under k, which becomes the result's.
func (s *Store) decode(k, rec []byte) (version.Siblings, error) {
	ss, err := version.DecodeRecord(rec)
	if err != nil {
		s.corrupt.Add(1)
		s.log.Error("corrupt record", "space", string(k[:1]), "key_len", len(k)-1)
		return nil, err
	}
	return ss, nil
}

// Update atomically replaces the siblings of key with fn(current). If fn
// returns an error, nothing is written and Update returns it. If the result
// holds the same versions as the current set, nothing is written either.
// Update returns the siblings stored afterwards. fn runs with the key locked
// and must not call back into the Store; it must not modify cur.
// Update blocks until the write is durable as configured.
func (s *Store) Update(ctx context.Context, key []byte, fn func(cur version.Siblings) (version.Siblings, error)) (version.Siblings, error) {
	return s.update(ctx, dataKey(key), fn)
}

// update is Update of the record under the pebble key k, in any key space.
func (s *Store) update(ctx context.Context, k []byte, fn func(cur version.Siblings) (version.Siblings, error)) (version.Siblings, error) {
	if err := s.enterWrite(ctx); err != nil {
		return nil, err
	}
	defer s.open.RUnlock()
	mu := &s.locks[maphash.Bytes(s.seed, k)%lockStripes]
	mu.Lock()
	locked := true // until commit takes the lock over
	defer func() {
		if locked {
			mu.Unlock()
		}
	}()
	cur, err := s.getRaw(k)
	if err != nil {
		return nil, err
	}
	next, err := fn(cur)
	if err != nil {
		return nil, err
	}
	if version.SameVersions(cur, next) {
		return cur, nil
	}
	if !next.Fits() {
		return nil, version.ErrTooManyVersions
	}
	locked = false
	if err := s.commitUpdate(k, cur, next, mu); err != nil {
		return nil, fmt.Errorf("replica: write: %w", err)
	}
	s.writes.Add(1)
	if k[0] == spaceHint {
		switch {
		case len(cur) == 0 && len(next) > 0:
			s.hints.Add(1)
		case len(cur) > 0 && len(next) == 0:
			s.hints.Add(-1)
		}
	}
	if k[0] == spaceData {
		s.countLive(cur, next)
	}
	return next, nil
}

// countLive adjusts the count of live keys for a record going from cur to
// next.
func (s *Store) countLive(cur, next version.Siblings) {
	_, was := cur.Value()
	_, is := next.Value()
	switch {
	case is && !was:
		s.live.Add(1)
	case was && !is:
		s.live.Add(-1)
	}
}

// Sync makes every write the store acknowledged so far survive a crash of
// the machine, whatever its durability: it fsyncs pebble's WAL (in
// DurabilityFsync every write already is). StorageMemory refuses it
// (engine.ErrNotDurable). A write with DW (coordinator)
// is made durable this way on each replica that counts towards DW; other
// writers' syncs share the fsync (pebble's group commit).
func (s *Store) Sync(ctx context.Context) error {
	if s.memory {
		if s.closed.Load() {
			return ErrClosed
		}
		// Not through commit: a refusal is no fault of the disk.
		return fmt.Errorf("replica: sync: %w", engine.ErrNotDurable)
	}
	if s.syncWrites && !s.processMode {
		return nil
	}
	if err := s.enterWrite(ctx); err != nil {
		return err
	}
	defer s.open.RUnlock()
	s.forceSync.Add(1)
	defer s.forceSync.Add(-1)
	if err := s.commit(func() error { return s.db.Sync() }, nil); err != nil {
		return fmt.Errorf("replica: sync: %w", err)
	}
	s.syncs.Add(1)
	return nil
}

// Durable reports whether Sync can make writes survive a crash of the
// machine: false with storage memory.
func (s *Store) Durable() bool { return !s.memory }

// Merge syncs the sibling set in (from another replica or a coordinator)
// into key's stored set and returns the result. It writes only if in holds
// versions the store did not have.
func (s *Store) Merge(ctx context.Context, key []byte, in version.Siblings) (version.Siblings, error) {
	return s.Update(ctx, key, func(cur version.Siblings) (version.Siblings, error) { return version.Sync(cur, in), nil })
}

// Stats returns the store's counters.
func (s *Store) Stats() admin.StoreStats {
	st := admin.StoreStats{
		Keys:           s.live.Load(),
		Reads:          s.reads.Load(),
		Writes:         s.writes.Load(),
		CorruptRecords: s.corrupt.Load(),
		Hints:          s.hints.Load(),
		TreeRebuilds:   s.treeRebuilds.Load(),

		ExpiredReclaimed: s.reclaimed.Load(),
	}
	switch err := s.Fault(); {
	case errors.Is(err, ErrDiskFull):
		st.Fault = "disk_full"
	case err != nil:
		st.Fault = "disk_io_error"
	}
	s.open.RLock()
	defer s.open.RUnlock()
	if !s.closed.Load() && s.db != nil {
		st.DiskBytes = s.db.DiskSpaceUsage()
	}
	return st
}

// Close waits for the operations in flight, clears the run marker and
// closes pebble, giving up after Config.CloseTimeout (a pebble wedged by a
// failed write never closes: see health.go). Writes acknowledged before
// Close are durable as configured. Later calls return ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return ErrClosed
	}
	close(s.done)
	s.wg.Wait() // the recovery loop
	if s.cache != nil {
		defer s.cache.Unref()
	}
	if !s.quiesce(s.closeTimeout) {
		return fmt.Errorf("replica: close: operations still inside pebble after %s", s.closeTimeout)
	}
	close(s.stopCommits) // nothing is pending
	defer s.open.Unlock()
	s.health.mu.Lock()
	wedged, clean := s.health.mu.wedged, s.health.mu.fault == nil && !s.health.mu.readOnly
	s.health.mu.Unlock()
	if wedged {
		return fmt.Errorf("replica: close: pebble is wedged after a failed write: %w", s.Fault())
	}
	if s.db == nil {
		return nil
	}
	if clean {
		faulted := s.health.faulted()
		done := make(chan error, 1)
		go func() { done <- s.guard(func() error { return s.db.Delete(metaRunning, true) }) }()
		t := time.NewTimer(s.closeTimeout)
		defer t.Stop()
		select {
		case err := <-done:
			if err != nil {
				s.log.Error("clear run marker failed", "err", err.Error())
			}
		case <-faulted:
			s.log.Error("clear run marker failed", "err", s.Fault().Error())
		case <-t.C:
			return fmt.Errorf("replica: close: clearing the run marker took over %s", s.closeTimeout)
		}
	}
	s.records.clear()
	return s.closeDB(s.db, s.closeTimeout)
}

// enter admits an operation: on success the caller holds s.open for reading
// and must release it.
func (s *Store) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p := s.pause.Load(); p != nil {
		select {
		case <-*p:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.open.RLock()
	if s.closed.Load() {
		s.open.RUnlock()
		return ErrClosed
	}
	if s.db == nil {
		s.open.RUnlock()
		return fmt.Errorf("replica: store unavailable: %w", s.refusal())
	}
	return nil
}

// enterWrite is enter for an operation that writes: it is refused at once
// while the store has a fault.
func (s *Store) enterWrite(ctx context.Context) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	if s.health.refusing.Load() {
		s.open.RUnlock()
		return s.refusal()
	}
	return nil
}
