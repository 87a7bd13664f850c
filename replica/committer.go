package replica

import (
	"encoding/binary"
	"sync"

	"github.com/dynkv/dynkv/engine"
	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/version"
)

// The committer: group commit across connections.
//
// Every record update (update, so every write, merge, hint and collection)
// hands its write to one goroutine per store, the committer, and waits for
// it. The committer takes every write queued at that moment, puts them in
// one pebble batch and commits it: one pass through pebble's commit
// pipeline and one WAL write for the group, however many connections sent
// them. Writes in a group are of different keys (each holds its key's
// stripe lock until its group committed), so their order within the group
// does not matter.
//
// The caller waits for its group as commit waits for its goroutine: if the
// store faults first (a commit stalled behind flushes that fail), it is
// answered with the fault at once, and its write finishes, or not, in the
// background, still holding the key's lock (see health.go).
//
// Rare writes (metadata, the clock's reservation, index repairs, the tree
// rebuilt at open) go through commit, each in its own batch.

// maxGroup bounds the writes of one group, and maxGroupBytes their
// records: a group is one pebble batch, held in memory until committed.
const (
	maxGroup      = 512
	maxGroupBytes = 16 << 20
)

// commitJob is one update's write, queued for the committer.
type commitJob struct {
	k         []byte
	cur, next version.Siblings
	rec       []byte      // next encoded; nil when the record is deleted
	delta     uint64      // the change of k's leaf hash, for a data key
	deltaBuf  [8]byte     // delta encoded, for the batch (no allocation)
	leafBuf   [5]byte     // the leaf record's key, for the batch (no allocation)
	mu        *sync.Mutex // k's stripe lock, held by the caller until done
	done      chan commitResult
}

var jobPool = sync.Pool{New: func() any { return &commitJob{done: make(chan commitResult, 1)} }}

// commitUpdate commits k's record going from cur to next, with the rest
// of its group, then unlocks mu (k's stripe lock, which the caller holds).
// It returns as commit does.
func (s *Store) commitUpdate(k []byte, cur, next version.Siblings, mu *sync.Mutex) error {
	faulted := s.health.faulted()
	select {
	case <-faulted:
		mu.Unlock()
		return s.refusal()
	default:
	}
	j := jobPool.Get().(*commitJob)
	j.k, j.cur, j.next, j.mu, j.rec = k, cur, next, mu, nil
	if len(next) > 0 {
		j.rec = version.EncodeRecord(next)
	}
	if k[0] == spaceData {
		j.delta = treeDelta(k, cur, next)
	}
	s.pending.Add(1) // reopen and Close wait for it, not only for s.open
	if s.memory {
		// Nothing to group: the memory engine has no log to write. The
		// writer commits its own write, without two goroutine hand-offs.
		s.commitGroup([]*commitJob{j})
		res := <-j.done
		*j = commitJob{done: j.done}
		jobPool.Put(j)
		return res.get()
	}
	select {
	case s.commits <- j:
	case <-faulted:
		s.pending.Add(-1)
		mu.Unlock()
		return s.refusal()
	}
	select {
	case res := <-j.done:
		*j = commitJob{done: j.done}
		jobPool.Put(j)
		return res.get()
	case <-faulted:
		select {
		case res := <-j.done:
			return res.get()
		default:
			return s.refusal() // j is the committer's until it is done
		}
	}
}

// committer runs groups of queued writes until stop is closed.
func (s *Store) committer(stop <-chan struct{}) {
	group := make([]*commitJob, 0, maxGroup)
	for {
		select {
		case j := <-s.commits:
			group = append(group[:0], j)
		case <-stop:
			return
		}
		size := len(group[0].rec)
	more:
		for len(group) < maxGroup && size < maxGroupBytes {
			select {
			case j := <-s.commits:
				group = append(group, j)
				size += len(j.rec)
			default:
				break more
			}
		}
		s.commitGroup(group)
		clear(group) // let the jobs go
	}
}

// commitGroup commits group's writes in one batch and answers each.
func (s *Store) commitGroup(group []*commitJob) {
	var res commitResult
	func() {
		defer func() { res.panic = recover() }()
		res.err = s.guard(func() error {
			b := s.db.NewBatch()
			defer b.Close()
			for _, j := range group {
				s.batchUpdate(b, j)
			}
			return b.Commit(s.syncWrites)
		})
	}()
	ok := res.err == nil && res.panic == nil
	for _, j := range group {
		if j.k[0] == spaceData {
			if ok {
				s.records.put(j.k, j.rec)
				s.tree.xor(leafOfDataKey(j.k), j.delta)
			} else {
				// pebble may hold either record.
				s.records.drop(j.k)
			}
		}
		j.mu.Unlock()
		s.pending.Add(-1)
		j.done <- res
	}
}

// batchUpdate adds j's write to b: the record and, for a data key, its
// leaf hash's change, tombstone index and expiry index.
func (s *Store) batchUpdate(b engine.Batch, j *commitJob) {
	k, cur, next := j.k, j.cur, j.next
	if j.rec == nil {
		b.Delete(k)
	} else {
		b.Set(k, j.rec)
	}
	if k[0] != spaceData {
		return
	}
	if j.delta != 0 {
		// Keys and values passed to an interface's method escape: these
		// live in the (pooled) job instead of a new allocation each.
		binary.BigEndian.PutUint64(j.deltaBuf[:], j.delta)
		b.Merge(appendTreeKey(j.leafBuf[:0], leafOfDataKey(k)), j.deltaBuf[:])
	}
	switch was, is := onlyTombstones(cur), onlyTombstones(next); {
	case is && !was:
		b.Set(tombKey(k), nil)
	case was && !is:
		b.Delete(tombKey(k))
	}
	indexExpiry(b, k, cur, next)
}

// treeDelta is how the leaf hash of the data key k changes when its
// record goes from cur to next.
func treeDelta(k []byte, cur, next version.Siblings) uint64 {
	return merkle.VersionHash(userKey(k), cur) ^ merkle.VersionHash(userKey(k), next)
}
