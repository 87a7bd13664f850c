package replica

import (
	"math/rand/v2"
	"sync"
)

// The record cache: the encoded records of recently written (and read)
// data keys, in memory, so that a write need not read pebble to learn
// the versions it supersedes, and a read of a hot key is a map lookup (the
// Dynamo paper's in-memory buffer, section 6.1, for reads).
//
// It holds exactly what pebble holds, or nothing, for every key:
//   - Only update puts a record in after its commit succeeded, and only
//     with the key's stripe lock held, so no two writers of a key race.
//     A record of no siblings (the key is gone from pebble) is cached
//     too: an absent key.
//   - A reader that missed fills the entry in only if no writer touched
//     the shard since the reader looked (the shard's generation is
//     unchanged): otherwise it may hold a record older than pebble's.
//   - A commit that fails, or that the store abandons to a fault, drops
//     the key: pebble may or may not hold the new record. Reopening
//     pebble (after a fault) and Close clear the cache.
//
// It is bounded by bytes (keys, records and a fixed overhead per entry)
// and evicts with CLOCK (second chance), which costs no allocation per
// hit and no list to maintain. Entries are found by the key hash the
// data key carries (map[uint64], no key hashing or comparison of long
// string keys while probing) and the key is compared once found: a
// second key with the same hash replaces the first, a miss for it, never
// a wrong record.
type recordCache struct {
	seed   uint64 // mixes the key hash into a shard, per process
	shards []cacheShard
}

// cacheShards: enough that 2-16 cores rarely contend on one shard's lock.
const cacheShards = 64

// cacheEntryOverhead approximates what an entry costs beyond its key and
// record: the map's slot, the entry struct and two slice headers.
const cacheEntryOverhead = 96

type cacheShard struct {
	mu      sync.Mutex
	index   map[uint64]int32 // key hash → position in entries
	entries []cacheEntry
	hand    int   // CLOCK's hand: the next entry eviction looks at
	bytes   int64 // of every entry in entries
	max     int64
	gen     uint64 // incremented by every put and drop
	_       [24]byte
}

type cacheEntry struct {
	key  string // the data key
	hash uint64 // its key hash
	rec  []byte // encoded record; nil (with present) for an absent key
	ref  bool   // read or written since the hand last passed
}

// newRecordCache returns a cache of at most maxBytes, or nil (no cache)
// for maxBytes ≤ 0. Every method of a nil *recordCache is a no-op.
func newRecordCache(maxBytes int64) *recordCache {
	if maxBytes <= 0 {
		return nil
	}
	c := &recordCache{seed: rand.Uint64(), shards: make([]cacheShard, cacheShards)}
	for i := range c.shards {
		c.shards[i].index = make(map[uint64]int32)
		c.shards[i].max = maxBytes / cacheShards
	}
	return c
}

// shard returns the shard of the data key k, and k's key hash.
func (c *recordCache) shard(k []byte) (*cacheShard, uint64) {
	h := keyHash(k)
	return &c.shards[((h^c.seed)*0x9e3779b97f4a7c15)>>58], h
}

// find returns the position of k's entry (whose key hash is h).
func (sh *cacheShard) find(k []byte, h uint64) (int32, bool) {
	i, ok := sh.index[h]
	if !ok || sh.entries[i].key != string(k) {
		return 0, false
	}
	return i, true
}

// get returns a copy of the record cached for the pebble key k (nil for
// an absent key), whether k was cached, and, on a miss, the generation to
// hand fill.
func (c *recordCache) get(k []byte) (rec []byte, ok bool, gen uint64) {
	if c == nil {
		return nil, false, 0
	}
	sh, h := c.shard(k)
	sh.mu.Lock()
	i, ok := sh.find(k, h)
	if !ok {
		gen = sh.gen
		sh.mu.Unlock()
		return nil, false, gen
	}
	e := &sh.entries[i]
	e.ref = true
	if e.rec != nil {
		rec = append([]byte(nil), e.rec...)
	}
	sh.mu.Unlock()
	return rec, true, 0
}

// put caches rec (nil: absent) as k's record. The caller holds k's
// stripe lock and has committed rec to pebble. rec becomes the cache's.
func (c *recordCache) put(k, rec []byte) {
	if c == nil {
		return
	}
	sh, h := c.shard(k)
	sh.mu.Lock()
	sh.gen++
	sh.set(k, h, rec)
	sh.mu.Unlock()
}

// fill caches rec, read from pebble by a reader that missed at generation
// gen, unless a writer has touched the shard since. rec becomes the
// cache's.
func (c *recordCache) fill(k, rec []byte, gen uint64) {
	if c == nil {
		return
	}
	sh, h := c.shard(k)
	sh.mu.Lock()
	if sh.gen == gen {
		if _, ok := sh.index[h]; !ok {
			sh.set(k, h, rec)
		}
	}
	sh.mu.Unlock()
}

// drop forgets k.
func (c *recordCache) drop(k []byte) {
	if c == nil {
		return
	}
	sh, h := c.shard(k)
	sh.mu.Lock()
	sh.gen++
	if i, ok := sh.index[h]; ok { // k's, or another key's with its hash
		sh.remove(i)
	}
	sh.mu.Unlock()
}

// clear forgets everything.
func (c *recordCache) clear() {
	if c == nil {
		return
	}
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		sh.gen++
		clear(sh.index)
		clear(sh.entries) // let the records go
		sh.entries = sh.entries[:0]
		sh.hand, sh.bytes = 0, 0
		sh.mu.Unlock()
	}
}

// size returns the bytes the cache accounts and its entries.
func (c *recordCache) size() (bytes int64, entries int) {
	if c == nil {
		return 0, 0
	}
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		bytes += sh.bytes
		entries += len(sh.entries)
		sh.mu.Unlock()
	}
	return bytes, entries
}

func entrySize(key string, rec []byte) int64 {
	return int64(len(key)+len(rec)) + cacheEntryOverhead
}

// set caches rec as k's record, evicting as needed; a record larger than
// the shard is not cached (and k's old one is dropped). A cached key's
// entry is updated in place: deleting and inserting a map key on every
// write would leave the map's probe sequences long with deleted slots.
func (sh *cacheShard) set(k []byte, h uint64, rec []byte) {
	need := int64(len(k)+len(rec)) + cacheEntryOverhead
	if i, ok := sh.index[h]; ok && sh.entries[i].key != string(k) {
		sh.remove(i) // another key with k's hash
	} else if ok {
		if need > sh.max {
			sh.remove(i)
			return
		}
		e := &sh.entries[i]
		sh.bytes += need - entrySize(e.key, e.rec)
		e.rec, e.ref = rec, true
		for sh.bytes > sh.max {
			sh.evictOne() // perhaps k itself, in a shard this small
		}
		return
	}
	if need > sh.max {
		return
	}
	for sh.bytes+need > sh.max && len(sh.entries) > 0 {
		sh.evictOne()
	}
	sh.index[h] = int32(len(sh.entries))
	sh.entries = append(sh.entries, cacheEntry{key: string(k), hash: h, rec: rec})
	sh.bytes += need
}

// evictOne advances the hand to an entry not referenced since it last
// passed (clearing the references it passes) and removes it.
func (sh *cacheShard) evictOne() {
	for {
		if sh.hand >= len(sh.entries) {
			sh.hand = 0
		}
		e := &sh.entries[sh.hand]
		if e.ref {
			e.ref = false
			sh.hand++
			continue
		}
		sh.remove(int32(sh.hand))
		return
	}
}

// remove deletes the entry at i, moving the last entry into its place.
func (sh *cacheShard) remove(i int32) {
	e := &sh.entries[i]
	sh.bytes -= entrySize(e.key, e.rec)
	delete(sh.index, e.hash)
	last := int32(len(sh.entries) - 1)
	if i != last {
		sh.entries[i] = sh.entries[last]
		sh.index[sh.entries[i].hash] = i
	}
	sh.entries[last] = cacheEntry{}
	sh.entries = sh.entries[:last]
}
