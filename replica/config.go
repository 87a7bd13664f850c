package replica

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Durability says when a write is acknowledged.
type Durability string

const (
	// DurabilityNone acknowledges a write once it is in pebble's memory; a
	// crash of the process may lose the last few milliseconds of writes.
	// For benchmarks and caches only.
	DurabilityNone Durability = "none"
	// DurabilityProcess acknowledges a write once its WAL record has been
	// written to the operating system: it survives kill -9 of the process,
	// not a crash of the machine. The default.
	DurabilityProcess Durability = "process"
	// DurabilityFsync acknowledges a write once its WAL record is fsynced.
	// Concurrent writers share fsyncs (group commit).
	DurabilityFsync Durability = "fsync"
)

// Storage names the engine that holds a store's data (package engine).
type Storage string

const (
	// StoragePebble keeps the data in pebble, on disk.
	StoragePebble Storage = "pebble"
	// StorageMemory keeps the data in memory: it is gone when the process
	// ends. Only the store's metadata (its identity's clock, the node's
	// ring state, a generated cluster secret) is kept on disk, so a
	// restarted node comes back empty, with a new actor identity, and is
	// refilled by read repair, hinted handoff and anti-entropy. For
	// caches and tests; durability must be none.
	StorageMemory Storage = "memory"
)

// Config configures a Store.
type Config struct {
	// Dir is the data directory. Default "dynkv-data".
	Dir string
	// Storage is the engine. "" means StoragePebble.
	Storage Storage
	// FS is the filesystem; nil means the operating system's. Tests use
	// vfs.NewMem or vfs.NewCrashableMem.
	FS vfs.FS
	// Durability says when writes are acknowledged. Default DurabilityProcess.
	Durability Durability
	// CacheBytes is pebble's block cache size in bytes. Default 64 MiB.
	CacheBytes int64
	// RecordCacheBytes bounds the record cache (recordcache.go): the
	// records of recently written and read keys, kept in memory so that a
	// write need not read pebble first. 0 means the default, 64 MiB;
	// negative, no cache.
	RecordCacheBytes int64
	// MaxHints bounds the hints the store holds for other nodes; a new hint
	// beyond it is refused (ErrHintsFull) and the write's home node is left
	// to read repair and anti-entropy. Default 1,000,000.
	MaxHints int64
	// CloseTimeout bounds how long Close (and a reopen after a disk fault)
	// waits for operations in flight and for pebble to close: a pebble
	// wedged by a failed write never does. 0 means the default, 10s.
	CloseTimeout time.Duration
	// ProbeInterval is how often a store whose disk refused a write tries
	// the disk again (see health.go). 0 means the default, 1s.
	ProbeInterval time.Duration
	// Logger receives the store's logs; nil discards them.
	Logger *slog.Logger
	// Clock is the wall clock of the dots' counters (NextCounter); nil
	// means time.Now. Tests inject their own.
	Clock func() time.Time
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{Dir: "dynkv-data", Storage: StoragePebble, Durability: DurabilityProcess, CacheBytes: 64 << 20, RecordCacheBytes: 64 << 20, MaxHints: 1_000_000,
		CloseTimeout: 10 * time.Second, ProbeInterval: time.Second}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	if c.Dir == "" {
		return fmt.Errorf("replica: data.dir: must not be empty")
	}
	switch c.Durability {
	case DurabilityNone, DurabilityProcess, DurabilityFsync:
	default:
		return fmt.Errorf("replica: durability: %q is not one of none, process, fsync", c.Durability)
	}
	switch c.Storage {
	case "", StoragePebble:
	case StorageMemory:
		if c.Durability != DurabilityNone {
			return fmt.Errorf("replica: durability: %s cannot hold with storage memory, which keeps no data on disk: set durability none", c.Durability)
		}
	default:
		return fmt.Errorf("replica: storage: %q is not one of pebble, memory", c.Storage)
	}
	if c.CacheBytes < 0 {
		return fmt.Errorf("replica: cache size: must not be negative")
	}
	if c.CloseTimeout < 0 {
		return fmt.Errorf("replica: close timeout: must not be negative")
	}
	if c.ProbeInterval < 0 {
		return fmt.Errorf("replica: probe interval: must not be negative")
	}
	if c.MaxHints < 0 {
		return fmt.Errorf("replica: hints.max: must not be negative")
	}
	return nil
}
