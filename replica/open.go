package replica

import (
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/dynkv/dynkv/engine"
)

// Open opens (creating if needed) the store in cfg.Dir. A directory the
// disk will not let pebble open for writing (full, or failing) is opened
// read-only: the store serves reads, refuses writes (ErrDiskFull,
// ErrDiskIO) and takes them again once the disk does (see health.go).
func Open(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, fs: cfg.FS, dir: cfg.Dir, log: log(cfg.Logger), syncWrites: true, seed: maphash.MakeSeed(),
		processMode: cfg.Durability == DurabilityProcess, maxHints: cfg.MaxHints, tree: &tree{},
		closeTimeout: cfg.CloseTimeout, probeInterval: cfg.ProbeInterval, done: make(chan struct{}),
		commits: make(chan *commitJob, maxGroup), stopCommits: make(chan struct{}), memory: cfg.Storage == StorageMemory}
	if s.fs == nil {
		s.fs = vfs.Default
	}
	s.clock.now = cfg.Clock
	if s.clock.now == nil {
		s.clock.now = time.Now
	}
	if s.closeTimeout == 0 {
		s.closeTimeout = DefaultConfig().CloseTimeout
	}
	if s.probeInterval == 0 {
		s.probeInterval = DefaultConfig().ProbeInterval
	}
	if cfg.Durability == DurabilityNone {
		s.syncWrites = false
	}
	s.errlog = newLogLimiter(s.log, time.Now, logInterval, logBurst)
	s.health.init()
	if cfg.CacheBytes > 0 && !s.memory {
		s.cache = pebble.NewCache(cfg.CacheBytes)
	}
	switch {
	case s.memory:
		// A record cache would hold a second copy of what the engine
		// already holds in memory, to save a tree lookup.
	case cfg.RecordCacheBytes == 0:
		s.records = newRecordCache(DefaultConfig().RecordCacheBytes)
	case cfg.RecordCacheBytes > 0:
		s.records = newRecordCache(cfg.RecordCacheBytes)
	}
	var err error
	if !s.memory {
		err = s.room()
	}
	if err == nil {
		err = s.openDB(false, false)
	}
	if err != nil && isDiskError(err) {
		if s.Fault() == nil {
			_ = s.fail("open", err)
		}
		s.log.Warn("opening read-only: the disk refuses writes", "err", err.Error())
		if rerr := s.openDB(true, false); rerr != nil {
			err = errors.Join(err, rerr)
		} else {
			err = nil
		}
	}
	if err != nil {
		if s.cache != nil {
			s.cache.Unref()
		}
		return nil, err
	}
	s.wg.Add(1)
	go s.run()
	go s.committer(s.stopCommits)
	s.log.Info("store opened", "dir", cfg.Dir, "storage", s.storage(), "durability", cfg.Durability, "actor", fmt.Sprintf("%016x", s.actor.Load()),
		"keys", s.live.Load(), "read_only", s.readOnly())
	return s, nil
}

// readOnly reports whether pebble is open read-only.
func (s *Store) readOnly() bool {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	return s.health.mu.readOnly
}

// storage names the store's engine.
func (s *Store) storage() Storage {
	if s.memory {
		return StorageMemory
	}
	return StoragePebble
}

// keepFile names the file in which a StorageMemory store keeps its
// metadata.
const keepFile = "memory-meta"

// openMemory opens an engine.Memory into s.db: empty but for the
// metadata a previous run kept. Its data being new, it takes a new actor
// identity (loadActor's unclean shutdown, always). Read-only (a disk that
// refuses writes, see health.go) it writes nothing: its recovery, once
// the disk takes writes, marks it running with a new actor
// (reopenMemory).
func (s *Store) openMemory(readOnly bool) error {
	db, err := engine.NewMemory(engine.MemoryOptions{Merge: xorMerge,
		Keep: &engine.KeepOptions{Prefix: []byte{spaceMeta}, FS: s.fs, Path: s.fs.PathJoin(s.dir, keepFile)}})
	if err != nil {
		return fmt.Errorf("replica: open %s: %w", s.dir, err)
	}
	return s.load(db, readOnly, !readOnly)
}

// openDB opens the engine (pebble read-only or not, or memory) into s.db
// and loads the store's state from it. reopened says the store had a
// fault: a read-write instance then takes a new actor identity. The
// caller holds s.open for writing, or is Open.
func (s *Store) openDB(readOnly, reopened bool) error {
	// The instance before may have lost what its memtable held.
	s.records.clear()
	if s.memory {
		return s.openMemory(readOnly)
	}
	opts := &pebble.Options{FS: s.fs, Logger: pebbleLogger{s.log, s.errlog}, Merger: xorMerger, Cache: s.cache,
		EventListener: s.eventListener(), ReadOnly: readOnly}
	if s.processMode {
		opts.FS = processFS{s.fs, &s.forceSync}
	}
	// Bloom filters (10 bits a key, about 1% false positives; later
	// levels inherit L0's) let a write of a new key, whose read finds
	// nothing, skip the sstables instead of seeking each level's index:
	// inserts into 1.5M keys went from 57 to 26 µs (docs/bench.md).
	opts.Levels[0].FilterPolicy = bloom.FilterPolicy(10)
	db, err := pebble.Open(s.dir, opts)
	if err != nil && strings.Contains(err.Error(), "merger name") {
		// A directory of a dynkv before the hash tree (layout 1).
		return fmt.Errorf("replica: open %s: %w: %w", s.dir, ErrFormat, err)
	}
	if err != nil {
		return fmt.Errorf("replica: open %s: %w", s.dir, err)
	}
	return s.load(engine.NewPebble(db), readOnly, reopened)
}

// load makes db the store's engine and loads the store's state from it.
func (s *Store) load(db engine.Engine, readOnly, reopened bool) error {
	s.db = db
	s.health.mu.Lock()
	s.health.mu.readOnly = readOnly
	s.health.mu.Unlock()
	s.live.Store(0)
	s.hints.Store(0)
	s.corrupt.Store(0)
	steps := []func() error{s.checkFormat, s.loadActor, s.loadClock, s.countKeys, s.loadTree}
	if readOnly {
		steps = []func() error{s.checkFormatReadOnly, s.readActor, s.loadClock, s.countKeys, s.loadTree}
	} else if reopened {
		steps = []func() error{s.checkFormat, s.markRunning, s.newActor, s.loadClock, s.countKeys, s.loadTree}
	}
	for _, step := range steps {
		if err := step(); err != nil {
			if cerr := s.closeDB(db, s.closeTimeout); cerr != nil {
				s.log.Error("close after failed open", "err", cerr.Error())
			}
			s.db = nil
			return err
		}
	}
	return nil
}

func log(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// pebbleLogger adapts slog to pebble's logger. Errors are logged at a
// bounded rate: pebble logs some at every retry of a failing flush.
type pebbleLogger struct {
	l       *slog.Logger
	limited *logLimiter
}

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug("pebble", "msg", fmt.Sprintf(format, args...))
}
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.limited.Error("pebble", "msg", fmt.Sprintf(format, args...))
}

// Fatalf panics with a pebbleFatal: after a fatal commit error pebble must
// not return to the committer (DB.Apply would report success), and
// Store.guard turns the panic into the store's fault.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.limited.Error("pebble fatal", "msg", msg)
	f := pebbleFatal{msg: msg}
	for _, a := range args {
		if err, ok := a.(error); ok {
			f.err = err
			break
		}
	}
	panic(f)
}
