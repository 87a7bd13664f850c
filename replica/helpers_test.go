package replica

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"hash/crc32"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/dynkv/dynkv/version"
	"github.com/stretchr/testify/require"
)

var seedFlag = flag.Uint64("replica.seed", 0, "seed of the randomized tests of package replica; 0 draws one")

// newRand returns a seeded generator and logs the seed so that a failure
// can be replayed with -replica.seed.
func newRand(t testing.TB) *rand.Rand {
	t.Helper()
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -replica.seed=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// refVV is the naive reference of a version vector: absent actors are 0 and
// are never stored.
type refVV map[version.Actor]uint64

func toRef(v version.VV) refVV {
	m := refVV{}
	for _, e := range v {
		m[e.Actor] = e.Counter
	}
	return m
}

func fromRef(m refVV) version.VV {
	var v version.VV
	for _, a := range slices.Sorted(maps.Keys(m)) {
		if m[a] > 0 {
			v = append(v, version.Entry{Actor: a, Counter: m[a]})
		}
	}
	return v
}

// randVV draws a vector over actors [1, actors] with counters in [0,
// maxCounter] (0 meaning absent). Small ranges make equal and ordered pairs
// common.
func randVV(r *rand.Rand, actors int, maxCounter uint64) version.VV {
	m := refVV{}
	for a := 1; a <= actors; a++ {
		if c := r.Uint64N(maxCounter + 1); c > 0 {
			m[version.Actor(a)] = c
		}
	}
	return fromRef(m)
}

// wideVV draws a vector with arbitrary 64-bit actors and counters.
func wideVV(r *rand.Rand, n int) version.VV {
	m := refVV{}
	for range n {
		c := r.Uint64()
		if r.IntN(4) == 0 {
			c = r.Uint64N(300)
		}
		m[version.Actor(r.Uint64())] = max(c, 1)
	}
	return fromRef(m)
}

// canonVV maps nil and empty vectors to nil so that equal vectors compare
// equal with require.Equal.
func canonVV(v version.VV) version.VV {
	if len(v) == 0 {
		return nil
	}
	return slices.Clone(v)
}

// canon returns a deep copy of ss with empty slices as nil.
func canonSibs(ss version.Siblings) version.Siblings {
	if len(ss) == 0 {
		return nil
	}
	out := make(version.Siblings, len(ss))
	for i, s := range ss {
		s.Past = canonVV(s.Past)
		if len(s.Value) == 0 {
			s.Value = nil
		} else {
			s.Value = bytes.Clone(s.Value)
		}
		out[i] = s
	}
	return out
}

// checkInvariants asserts the invariants doc.go states for a sibling set.
func checkInvariants(t testing.TB, ss version.Siblings) {
	t.Helper()
	for i, s := range ss {
		require.NotZero(t, s.Dot.Counter, "sibling %d has counter 0", i)
		require.True(t, s.Past.Valid(), "sibling %d: Past %v is not a valid vector", i, s.Past)
		require.False(t, s.Past.Covers(s.Dot), "sibling %d: Past %v covers its own dot %v", i, s.Past, s.Dot)
		require.False(t, s.Tombstone && len(s.Value) > 0, "sibling %d: tombstone with a value", i)
		if i > 0 {
			require.Negative(t, ss[i-1].Dot.Compare(s.Dot), "siblings %d and %d are not sorted by dot, or share one", i-1, i)
		}
		for j, o := range ss {
			require.False(t, o.Past.Covers(s.Dot), "sibling %d (%v) is covered by the Past %v of sibling %d", i, s.Dot, o.Past, j)
		}
	}
}

// normalize sorts ss, keeps the first of equal dots and drops every sibling
// another one's Past covers, which establishes the Siblings invariants.
func normalizeSibs(ss version.Siblings) version.Siblings {
	ss = slices.Clone(ss)
	slices.SortStableFunc(ss, func(a, b version.Sibling) int { return a.Dot.Compare(b.Dot) })
	ss = slices.CompactFunc(ss, func(a, b version.Sibling) bool { return a.Dot == b.Dot })
	var out version.Siblings
	for _, s := range ss {
		covered := false
		for _, o := range ss {
			covered = covered || o.Past.Covers(s.Dot)
		}
		if !covered {
			out = append(out, s)
		}
	}
	return out
}

// openMem opens a store on a fresh in-memory filesystem and closes it at the
// end of the test.
func openMem(t testing.TB, d Durability) (*Store, vfs.FS) {
	t.Helper()
	fs := vfs.NewMem()
	s, err := Open(Config{Dir: "db", FS: fs, Durability: d})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, fs
}

// put writes value as the successor of everything the store holds for key
// (a plain SET), coordinated by the store's actor.
func mustPut(t testing.TB, s *Store, key, value string) version.Siblings {
	t.Helper()
	ss, err := s.Update(context.Background(), []byte(key), func(cur version.Siblings) (version.Siblings, error) {
		return version.Update(cur, s.Actor(), cur.Context(), 1, []byte(value), false), nil
	})
	require.NoError(t, err)
	return ss
}

// del writes a tombstone that supersedes everything the store holds for key.
func mustDel(t testing.TB, s *Store, key string) version.Siblings {
	t.Helper()
	ss, err := s.Update(context.Background(), []byte(key), func(cur version.Siblings) (version.Siblings, error) {
		return version.Update(cur, s.Actor(), cur.Context(), 1, nil, true), nil
	})
	require.NoError(t, err)
	return ss
}

// values returns the values of the live siblings of ss in dot order.
func liveValues(ss version.Siblings) []string {
	var out []string
	for _, s := range ss.Live() {
		out = append(out, string(s.Value))
	}
	return out
}

// valSib is shorthand for a value sibling in tables.
func valSib(a version.Actor, n uint64, past version.VV, ts int64, v string) version.Sibling {
	return version.Sibling{Dot: version.Dot{Actor: a, Counter: n}, Past: past, Timestamp: ts, Value: []byte(v)}
}

// withCRC appends the CRC-32C the codecs expect to format+body.
func withCRC(format byte, body []byte) []byte {
	b := append([]byte{format}, body...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
}

// rawSibling is one sibling of a record body, encoded without validation
// (the layout of version.EncodeRecord).
type rawSibling struct {
	actor   version.Actor
	counter uint64
}

// rawRecord encodes sibs with empty pasts, values and timestamps, without
// any validation.
func rawRecord(sibs ...rawSibling) []byte {
	b := binary.AppendUvarint(nil, uint64(len(sibs)))
	for _, s := range sibs {
		b = binary.BigEndian.AppendUint64(b, uint64(s.actor))
		b = binary.AppendUvarint(b, s.counter)
		b = binary.AppendUvarint(b, 0) // the empty past
		b = binary.AppendVarint(b, 0)  // timestamp
		b = append(b, 0)               // flags
		b = binary.AppendUvarint(b, 0) // value length
	}
	return b
}
