package replica

import (
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/version"
)

// TestStore_NextCounterNeverRepeats: counters grow on every call, follow
// the wall clock when it is ahead, honour atLeast, and keep growing across
// a restart that keeps the actor even when the wall clock went back an
// hour.
func TestStore_NextCounterNeverRepeats(t *testing.T) {
	fs := vfs.NewMem()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	open := func() *Store {
		s, err := Open(Config{Dir: "db", FS: fs, Durability: DurabilityFsync, Clock: clock})
		require.NoError(t, err)
		return s
	}
	s := open()
	actor := s.Actor()
	var last uint64
	next := func(atLeast uint64) uint64 {
		t.Helper()
		c, err := s.NextCounter(atLeast)
		require.NoError(t, err)
		require.Greater(t, c, last)
		require.GreaterOrEqual(t, c, atLeast)
		last = c
		return c
	}
	first := next(1)
	require.Equal(t, uint64(now.Sub(clockEpoch).Milliseconds())<<clockLogicalBits, first, "the wall clock's reading")
	require.Equal(t, first+1, next(1), "the same millisecond: the next sequence number")
	require.Equal(t, first+1000, next(first+1000))
	now = now.Add(time.Second)
	require.Equal(t, uint64(now.Sub(clockEpoch).Milliseconds())<<clockLogicalBits, next(1))
	// Past the reservation: a new one is written, the counter still follows.
	now = now.Add(10 * time.Minute)
	next(1)
	before := last

	require.NoError(t, s.Close())
	now = now.Add(-time.Hour)
	s = open()
	t.Cleanup(func() { _ = s.Close() })
	require.Equal(t, actor, s.Actor(), "a clean restart keeps the actor")
	require.Greater(t, next(1), before, "a restarted actor never goes back, whatever the wall clock")
}

// TestStore_NextCounterBelowMaxCounter: a counter that would reach the
// limit contexts accept is refused, not issued.
func TestStore_NextCounterBelowMaxCounter(t *testing.T) {
	s, _ := openMem(t, DurabilityNone)
	_, err := s.NextCounter(version.MaxCounter)
	require.ErrorIs(t, err, version.ErrTooManyVersions)
	c, err := s.NextCounter(version.MaxCounter - 1)
	require.NoError(t, err)
	require.Equal(t, uint64(version.MaxCounter-1), c)
}
