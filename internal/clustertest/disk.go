package clustertest

import (
	"os"
	"sync/atomic"
	"syscall"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// DiskFull fills (full) or frees node id's disk: while it is full, every
// operation of the node's store that needs room on the disk fails with
// ENOSPC, as on a full filesystem. The store then refuses writes
// (replica.ErrDiskFull) and takes them again on its own once the disk is
// freed (see package replica).
func (c *Cluster) DiskFull(id string, full bool) {
	c.mu.Lock()
	nd := c.mu.nodes[id]
	c.mu.Unlock()
	nd.full.Store(full)
}

// diskFull is an errorfs injector that fails, while *full holds, the
// operations that need room on the disk.
type diskFull struct{ full *atomic.Bool }

func (d diskFull) String() string { return "disk full" }

func (d diskFull) MaybeError(op errorfs.Op) error {
	if !d.full.Load() {
		return nil
	}
	switch op.Kind {
	case errorfs.OpCreate, errorfs.OpReuseForWrite, errorfs.OpFileWrite, errorfs.OpFileWriteAt,
		errorfs.OpFilePreallocate, errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
		return &os.PathError{Op: "write", Path: op.Path, Err: syscall.ENOSPC}
	}
	return nil
}

// diskFS is a node's filesystem as its store sees it: the node's memory
// filesystem with diskFull injected. errorfs leaves a recycled WAL file
// (ReuseForWrite) unwrapped; diskFS wraps it too.
type diskFS struct {
	*errorfs.FS
	inj errorfs.Injector
}

func newDiskFS(fs vfs.FS, full *atomic.Bool) diskFS {
	inj := diskFull{full}
	return diskFS{errorfs.Wrap(fs, inj), inj}
}

func (fs diskFS) ReuseForWrite(oldname, newname string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, cat)
	if err != nil {
		return nil, err
	}
	return errorfs.WrapFile(f, fs.inj), nil
}
