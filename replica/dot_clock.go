package replica

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dynkv/dynkv/engine"
	"github.com/dynkv/dynkv/version"
)

// The counters of the dots this store's actor issues are readings of a
// hybrid logical clock: milliseconds since clockEpoch in the high bits, a
// sequence in the low clockLogicalBits, never less than one above the last
// reading. So an actor never issues a counter twice, for any key, even one
// whose history no longer names the actor (version.Write drops the oldest
// entries of a long history), and counters of different actors compare
// roughly by age, which is what lets that bound drop the oldest first.
//
// The clock survives restarts that keep the actor: before a reading passes
// what is reserved on disk, the store reserves clockReserve more (one
// small synced write a minute at most). A restart that keeps the actor (a
// clean one, or any one with durability fsync) starts above the
// reservation, however far the wall clock went back; an unclean restart
// in the other modes draws a new actor anyway (loadActor).
const (
	clockLogicalBits = 20
	clockReserve     = uint64(time.Minute/time.Millisecond) << clockLogicalBits
)

// clockEpoch is 2020-01-01 UTC: readings stay below version.MaxCounter
// (2^62) until about 2159.
var clockEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

var metaClock = []byte{spaceMeta, 'c', 'l', 'o', 'c', 'k'}

// dotClock is the store's counter clock.
type dotClock struct {
	now func() time.Time

	mu       sync.Mutex
	last     uint64 // the last counter handed out
	reserved uint64 // counters up to this are reserved on disk
}

// physical returns the wall clock's reading in counter units.
func (c *dotClock) physical() uint64 {
	ms := c.now().Sub(clockEpoch).Milliseconds()
	return uint64(max(ms, 0)) << clockLogicalBits
}

// loadClock reads the reservation a previous run of the same actor left.
func (s *Store) loadClock() error {
	v, closer, err := s.db.Get(metaClock)
	if errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("replica: read dot clock: %w", err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return fmt.Errorf("replica: dot clock: %w", version.ErrCorruptRecord)
	}
	r := binary.BigEndian.Uint64(v)
	s.clock.last, s.clock.reserved = r, r
	return nil
}

// NextCounter returns the counter of the next dot this store's actor
// issues: at least atLeast (version.NextCounter for the key being written),
// above every counter it returned before, and, when the wall clock is
// ahead of both, the wall clock's reading. It fails only if the
// reservation cannot be written. The caller holds s.open for reading (it
// runs inside Update's fn, as the coordinator calls it).
func (s *Store) NextCounter(atLeast uint64) (uint64, error) {
	c := &s.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	next := max(c.last+1, atLeast, c.physical())
	if next >= version.MaxCounter {
		return 0, version.ErrTooManyVersions
	}
	if next > c.reserved {
		r := next + clockReserve
		// Through commit, as every write: a failing disk refuses it at once.
		if err := s.commit(func() error { return s.db.Set(metaClock, binary.BigEndian.AppendUint64(nil, r), true) }, nil); err != nil {
			return 0, fmt.Errorf("replica: reserve dot clock: %w", err)
		}
		c.reserved = r
	}
	c.last = next
	return next, nil
}
