package replica

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/dynkv/dynkv/admin"
	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/version"
)

// Key spaces inside pebble. Every stored key starts with one of these bytes.
const (
	spaceData byte = 'k' // 'k' + hash slot (2 bytes) + user key → EncodeRecord(siblings); see layout.go
	spaceMeta byte = 'm' // 'm' + name → store metadata
)

var (
	metaActor   = []byte{spaceMeta, 'a', 'c', 't', 'o', 'r'}
	metaRunning = []byte{spaceMeta, 'r', 'u', 'n', 'n', 'i', 'n', 'g'}
)

const lockStripes = 1024

// Store is a node's local replica: the sibling sets of the keys it holds,
// in pebble. All methods are safe for concurrent use.
type Store struct {
	db    *pebble.DB
	dir   string // Config.Dir, for errors
	log   *slog.Logger
	wo    *pebble.WriteOptions
	actor atomic.Uint64 // Actor; changes only by RotateActor
	seed  maphash.Seed
	// processMode: WAL syncs are no-ops (DurabilityProcess).
	processMode bool
	maxHints    int64 // Config.MaxHints
	tree        *tree // the hash tree's leaves; see merkle.go
	clock       dotClock

	// Lock order: open before locks[i].
	open  sync.RWMutex            // read-held by every operation; Close write-holds it
	locks [lockStripes]sync.Mutex // striped by key; held across read-modify-write

	live    atomic.Int64 // keys whose Value() is present
	hints   atomic.Int64 // hint records held
	reads   atomic.Int64 // Get calls
	writes  atomic.Int64 // records written or deleted
	corrupt atomic.Int64 // records that failed to decode
	closed  atomic.Bool

	treeRebuilds atomic.Int64 // times Open rebuilt the hash tree from the data
	reclaimed    atomic.Int64 // records whose expired values ReclaimExpired turned into tombstones
}

// Open opens (creating if needed) the store in cfg.Dir.
func Open(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	fs := cfg.FS
	if fs == nil {
		fs = vfs.Default
	}
	opts := &pebble.Options{FS: fs, Logger: pebbleLogger{log(cfg.Logger)}, Merger: xorMerger}
	if cfg.CacheBytes > 0 {
		cache := pebble.NewCache(cfg.CacheBytes)
		defer cache.Unref()
		opts.Cache = cache
	}
	wo := pebble.Sync
	switch cfg.Durability {
	case DurabilityNone:
		wo = pebble.NoSync
	case DurabilityProcess:
		opts.FS = processFS{fs}
	}
	db, err := pebble.Open(cfg.Dir, opts)
	if err != nil && strings.Contains(err.Error(), "merger name") {
		// A directory of a dynkv before the hash tree (layout 1).
		return nil, fmt.Errorf("replica: open %s: %w: %w", cfg.Dir, ErrFormat, err)
	}
	if err != nil {
		return nil, fmt.Errorf("replica: open %s: %w", cfg.Dir, err)
	}
	s := &Store{db: db, dir: cfg.Dir, log: log(cfg.Logger), wo: wo, seed: maphash.MakeSeed(), processMode: cfg.Durability == DurabilityProcess,
		maxHints: cfg.MaxHints, tree: &tree{}}
	s.clock.now = cfg.Clock
	if s.clock.now == nil {
		s.clock.now = time.Now
	}
	for _, step := range []func() error{s.checkFormat, s.loadActor, s.loadClock, s.countKeys, s.loadTree} {
		if err := step(); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	s.log.Info("store opened", "dir", cfg.Dir, "durability", cfg.Durability, "actor", fmt.Sprintf("%016x", s.actor.Load()), "keys", s.live.Load())
	return s, nil
}

func log(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
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
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("replica: read run marker: %w", err)
	}
	if err := s.setDurable(metaRunning, nil); err != nil {
		return fmt.Errorf("replica: write run marker: %w", err)
	}
	v, closer, err := s.db.Get(metaActor)
	if err == nil && unclean && (s.wo != pebble.Sync || s.processMode) {
		_ = closer.Close()
		s.log.Warn("unclean shutdown: new actor identity", "old", fmt.Sprintf("%016x", binary.BigEndian.Uint64(v)))
		err = pebble.ErrNotFound
	}
	if err == nil {
		defer closer.Close()
		if len(v) != 8 || binary.BigEndian.Uint64(v) == 0 {
			return fmt.Errorf("replica: actor identity: %w", version.ErrCorruptRecord)
		}
		s.actor.Store(binary.BigEndian.Uint64(v))
		return nil
	}
	if !errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("replica: read actor: %w", err)
	}
	return s.newActor()
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
	if err := s.enter(ctx); err != nil {
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
// memtable is flushed to an (fsynced) sstable.
func (s *Store) setDurable(k, v []byte) error {
	if err := s.db.Set(k, v, pebble.Sync); err != nil {
		return err
	}
	if s.wo == pebble.Sync && !s.processMode {
		return nil
	}
	return s.db.Flush()
}

func (s *Store) countKeys() error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{spaceData}, UpperBound: []byte{spaceData + 1}})
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
	hs, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{spaceHint}, UpperBound: []byte{spaceHint + 1}})
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

// getRaw reads the record under the pebble key k.
func (s *Store) getRaw(k []byte) (version.Siblings, error) {
	v, closer, err := s.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("replica: get: %w", err)
	}
	rec := append([]byte(nil), v...)
	_ = closer.Close()
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
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.open.RUnlock()
	mu := &s.locks[maphash.Bytes(s.seed, k)%lockStripes]
	mu.Lock()
	defer mu.Unlock()
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
	switch {
	case k[0] == spaceData:
		err = s.writeData(k, cur, next)
	case len(next) == 0:
		err = s.db.Delete(k, s.wo)
	default:
		err = s.db.Set(k, version.EncodeRecord(next), s.wo)
	}
	if err != nil {
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

// writeData replaces the record under the data key k, holding cur, with
// next, and its leaf hash with it, in one batch.
func (s *Store) writeData(k []byte, cur, next version.Siblings) error {
	b := s.db.NewBatch()
	defer b.Close()
	if len(next) == 0 {
		_ = b.Delete(k, nil)
	} else {
		_ = b.Set(k, version.EncodeRecord(next), nil)
	}
	leaf := leafOfDataKey(k)
	delta := merkle.VersionHash(userKey(k), cur) ^ merkle.VersionHash(userKey(k), next)
	if delta != 0 {
		_ = b.Merge(treeKey(leaf), binary.BigEndian.AppendUint64(nil, delta), nil)
	}
	switch was, is := onlyTombstones(cur), onlyTombstones(next); {
	case is && !was:
		_ = b.Set(tombKey(k), nil, nil)
	case was && !is:
		_ = b.Delete(tombKey(k), nil)
	}
	indexExpiry(b, k, cur, next)
	if err := b.Commit(s.wo); err != nil {
		return err
	}
	s.tree.xor(leaf, delta)
	return nil
}

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
	s.open.RLock()
	defer s.open.RUnlock()
	if !s.closed.Load() {
		st.DiskBytes = s.db.Metrics().DiskSpaceUsage()
	}
	return st
}

// Close flushes nothing further and closes pebble. Writes acknowledged
// before Close are durable as configured. Later calls return ErrClosed.
func (s *Store) Close() error {
	s.open.Lock() // waits for operations in flight
	defer s.open.Unlock()
	if s.closed.Swap(true) {
		return ErrClosed
	}
	if err := s.db.Delete(metaRunning, pebble.Sync); err != nil {
		s.log.Error("clear run marker failed", "err", err)
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("replica: close: %w", err)
	}
	return nil
}

// enter admits an operation: on success the caller holds s.open for reading
// and must release it.
func (s *Store) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.open.RLock()
	if s.closed.Load() {
		s.open.RUnlock()
		return ErrClosed
	}
	return nil
}

// pebbleLogger adapts slog to pebble's logger.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug("pebble", "msg", fmt.Sprintf(format, args...))
}
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error("pebble", "msg", fmt.Sprintf(format, args...))
}
func (p pebbleLogger) Fatalf(format string, args ...any) {
	p.l.Error("pebble fatal", "msg", fmt.Sprintf(format, args...))
	panic(fmt.Sprintf(format, args...))
}
