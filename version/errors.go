package version

import "errors"

var (
	// ErrInvalidContext reports a causal context that failed to decode.
	ErrInvalidContext = errors.New("version: invalid context")
	// ErrStaleContext reports a context issued under another cluster
	// secret (or by a dynkv whose contexts carried no MAC): it cannot be
	// checked, and the client must read the key again.
	ErrStaleContext = errors.New("version: stale context")
	// ErrCorruptRecord reports a stored record that failed to decode or
	// verify. The record is left as it is on disk.
	ErrCorruptRecord = errors.New("version: corrupt record")
	// ErrTooManyVersions is returned by a write whose versions would exceed
	// the limits a stored record must respect; nothing is written.
	ErrTooManyVersions = errors.New("version: too many versions")
)
