package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// KeepOptions names the keys a Memory engine keeps across restarts and
// where: the keys that start with Prefix, in the file Path on FS. The
// engine holds a lock on Path+".lock" until Close, so that two engines
// (two processes) never share the file.
type KeepOptions struct {
	Prefix []byte
	FS     vfs.FS // nil: the operating system's
	Path   string
}

// ErrCorruptKeepFile refuses a keep file that does not decode.
var ErrCorruptKeepFile = errors.New("engine: corrupt keep file")

// maxKeepFile bounds the keep file, and so what loading it may allocate.
// Kept keys are metadata (a ring state, an identity): kilobytes.
const maxKeepFile = 64 << 20

// keepMagic starts a keep file: the format's name and version.
var keepMagic = []byte("DKVKEEP1")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// keepFile saves and loads the kept keys. A save writes a new file and
// renames it over the old one, so a crash leaves one or the other whole.
type keepFile struct {
	opts KeepOptions
	lock io.Closer  // the file lock on Path+".lock"
	mu   sync.Mutex // serialises saves
}

// acquire takes the keep file's lock; it fails if another engine holds it.
func (f *keepFile) acquire() error {
	fs := f.fs()
	if err := fs.MkdirAll(fs.PathDir(f.opts.Path), 0o755); err != nil {
		return fmt.Errorf("engine: keep file: %w", err)
	}
	lock, err := fs.Lock(f.opts.Path + ".lock")
	if err != nil {
		return fmt.Errorf("engine: lock %s (is another process using it?): %w", f.opts.Path, err)
	}
	f.lock = lock
	return nil
}

// release lets the lock go.
func (f *keepFile) release() error {
	if f.lock == nil {
		return nil
	}
	err := f.lock.Close()
	f.lock = nil
	return err
}

func (f *keepFile) fs() vfs.FS {
	if f.opts.FS == nil {
		return vfs.Default
	}
	return f.opts.FS
}

// touches reports whether op writes a kept key (false on a nil f).
func (f *keepFile) touches(op memOp) bool {
	if f == nil {
		return false
	}
	p := f.opts.Prefix
	if op.kind != opDeleteRange {
		return bytes.HasPrefix(op.it.key(), p)
	}
	// [start, end) meets the prefix's keys [p, successor of p).
	start := op.it.key()
	return bytes.Compare(op.end, p) > 0 && (bytes.HasPrefix(start, p) || bytes.Compare(start, p) < 0)
}

// encodeKeep encodes items (sorted) as a keep file.
func encodeKeep(items []item) []byte {
	b := append([]byte(nil), keepMagic...)
	for _, it := range items {
		b = binary.AppendUvarint(b, uint64(it.k))
		b = append(b, it.key()...)
		b = binary.AppendUvarint(b, uint64(len(it.kv)-it.k))
		b = append(b, it.value()...)
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// decodeKeep decodes a keep file whose keys all start with prefix, in
// increasing order.
func decodeKeep(b, prefix []byte) ([]item, error) {
	if len(b) < len(keepMagic)+4 || !bytes.Equal(b[:len(keepMagic)], keepMagic) {
		return nil, fmt.Errorf("%w: no header", ErrCorruptKeepFile)
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorruptKeepFile)
	}
	var items []item
	rest := body[len(keepMagic):]
	field := func() ([]byte, error) {
		n, w := binary.Uvarint(rest)
		if w <= 0 || n > uint64(len(rest)-w) {
			return nil, fmt.Errorf("%w: truncated entry", ErrCorruptKeepFile)
		}
		if w != len(binary.AppendUvarint(nil, n)) {
			// One encoding per file: what decodes encodes back the same.
			return nil, fmt.Errorf("%w: length not minimally encoded", ErrCorruptKeepFile)
		}
		v := rest[w : w+int(n)]
		rest = rest[w+int(n):]
		return v, nil
	}
	for len(rest) > 0 {
		k, err := field()
		if err != nil {
			return nil, err
		}
		v, err := field()
		if err != nil {
			return nil, err
		}
		if !bytes.HasPrefix(k, prefix) {
			return nil, fmt.Errorf("%w: key %q outside the kept prefix", ErrCorruptKeepFile, k)
		}
		if len(items) > 0 && bytes.Compare(items[len(items)-1].key(), k) >= 0 {
			return nil, fmt.Errorf("%w: keys out of order", ErrCorruptKeepFile)
		}
		items = append(items, newItem(k, v))
	}
	return items, nil
}

// load reads the kept keys; none if the file does not exist.
func (f *keepFile) load() ([]item, error) {
	fl, err := f.fs().Open(f.opts.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("engine: open keep file: %w", err)
	}
	defer fl.Close()
	b, err := io.ReadAll(io.LimitReader(fl, maxKeepFile+1))
	if err != nil {
		return nil, fmt.Errorf("engine: read keep file: %w", err)
	}
	if len(b) > maxKeepFile {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrCorruptKeepFile, maxKeepFile)
	}
	items, err := decodeKeep(b, f.opts.Prefix)
	if err != nil {
		return nil, fmt.Errorf("engine: %s: %w", f.opts.Path, err)
	}
	return items, nil
}

// save replaces the keep file with items, durably. The caller holds f.mu.
func (f *keepFile) save(items []item) (err error) {
	b := encodeKeep(items)
	if len(b) > maxKeepFile {
		return fmt.Errorf("engine: kept keys take %d bytes, more than %d", len(b), maxKeepFile)
	}
	fs := f.fs()
	tmp := f.opts.Path + ".tmp"
	fl, err := fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("engine: save kept keys: %w", err)
	}
	if _, err = fl.Write(b); err == nil {
		err = fl.Sync()
	}
	if cerr := fl.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fs.Rename(tmp, f.opts.Path)
	}
	if err == nil {
		var dir vfs.File
		if dir, err = fs.OpenDir(fs.PathDir(f.opts.Path)); err == nil {
			err = dir.Sync()
			_ = dir.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("engine: save kept keys: %w", err)
	}
	return nil
}
