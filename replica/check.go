package replica

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/version"
)

// ErrTreeMismatch is returned by CheckTree when the hash tree does not
// match the data.
var ErrTreeMismatch = errors.New("hash tree does not match the data")

// maxReportedLeaves bounds the differing leaves a CheckTree error names.
const maxReportedLeaves = 5

// CheckTree verifies the hash tree (see merkle.go) against the records: it
// recomputes every leaf from the stored data, as Open's rebuild does, and
// compares it with the leaf in memory (what TreeNodes serves) and the leaf
// record persisted (what the next Open loads). It returns an error
// wrapping ErrTreeMismatch that names the first differing leaves, or one
// wrapping errTreeCorrupt for a leaf record that does not decode.
//
// The check is exact under concurrent use: it holds every key lock while
// it reads, so no write is between its batch and its in-memory leaf
// update. Writes wait for it; it reads the whole store (a test and
// debugging aid, not for a serving node's hot path).
func (s *Store) CheckTree(ctx context.Context) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.open.RUnlock()
	for i := range s.locks {
		s.locks[i].Lock()
	}
	defer func() {
		for i := range s.locks {
			s.locks[i].Unlock()
		}
	}()

	wantExpiry := map[string]bool{}
	want, err := s.leavesFromRecords(func(k []byte, ss version.Siblings) {
		if e := ss.NextExpiry(); e != 0 {
			wantExpiry[string(expiryKey(e, k))] = true
		}
	})
	if err != nil {
		return fmt.Errorf("replica: check tree: %w", err)
	}
	if err := s.checkExpiryIndex(wantExpiry); err != nil {
		return err
	}
	stored := make([]uint64, merkle.Leaves)
	if err := s.storedLeaves(func(leaf int, h uint64) { stored[leaf] = h }); err != nil {
		return fmt.Errorf("replica: check tree: %w", err)
	}

	var diffs []string
	n := 0
	for l := range want {
		mem := s.tree.leaves[l].Load()
		if mem == want[l] && stored[l] == want[l] {
			continue
		}
		n++
		if len(diffs) < maxReportedLeaves {
			diffs = append(diffs, fmt.Sprintf("leaf %d (slot %d): rebuilt from the records %016x, in memory %016x, persisted %016x",
				l, l/merkle.LeavesPerSlot, want[l], mem, stored[l]))
		}
	}
	if n > 0 {
		return fmt.Errorf("replica: %w: %d of %d leaves differ; first: %s", ErrTreeMismatch, n, merkle.Leaves, strings.Join(diffs, "; "))
	}
	return nil
}

// checkExpiryIndex compares the expiry index with the entries the records
// call for (want, which it consumes).
func (s *Store) checkExpiryIndex(want map[string]bool) error {
	it, err := s.db.NewIter([]byte{spaceExpiry}, []byte{spaceExpiry + 1})
	if err != nil {
		return fmt.Errorf("replica: check expiry index: %w", err)
	}
	defer it.Close()
	extra := 0
	for it.First(); it.Valid(); it.Next() {
		if !want[string(it.Key())] {
			extra++
		}
		delete(want, string(it.Key()))
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("replica: check expiry index: %w", err)
	}
	if extra > 0 || len(want) > 0 {
		return fmt.Errorf("replica: %w: the expiry index has %d entries no record calls for and misses %d", ErrTreeMismatch, extra, len(want))
	}
	return nil
}
