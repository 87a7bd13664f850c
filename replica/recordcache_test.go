package replica

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/dynkv/dynkv/engine"
	"github.com/dynkv/dynkv/version"
	"github.com/stretchr/testify/require"
)

// TestRecordCache_Bound: the cache never accounts more than its bound, and
// a record larger than a shard is not cached (and drops the key's old one).
func TestRecordCache_Bound(t *testing.T) {
	const max = cacheShards * 1024
	c := newRecordCache(max)
	for i := range 5000 {
		c.put(dataKey(fmt.Appendf(nil, "key%d", i)), make([]byte, 100+i%300))
		bytes, _ := c.size()
		require.LessOrEqual(t, bytes, int64(max))
	}
	_, n := c.size()
	require.Greater(t, n, cacheShards, "the cache holds records")

	k := dataKey([]byte("big"))
	c.put(k, []byte("small"))
	rec, ok, _ := c.get(k)
	require.True(t, ok)
	require.Equal(t, "small", string(rec))
	c.put(k, make([]byte, 2048))
	_, ok, _ = c.get(k)
	require.False(t, ok, "a record larger than a shard is not cached, and the old one is gone")

	require.Nil(t, newRecordCache(0), "no bound, no cache")
	var none *recordCache
	none.put(k, []byte("v"))
	_, ok, _ = none.get(k)
	require.False(t, ok)
}

// TestRecordCache_GetCopies: what get returns is the caller's.
func TestRecordCache_GetCopies(t *testing.T) {
	c := newRecordCache(1 << 20)
	k := dataKey([]byte("k"))
	c.put(k, []byte("value"))
	rec, ok, _ := c.get(k)
	require.True(t, ok)
	rec[0] = 'X'
	again, _, _ := c.get(k)
	require.Equal(t, "value", string(again))

	gone := dataKey([]byte("gone"))
	c.put(gone, nil)
	rec, ok, _ = c.get(gone)
	require.True(t, ok, "an absent key is cached as absent")
	require.Nil(t, rec)
}

// TestRecordCache_FillLosesToWriters: a reader's fill, read from pebble
// before a writer put or dropped anything in the shard, is discarded; a
// fill never replaces a cached record.
func TestRecordCache_FillLosesToWriters(t *testing.T) {
	c := newRecordCache(1 << 20)
	k := dataKey([]byte("k"))

	_, ok, gen := c.get(k)
	require.False(t, ok)
	c.put(k, []byte("new"))
	c.fill(k, []byte("old"), gen)
	rec, _, _ := c.get(k)
	require.Equal(t, "new", string(rec), "a fill after a put is stale")

	c.drop(k)
	_, ok, gen = c.get(k)
	require.False(t, ok)
	c.drop(k) // a failed commit
	c.fill(k, []byte("old"), gen)
	_, ok, _ = c.get(k)
	require.False(t, ok, "a fill after a drop may be stale")

	_, _, gen = c.get(k)
	c.fill(k, []byte("read"), gen)
	rec, ok, _ = c.get(k)
	require.True(t, ok)
	require.Equal(t, "read", string(rec))
	c.fill(k, []byte("other"), gen)
	rec, _, _ = c.get(k)
	require.Equal(t, "read", string(rec))

	c.clear()
	_, ok, _ = c.get(k)
	require.False(t, ok)
}

// TestRecordCache_SecondChance: entries read since the hand last passed
// survive an eviction that an unread entry does not.
func TestRecordCache_SecondChance(t *testing.T) {
	c := newRecordCache(cacheShards * 3 * (cacheEntryOverhead + dataHeader + 5 + 3)) // three entries a shard
	var same [][]byte                                                                // keys of one shard
	for i := 0; len(same) < 4; i++ {
		k := dataKey(fmt.Appendf(nil, "k%04d", i))
		if len(same) == 0 || shardOf(c, k) == shardOf(c, same[0]) {
			same = append(same, k)
		}
	}
	for _, k := range same[:3] {
		c.put(k, []byte("rec"))
	}
	c.get(same[0])
	c.get(same[2])
	c.put(same[3], []byte("rec"))
	for i, want := range []bool{true, false, true, true} {
		_, ok, _ := c.get(same[i])
		require.Equal(t, want, ok, "key %d", i)
	}
}

// TestStore_RecordCacheMatchesPebble: after random writes, merges and
// deletes through a cache small enough to evict, every key reads the
// same through the cache as from pebble, and the hash tree is exact.
func TestStore_RecordCacheMatchesPebble(t *testing.T) {
	fs := vfs.NewMem()
	s, err := Open(Config{Dir: "db", FS: fs, Durability: DurabilityNone, RecordCacheBytes: cacheShards * 600})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([]string, 300)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%d", i)
	}
	other := version.Actor(77)
	for i := range 5000 {
		k := keys[rng.IntN(len(keys))]
		switch rng.IntN(5) {
		case 0:
			mustDel(t, s, k)
		case 1: // a sibling from another coordinator
			cur, err := s.Get(context.Background(), []byte(k))
			require.NoError(t, err)
			_, err = s.Merge(context.Background(), []byte(k), version.Siblings{valSib(other, uint64(i+1), nil, 1, "x")})
			require.NoError(t, err)
			_ = cur
		case 2:
			_, err := s.Get(context.Background(), []byte(k))
			require.NoError(t, err)
		default:
			mustPut(t, s, k, fmt.Sprint(i))
		}
	}
	_, n := s.records.size()
	require.Greater(t, n, 0)
	require.Less(t, n, len(keys), "the cache evicted")
	for _, k := range keys {
		got, err := s.Get(context.Background(), []byte(k))
		require.NoError(t, err)
		require.Equal(t, pebbleRecord(t, s, k), got, k)
	}
	require.NoError(t, s.CheckTree(context.Background()))
}

// pebbleRecord reads key's record from pebble, past the cache.
func pebbleRecord(t *testing.T, s *Store, key string) version.Siblings {
	t.Helper()
	v, closer, err := s.db.Get(dataKey([]byte(key)))
	if errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	require.NoError(t, err)
	defer closer.Close()
	ss, err := version.DecodeRecord(append([]byte(nil), v...))
	require.NoError(t, err)
	return ss
}

// TestStore_WriteOfCachedKeyReadsNoDisk: a write to a key the cache holds
// computes its versions without reading pebble; with the cache off, every
// write reads.
func TestStore_WriteOfCachedKeyReadsNoDisk(t *testing.T) {
	for _, tt := range []struct {
		name  string
		bytes int64
		reads int64
	}{{"cache", 0, 0}, {"no cache", -1, 100}} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(Config{Dir: "db", FS: vfs.NewMem(), Durability: DurabilityNone, RecordCacheBytes: tt.bytes})
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			mustPut(t, s, "k", "first")
			before := s.diskReads.Load()
			for i := range 100 {
				mustPut(t, s, "k", fmt.Sprint(i))
			}
			require.Equal(t, tt.reads, s.diskReads.Load()-before)
			got, err := s.Get(context.Background(), []byte("k"))
			require.NoError(t, err)
			v, _ := got.Value()
			require.Equal(t, "99", string(v))
		})
	}
}

// TestStore_FailedCommitDropsCachedRecord: a write whose commit fails
// leaves its key out of the cache (pebble may hold either record), and
// the reopen that follows the fault starts from an empty cache.
func TestStore_FailedCommitDropsCachedRecord(t *testing.T) {
	s, inj, _ := fullDiskStore(t, DurabilityFsync, new(atomic.Int64))
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	require.NoError(t, put(ctx, s, "k", "acked"))
	_, ok, _ := s.records.get(dataKey([]byte("k")))
	require.True(t, ok, "a committed write is cached")

	inj.on.Store(true)
	require.ErrorIs(t, put(ctx, s, "k", "refused"), ErrDiskFull)
	// The write may be answered with the fault before the committer is
	// done with it; the committer drops the key when it is.
	waitFor(t, 5*time.Second, "the failed commit to leave the key out of the cache", func() bool {
		_, ok, _ := s.records.get(dataKey([]byte("k")))
		return !ok
	})

	waitFor(t, 5*time.Second, "read-only reopen", s.readOnly)
	_, n := s.records.size()
	require.Zero(t, n, "the reopen cleared the cache")
	inj.on.Store(false)
	waitFor(t, 5*time.Second, "writes again", func() bool { return s.Fault() == nil })
	requireValues(t, s, map[string]string{"k": "acked"})
}

func shardOf(c *recordCache, k []byte) *cacheShard {
	sh, _ := c.shard(k)
	return sh
}

// TestRecordCache_HashCollision: two keys with one key hash never read
// each other's record: the second replaces the first, which then misses.
func TestRecordCache_HashCollision(t *testing.T) {
	c := newRecordCache(1 << 20)
	a, b := dataKey([]byte("a")), dataKey([]byte("b"))
	copy(b[1:dataHeader], a[1:dataHeader]) // b forged with a's slot and hash
	c.put(a, []byte("A"))
	rec, ok, _ := c.get(b)
	require.False(t, ok, "b is not a")
	require.Nil(t, rec)
	c.put(b, []byte("B"))
	_, ok, _ = c.get(a)
	require.False(t, ok, "b replaced a")
	rec, _, _ = c.get(b)
	require.Equal(t, "B", string(rec))
	_, _, gen := c.get(a)
	c.fill(a, []byte("A"), gen)
	rec, _, _ = c.get(b)
	require.Equal(t, "B", string(rec), "a fill does not replace another key's entry")
	c.drop(a) // drops whatever holds the hash
	_, ok, _ = c.get(b)
	require.False(t, ok)
}

// TestStore_BloomFiltersSkipTables: the read a write of a new key makes
// (which the record cache cannot answer) can be answered by the sstables'
// Bloom filters, not by their data blocks: every table is written with
// one. (Counting filter hits in pebble's metrics proved flaky: a third of
// the runs counted none.)
func TestStore_BloomFiltersSkipTables(t *testing.T) {
	s, err := Open(Config{Dir: "db", FS: vfs.NewMem(), Durability: DurabilityNone, RecordCacheBytes: -1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	for i := range 1000 {
		mustPut(t, s, fmt.Sprintf("old-%d", i), "v")
	}
	require.NoError(t, s.flush())
	levels, err := s.db.(*engine.Pebble).DB().SSTables(pebble.WithProperties())
	require.NoError(t, err)
	tables := 0
	for _, level := range levels {
		for _, tb := range level {
			tables++
			require.Equal(t, bloom.FilterPolicy(10).Name(), tb.Properties.FilterPolicyName, "table %s", tb.FileNum)
		}
	}
	require.Positive(t, tables)
}
