package replica

import (
	"bytes"
	"context"
	"fmt"

	"github.com/dynkv/dynkv/errdefs"
	"github.com/dynkv/dynkv/version"
)

// Hints are writes a node accepted on behalf of another (a sloppy quorum's
// fallback, or a coordinator whose write missed a replica). They live in
// their own key space, 'h' + node + 0x00 + key → record, so they survive
// restarts, and are handed to their node when it is healthy again.
// Node IDs never contain 0x00 (ValidNodeID).

const spaceHint byte = 'h'

// ValidNodeID reports whether id can name a node: non-empty, at most 255
// bytes, printable ASCII without spaces.
func ValidNodeID(id string) bool {
	if id == "" || len(id) > 255 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

func hintKey(node string, key []byte) []byte {
	k := make([]byte, 0, 2+len(node)+len(key))
	k = append(k, spaceHint)
	k = append(k, node...)
	k = append(k, 0)
	return append(k, key...)
}

func hintPrefix(node string) []byte { return append(append([]byte{spaceHint}, node...), 0) }

// ErrHintsFull is returned by PutHint when the store holds Config.MaxHints.
var ErrHintsFull = errdefs.ErrHintsFull

// PutHint merges ss into the hint for node and key. A new hint beyond
// Config.MaxHints is refused with ErrHintsFull (0 means no limit).
func (s *Store) PutHint(ctx context.Context, node string, key []byte, ss version.Siblings) error {
	if !ValidNodeID(node) {
		return fmt.Errorf("replica: hint for %q: %w", node, ErrBadRequest)
	}
	_, err := s.update(ctx, hintKey(node, key), func(cur version.Siblings) (version.Siblings, error) {
		if len(cur) == 0 && s.maxHints > 0 && s.hints.Load() >= s.maxHints {
			return nil, ErrHintsFull
		}
		return version.Sync(cur, ss), nil
	})
	return err
}

// GetHint returns the hint held for node and key.
func (s *Store) GetHint(ctx context.Context, node string, key []byte) (version.Siblings, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.open.RUnlock()
	return s.getRaw(hintKey(node, key))
}

// Hint is one key held for another node.
type Hint struct {
	Node     string
	Key      []byte
	Siblings version.Siblings
}

// hintBatchBytes bounds the record bytes one Hints call returns.
const hintBatchBytes = 16 << 20

// Hints returns up to limit hints (and about 16 MiB) held for node (for every node if node is
// empty), in order, starting after the hint after (nil: from the start).
func (s *Store) Hints(ctx context.Context, node string, after *Hint, limit int) ([]Hint, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.open.RUnlock()
	lower, upper := []byte{spaceHint}, []byte{spaceHint + 1}
	if node != "" {
		lower = hintPrefix(node)
		upper = append([]byte{spaceHint}, node...)
		upper = append(upper, 1)
	}
	if after != nil {
		lower = append(hintKey(after.Node, after.Key), 0)
	}
	it, err := s.db.NewIter(lower, upper)
	if err != nil {
		return nil, fmt.Errorf("replica: hints: %w", err)
	}
	defer it.Close()
	var out []Hint
	size := 0
	// A batch also stops after hintBatchBytes of records, however few.
	for it.First(); it.Valid() && len(out) < limit && size < hintBatchBytes; it.Next() {
		size += len(it.Value())
		k := it.Key()[1:]
		i := bytes.IndexByte(k, 0)
		ss, err := version.DecodeRecord(bytes.Clone(it.Value()))
		if i < 0 || err != nil {
			s.corrupt.Add(1)
			continue
		}
		out = append(out, Hint{Node: string(k[:i]), Key: bytes.Clone(k[i+1:]), Siblings: ss})
	}
	return out, it.Error()
}

// DeleteHint removes the hint for node and key if it still holds no more
// than delivered (the versions its node acknowledged): a hint that gained
// versions since it was read stays, to be delivered again.
func (s *Store) DeleteHint(ctx context.Context, node string, key []byte, delivered version.Siblings) error {
	_, err := s.update(ctx, hintKey(node, key), func(cur version.Siblings) (version.Siblings, error) {
		if !version.SameVersions(version.Sync(cur, delivered), delivered) {
			return cur, nil
		}
		return nil, nil
	})
	return err
}

// HintCount returns the number of hints held, per node.
func (s *Store) HintCount(ctx context.Context) (map[string]int, error) {
	hs, err := s.Hints(ctx, "", nil, int(^uint(0)>>1))
	if err != nil {
		return nil, err
	}
	m := map[string]int{}
	for _, h := range hs {
		m[h.Node]++
	}
	return m, nil
}
