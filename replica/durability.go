package replica

import (
	"strings"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// processFS makes DurabilityProcess out of pebble's synchronous commit:
// pebble writes a synced batch's WAL record to the file before it calls
// Sync, and this filesystem turns the Sync of WAL files into a no-op. A
// commit therefore returns once its record is in the operating system's
// page cache (it survives kill -9 of the process) without paying for an
// fsync. Every other file (sstables, manifest, directories) keeps its real
// syncs, so the database stays consistent after a machine crash, only
// missing the last unsynced writes.
//
// While force is above zero (a Sync of the store is under way: a write
// asked for DW), WAL syncs are real.
type processFS struct {
	vfs.FS
	force *atomic.Int64 // nil: never
}

func (fs processFS) Create(name string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	return fs.wrapWAL(name)(fs.FS.Create(name, cat))
}

func (fs processFS) ReuseForWrite(oldname, newname string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	return fs.wrapWAL(newname)(fs.FS.ReuseForWrite(oldname, newname, cat))
}

func (fs processFS) OpenReadWrite(name string, cat vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	return fs.wrapWAL(name)(fs.FS.OpenReadWrite(name, cat, opts...))
}

func (fs processFS) Unwrap() vfs.FS { return fs.FS }

func (fs processFS) wrapWAL(name string) func(vfs.File, error) (vfs.File, error) {
	return func(f vfs.File, err error) (vfs.File, error) {
		if err != nil || !strings.HasSuffix(name, ".log") {
			return f, err
		}
		return unsyncedFile{f, fs.force}, nil
	}
}

// unsyncedFile is a WAL file whose syncs do nothing, unless forced.
type unsyncedFile struct {
	vfs.File
	force *atomic.Int64
}

func (f unsyncedFile) forced() bool { return f.force != nil && f.force.Load() > 0 }

func (f unsyncedFile) Sync() error {
	if f.forced() {
		return f.File.Sync()
	}
	return nil
}

func (f unsyncedFile) SyncData() error {
	if f.forced() {
		return f.File.SyncData()
	}
	return nil
}

func (f unsyncedFile) SyncTo(length int64) (bool, error) {
	if f.forced() {
		return f.File.SyncTo(length)
	}
	return true, nil
}
