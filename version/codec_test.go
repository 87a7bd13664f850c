package version

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var rewrite = flag.Bool("version.rewrite", false, "rewrite the golden files in testdata")

// seal appends the CRC-32C the codecs expect to format+body.
func withCRC(format byte, body []byte) []byte {
	b := append([]byte{format}, body...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
}

// contextText returns the printable form of raw context bytes.
func contextText(raw []byte) []byte {
	return []byte(base64.RawURLEncoding.EncodeToString(raw))
}

// rawVV encodes entries without any validation.
func rawVV(entries ...Entry) []byte {
	b := binary.AppendUvarint(nil, uint64(len(entries)))
	for _, e := range entries {
		b = binary.BigEndian.AppendUint64(b, uint64(e.Actor))
		b = binary.AppendUvarint(b, e.Counter)
	}
	return b
}

// rawSibling is one sibling of a record body, encoded without validation.
type rawSibling struct {
	actor   Actor
	counter uint64
	past    []byte // an encoded VV; nil means the empty one
	ts      int64
	flags   byte
	expiry  uint64 // written after flags when flags has flagExpiry
	value   string
}

func rawRecord(sibs ...rawSibling) []byte {
	b := binary.AppendUvarint(nil, uint64(len(sibs)))
	for _, s := range sibs {
		b = binary.BigEndian.AppendUint64(b, uint64(s.actor))
		b = binary.AppendUvarint(b, s.counter)
		if s.past == nil {
			s.past = rawVV()
		}
		b = append(b, s.past...)
		b = binary.AppendVarint(b, s.ts)
		b = append(b, s.flags)
		if s.flags&flagExpiry != 0 {
			b = binary.AppendUvarint(b, s.expiry)
		}
		b = binary.AppendUvarint(b, uint64(len(s.value)))
		b = append(b, s.value...)
	}
	return b
}

func isPrintableContext(b []byte) bool {
	for _, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func TestContextCodec_RoundTrip(t *testing.T) {
	r := newRand(t)
	big := make(VV, MaxVVEntries)
	for i := range big {
		big[i] = Entry{Actor: Actor(i * 3), Counter: uint64(i + 1)}
	}
	fixed := []struct {
		name string
		v    VV
	}{
		{name: "nil", v: nil},
		{name: "empty", v: VV{}},
		{name: "one", v: VV{{1, 1}}},
		{name: "extremes", v: VV{{0, 1}, {math.MaxUint64, math.MaxUint64}}},
		{name: "max entries", v: big},
	}
	for _, tt := range fixed {
		t.Run(tt.name, func(t *testing.T) {
			enc := EncodeContext(tt.v)
			require.NotEmpty(t, enc, "the empty context still encodes to a non-empty string")
			require.True(t, isPrintableContext(enc), "%q", enc)
			got, err := DecodeContext(enc)
			require.NoError(t, err)
			require.Equal(t, canonVV(tt.v), canonVV(got))
		})
	}
	t.Run("random", func(t *testing.T) {
		for range 2000 {
			v := wideVV(r, r.IntN(12))
			if r.IntN(2) == 0 {
				v = randVV(r, 6, 1000)
			}
			enc := EncodeContext(v)
			require.True(t, isPrintableContext(enc), "%q", enc)
			got, err := DecodeContext(enc)
			require.NoError(t, err)
			require.Equal(t, canonVV(v), canonVV(got))
		}
	})
}

func TestDecodeContext_Empty(t *testing.T) {
	for _, in := range [][]byte{nil, {}} {
		v, err := DecodeContext(in)
		require.NoError(t, err)
		require.Empty(t, v)
	}
}

func TestDecodeContext_Invalid(t *testing.T) {
	valid := rawVV(Entry{1, 2}, Entry{5, 1})
	tests := []struct {
		name string
		in   []byte
	}{
		{name: "not base64", in: []byte("!!!!!!!!")},
		{name: "space", in: []byte("AQAA AAAA")},
		{name: "padded", in: []byte(base64.URLEncoding.EncodeToString(withCRC(contextFormat, valid)) + "==")},
		{name: "standard alphabet", in: []byte("+/+/+/+/")},
		{name: "one character", in: []byte("A")},
		{name: "too short for a checksum", in: contextText([]byte{contextFormat, 0, 0, 0})},
		{name: "text garbage", in: []byte("hello-world_this-is-not-a-context")},
		{name: "binary garbage", in: []byte{0, 1, 2, 0xff, 0xfe}},
		{name: "wrong format byte 0", in: contextText(withCRC(0, valid))},
		{name: "wrong format byte 2", in: contextText(withCRC(2, valid))},
		{name: "record instead of context", in: contextText(EncodeRecord(Siblings{valSib(1, 1, nil, 1, "x")}))},
		{name: "bad checksum", in: contextText(append(withCRC(contextFormat, valid)[:len(valid)+1], 0, 0, 0, 0))},
		{name: "unsorted", in: contextText(withCRC(contextFormat, rawVV(Entry{5, 1}, Entry{1, 2})))},
		{name: "duplicate actor", in: contextText(withCRC(contextFormat, rawVV(Entry{1, 1}, Entry{1, 2})))},
		{name: "zero counter", in: contextText(withCRC(contextFormat, rawVV(Entry{1, 0})))},
		{name: "trailing byte", in: contextText(withCRC(contextFormat, append(bytes.Clone(valid), 0)))},
		{name: "missing entry", in: contextText(withCRC(contextFormat, valid[:len(valid)-9]))},
		{name: "truncated counter", in: contextText(withCRC(contextFormat, []byte{1, 0, 0, 0, 0, 0, 0, 0, 1, 0x80}))},
		{name: "huge count", in: contextText(withCRC(contextFormat, binary.AppendUvarint(nil, math.MaxUint64)))},
		{name: "too many entries", in: func() []byte {
			es := make([]Entry, MaxVVEntries+1)
			for i := range es {
				es[i] = Entry{Actor(i), 1}
			}
			return contextText(withCRC(contextFormat, rawVV(es...)))
		}()},
		{name: "no body", in: contextText(withCRC(contextFormat, nil))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := DecodeContext(tt.in)
			require.ErrorIs(t, err, ErrInvalidContext)
			require.Nil(t, v)
		})
	}
}

// TestDecodeContext_Mutations truncates and flips every bit of valid
// contexts: each mutant is rejected, except a change of the unused low bits
// of the last base64 character, which decodes to the same bytes.
func TestDecodeContext_Mutations(t *testing.T) {
	r := newRand(t)
	inputs := []VV{nil, {{1, 1}}, {{7, 300}, {1 << 40, 2}, {math.MaxUint64, 9}}, wideVV(r, 5)}
	for i, v := range inputs {
		t.Run(fmt.Sprintf("vector %d", i), func(t *testing.T) {
			raw := withCRC(contextFormat, rawVV(v...))
			enc := EncodeContext(v)
			require.Equal(t, contextText(raw), enc)
			for n := 1; n < len(enc); n++ {
				got, err := DecodeContext(enc[:n])
				require.ErrorIs(t, err, ErrInvalidContext, "prefix %d of %q decoded to %v", n, enc, got)
			}
			for n := 0; n < len(raw); n++ {
				_, err := DecodeContext(contextText(raw[:n]))
				if n == 0 {
					require.NoError(t, err)
					continue
				}
				require.ErrorIs(t, err, ErrInvalidContext, "raw prefix %d", n)
			}
			for bit := range 8 * len(raw) {
				m := bytes.Clone(raw)
				m[bit/8] ^= 1 << (bit % 8)
				got, err := DecodeContext(contextText(m))
				require.ErrorIs(t, err, ErrInvalidContext, "bit %d flipped decoded to %v", bit, got)
			}
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			for pos := range enc {
				for _, c := range []byte(alphabet) {
					if c == enc[pos] {
						continue
					}
					m := bytes.Clone(enc)
					m[pos] = c
					got, err := DecodeContext(m)
					if err == nil {
						require.Equal(t, len(enc)-1, pos, "character %d changed to %q still decodes", pos, c)
						require.Equal(t, canonVV(v), canonVV(got))
						continue
					}
					require.ErrorIs(t, err, ErrInvalidContext)
				}
			}
		})
	}
}

func TestRecordCodec_RoundTrip(t *testing.T) {
	r := newRand(t)
	fixed := []struct {
		name string
		ss   Siblings
	}{
		{name: "empty", ss: nil},
		{name: "one value", ss: Siblings{valSib(1, 1, nil, 1, "x")}},
		{name: "empty value", ss: Siblings{valSib(1, 1, nil, 1, "")}},
		{name: "tombstone with past", ss: Siblings{tombSib(2, 3, VV{{1, 9}, {2, 2}}, 5)}},
		{name: "extreme timestamps", ss: Siblings{valSib(1, 1, nil, math.MinInt64, "a"), valSib(2, math.MaxUint64, nil, math.MaxInt64, "b")}},
		{name: "binary value", ss: Siblings{valSib(math.MaxUint64, 1, nil, 0, "\x00\xff\x01\n")}},
		{name: "large value", ss: Siblings{valSib(1, 1, nil, 0, strings.Repeat("v", 1<<20))}},
	}
	for _, tt := range fixed {
		t.Run(tt.name, func(t *testing.T) {
			enc := EncodeRecord(tt.ss)
			require.Equal(t, len(enc), tt.ss.RecordSize())
			got, err := DecodeRecord(enc)
			require.NoError(t, err)
			require.Equal(t, canonSibs(tt.ss), canonSibs(got))
		})
	}
	t.Run("random", func(t *testing.T) {
		for range 1000 {
			ss := randSiblings(r, r.IntN(8))
			for i := range ss {
				if r.IntN(3) == 0 {
					ss[i].Past = wideVV(r, r.IntN(5))
					ss[i].Past = fromRef(toRefWithout(ss[i].Past, ss[i].Dot))
				}
				if r.IntN(4) == 0 {
					ss[i].Timestamp = int64(r.Uint64())
				}
				if r.IntN(3) == 0 && !ss[i].Tombstone {
					ss[i].Expiry = 1 + r.Int64N(math.MaxInt64)
				}
			}
			ss = normalizeSibs(ss)
			enc := EncodeRecord(ss)
			require.Equal(t, len(enc), ss.RecordSize())
			got, err := DecodeRecord(enc)
			require.NoError(t, err)
			require.Equal(t, canonSibs(ss), canonSibs(got))
			require.Equal(t, enc, EncodeRecord(got), "re-encoding differs")
		}
	})
	t.Run("simulated states", func(t *testing.T) {
		s := newSim(t, r, simConfig{clients: 4, actors: 3, steps: 300, tombstones: true})
		s.run()
		for _, ss := range s.states {
			got, err := DecodeRecord(EncodeRecord(ss))
			require.NoError(t, err)
			require.Equal(t, canonSibs(ss), canonSibs(got))
		}
	})
}

// toRefWithout returns v as a map with d's actor lowered below d.
func toRefWithout(v VV, d Dot) refVV {
	m := toRef(v)
	if m[d.Actor] >= d.Counter {
		m[d.Actor] = d.Counter - 1
	}
	return m
}

// TestRecordSize_WorstCase: one sibling with the longest Past a record
// holds, extreme counters and timestamp, is its value and
// MaxSiblingOverhead, and a record adds at most RecordOverhead.
func TestRecordSize_WorstCase(t *testing.T) {
	past := make(VV, MaxVVEntries)
	for i := range past {
		past[i] = Entry{Actor: Actor(i + 2), Counter: math.MaxUint64}
	}
	s := Sibling{Dot: Dot{Actor: 1, Counter: math.MaxUint64}, Past: past, Timestamp: math.MinInt64, Value: []byte("value")}
	ss := Siblings{s}
	require.True(t, ss.Fits())
	require.Equal(t, len(EncodeRecord(ss)), ss.RecordSize())
	share := ss.RecordSize() - (1 + 1 + 4)
	require.LessOrEqual(t, share, len(s.Value)+MaxSiblingOverhead, "the sibling's share")
	require.Greater(t, share+2*binary.MaxVarintLen64, len(s.Value)+MaxSiblingOverhead, "and close to it: only the lengths' varints are short")
	require.LessOrEqual(t, ss.RecordSize(), RecordOverhead+MaxSiblingOverhead+len(s.Value))
}

func TestDecodeRecord_Invalid(t *testing.T) {
	ok := rawSibling{actor: 1, counter: 1, ts: 1, value: "x"}
	withPast := func(s rawSibling, past []byte) rawSibling { s.past = past; return s }
	tests := []struct {
		name string
		in   []byte
	}{
		{name: "nil", in: nil},
		{name: "empty", in: []byte{}},
		{name: "too short for a checksum", in: []byte{RecordFormat, 0, 0, 0}},
		{name: "garbage", in: []byte("this is not a record at all")},
		{name: "wrong format byte 0", in: withCRC(0, rawRecord(ok))},
		{name: "wrong format byte 3", in: withCRC(RecordFormat+1, rawRecord(ok))},
		{name: "expiry in format 1", in: withCRC(recordFormatNoExpiry, rawRecord(rawSibling{actor: 1, counter: 1, flags: flagExpiry, expiry: 5, value: "x"}))},
		{name: "expiry zero", in: withCRC(RecordFormat, rawRecord(rawSibling{actor: 1, counter: 1, flags: flagExpiry, expiry: 0, value: "x"}))},
		{name: "expiry beyond int64", in: withCRC(RecordFormat, rawRecord(rawSibling{actor: 1, counter: 1, flags: flagExpiry, expiry: math.MaxInt64 + 1, value: "x"}))},
		{name: "tombstone with an expiry", in: withCRC(RecordFormat, rawRecord(rawSibling{actor: 1, counter: 1, flags: flagExpiry | flagTombstone, expiry: 5}))},
		{name: "unknown flag in format 2", in: withCRC(RecordFormat, rawRecord(rawSibling{actor: 1, counter: 1, flags: 4, value: "x"}))},
		{name: "context instead of record", in: EncodeContext(VV{{1, 1}})},
		{name: "bad checksum", in: append(withCRC(RecordFormat, rawRecord(ok))[:len(rawRecord(ok))+1], 1, 2, 3, 4)},
		{name: "no body", in: withCRC(RecordFormat, nil)},
		{name: "huge sibling count", in: withCRC(RecordFormat, binary.AppendUvarint(nil, math.MaxUint64))},
		{name: "count beyond the bytes", in: withCRC(RecordFormat, append(binary.AppendUvarint(nil, 2), rawRecord(ok)[1:]...))},
		{name: "trailing byte", in: withCRC(RecordFormat, append(rawRecord(ok), 0))},
		{name: "zero counter", in: withCRC(RecordFormat, rawRecord(rawSibling{actor: 1, counter: 0, value: "x"}))},
		{name: "unknown flag", in: withCRC(RecordFormat, rawRecord(rawSibling{actor: 1, counter: 1, flags: 2, value: "x"}))},
		{name: "tombstone with a value", in: withCRC(RecordFormat, rawRecord(rawSibling{actor: 1, counter: 1, flags: flagTombstone, value: "x"}))},
		{name: "value beyond the bytes", in: withCRC(RecordFormat, append(rawRecord(rawSibling{actor: 1, counter: 1})[:13], 0x7f))},
		{name: "past covers own dot", in: withCRC(RecordFormat, rawRecord(withPast(ok, rawVV(Entry{1, 1}))))},
		{name: "past unsorted", in: withCRC(RecordFormat, rawRecord(withPast(ok, rawVV(Entry{3, 1}, Entry{2, 1}))))},
		{name: "past zero counter", in: withCRC(RecordFormat, rawRecord(withPast(ok, rawVV(Entry{3, 0}))))},
		{name: "past too long", in: func() []byte {
			es := make([]Entry, MaxVVEntries+1)
			for i := range es {
				es[i] = Entry{Actor(i + 2), 1}
			}
			return withCRC(RecordFormat, rawRecord(withPast(ok, rawVV(es...))))
		}()},
		{name: "siblings unsorted", in: withCRC(RecordFormat, rawRecord(rawSibling{actor: 2, counter: 1}, rawSibling{actor: 1, counter: 1}))},
		{name: "same dot twice", in: withCRC(RecordFormat, rawRecord(rawSibling{actor: 1, counter: 1, value: "a"}, rawSibling{actor: 1, counter: 1, value: "b"}))},
		// doc.go: "No sibling's Dot is covered by another sibling's Past";
		// codec.go: a record that "breaks the Siblings invariants returns
		// ErrCorruptRecord".
		{name: "sibling covered by another's past", in: withCRC(RecordFormat, rawRecord(
			rawSibling{actor: 1, counter: 1, value: "replaced"},
			rawSibling{actor: 2, counter: 1, past: rawVV(Entry{1, 1}), value: "successor"}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss, err := DecodeRecord(tt.in)
			require.ErrorIs(t, err, ErrCorruptRecord, "decoded to %v", ss)
			require.Nil(t, ss)
		})
	}
}

// TestDecodeRecord_LargestRecordIsCheap decodes and merges the largest
// record DecodeRecord accepts (maxSiblings siblings, 1.4 MB, as a peer may
// send in a Merge): outside bytes must not cost more than a moment of CPU,
// and Store.Merge holds the key's lock while it runs Sync. A check that
// compares every sibling with every other is quadratic: 4e9 comparisons.
func TestDecodeRecord_LargestRecordIsCheap(t *testing.T) {
	sibs := make([]rawSibling, maxSiblings)
	for i := range sibs {
		sibs[i] = rawSibling{actor: Actor(i + 1), counter: 1, past: rawVV(Entry{0, 1})}
	}
	rec := withCRC(RecordFormat, rawRecord(sibs...))
	done := make(chan error, 1)
	go func() {
		ss, err := DecodeRecord(rec)
		if err == nil && len(Sync(ss, Siblings{valSib(0, 2, nil, 1, "x")})) != len(ss)+1 {
			err = errors.New("wrong merge")
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			require.ErrorIs(t, err, ErrCorruptRecord, "a record may be refused, not mangled")
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("DecodeRecord+Sync of a %d-byte record with %d siblings did not finish within 5s", len(rec), maxSiblings)
	}
}

// TestDecodeRecord_Mutations truncates and flips every bit of valid records.
func TestDecodeRecord_Mutations(t *testing.T) {
	inputs := []Siblings{
		nil,
		{valSib(1, 1, nil, 1, "x")},
		{valSib(1, 2, VV{{1, 1}, {9, 4}}, -7, "apple"), tombSib(9, 5, VV{{1, 1}}, 1<<40)},
	}
	for i, ss := range inputs {
		t.Run(fmt.Sprintf("record %d", i), func(t *testing.T) {
			enc := EncodeRecord(ss)
			for n := range len(enc) {
				got, err := DecodeRecord(enc[:n])
				require.ErrorIs(t, err, ErrCorruptRecord, "prefix %d decoded to %v", n, got)
			}
			for bit := range 8 * len(enc) {
				m := bytes.Clone(enc)
				m[bit/8] ^= 1 << (bit % 8)
				got, err := DecodeRecord(m)
				require.ErrorIs(t, err, ErrCorruptRecord, "bit %d flipped decoded to %v", bit, got)
			}
		})
	}
}

// goldenCases pin the wire and disk formats: contexts handed to clients and
// records on disk must stay decodable by later versions.
var goldenCases = []struct {
	name    string
	context VV       // encoded with EncodeContext if record is nil
	record  Siblings // encoded with EncodeRecord
}{
	{name: "context-empty", context: nil},
	{name: "context-one", context: VV{{1, 1}}},
	{name: "context-three", context: VV{{0x0102030405060708, 300}, {0xa1b2c3d4e5f60718, 1}, {math.MaxUint64, math.MaxUint64}}},
	{name: "record-empty", record: Siblings{}},
	{name: "record-one", record: Siblings{valSib(0x0102030405060708, 1, nil, 1_700_000_000_000_000_000, "apple")}},
	{name: "record-siblings", record: Siblings{
		valSib(0x0102030405060708, 2, VV{{0x0102030405060708, 1}}, -5, ""),
		tombSib(0xa1b2c3d4e5f60718, 7, VV{{0x0102030405060708, 1}, {0xa1b2c3d4e5f60718, 6}}, 42),
	}},
	// Format 2: a sibling that expires (the others are written as before).
	{name: "record-expiry", record: Siblings{
		expSib(valSib(0x0102030405060708, 2, VV{{0x0102030405060708, 1}}, 1_700_000_000_000_000_000, "session"), 1_700_000_060_000),
		valSib(0xa1b2c3d4e5f60718, 7, nil, 42, "forever"),
	}},
}

func TestCodec_Golden(t *testing.T) {
	path := filepath.Join("testdata", "codec.golden")
	var got bytes.Buffer
	got.WriteString("# name encoding (contexts as sent to clients, records as hex); regenerate with go test -run TestCodec_Golden -version.rewrite\n")
	for _, gc := range goldenCases {
		if gc.record == nil {
			fmt.Fprintf(&got, "%s %s\n", gc.name, EncodeContext(gc.context))
		} else {
			fmt.Fprintf(&got, "%s %s\n", gc.name, hex.EncodeToString(EncodeRecord(gc.record)))
		}
	}
	if *rewrite {
		require.NoError(t, os.WriteFile(path, got.Bytes(), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), got.String(), "encodings changed: old contexts and records must still decode")

	// Decode the stored encodings, not the fresh ones.
	enc := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(want))
	for sc.Scan() {
		if name, e, ok := strings.Cut(sc.Text(), " "); ok && !strings.HasPrefix(name, "#") {
			enc[name] = e
		}
	}
	for _, gc := range goldenCases {
		t.Run(gc.name, func(t *testing.T) {
			e, ok := enc[gc.name]
			require.True(t, ok, "missing from %s", path)
			if gc.record == nil {
				v, err := DecodeContext([]byte(e))
				require.NoError(t, err)
				require.Equal(t, canonVV(gc.context), canonVV(v))
				return
			}
			b, err := hex.DecodeString(e)
			require.NoError(t, err)
			ss, err := DecodeRecord(b)
			require.NoError(t, err)
			require.Equal(t, canonSibs(gc.record), canonSibs(ss))
		})
	}
}

// resealed replaces the last four bytes of b with the CRC-32C of the rest,
// so that fuzzing reaches the decoders behind the checksum.
func resealed(b []byte) []byte {
	if len(b) < 5 {
		return b
	}
	return withCRC(b[0], b[1:len(b)-4])
}

// FuzzDecodeContext feeds DecodeContext arbitrary text (fix=false) or the
// base64 of arbitrary bytes with a correct checksum (fix=true).
func FuzzDecodeContext(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 1))
	f.Add([]byte(""), false)
	f.Add([]byte("garbage"), false)
	f.Add([]byte("A"), false)
	for _, v := range []VV{nil, {{1, 1}}, {{1, 3}, {2, 1 << 40}}, wideVV(r, 4)} {
		enc := EncodeContext(v)
		f.Add(enc, false)
		f.Add(enc[:len(enc)/2], false)
		m := bytes.Clone(enc)
		m[len(m)/2] ^= 4
		f.Add(m, false)
		raw := withCRC(contextFormat, rawVV(v...))
		f.Add(raw, true)
		f.Add(append(raw[:len(raw)-4:len(raw)-4], 0, 0, 0, 0, 0), true)
	}
	f.Add(withCRC(contextFormat, rawVV(Entry{5, 1}, Entry{1, 2})), true)
	f.Add(withCRC(contextFormat, binary.AppendUvarint(nil, math.MaxUint64)), true)
	f.Add(withCRC(2, rawVV(Entry{1, 1})), true)
	f.Fuzz(func(t *testing.T, in []byte, fix bool) {
		if fix {
			in = contextText(resealed(in))
		}
		v, err := DecodeContext(in)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidContext)
			require.Nil(t, v)
			return
		}
		require.True(t, v.Valid(), "decoded an invalid vector %v", v)
		require.LessOrEqual(t, len(v), MaxVVEntries)
		enc := EncodeContext(v)
		require.True(t, isPrintableContext(enc))
		again, err := DecodeContext(enc)
		require.NoError(t, err)
		require.Equal(t, canonVV(v), canonVV(again))
	})
}

// FuzzDecodeRecord feeds DecodeRecord arbitrary bytes (fix=false) or bytes
// with a correct checksum (fix=true).
func FuzzDecodeRecord(f *testing.F) {
	r := rand.New(rand.NewPCG(2, 2))
	f.Add([]byte{}, false)
	f.Add([]byte("garbage"), false)
	for _, ss := range []Siblings{
		nil,
		{valSib(1, 1, nil, 1, "x")},
		{valSib(1, 2, VV{{1, 1}, {9, 4}}, -7, "apple"), tombSib(9, 5, VV{{1, 1}}, 1<<40)},
		{expSib(valSib(1, 2, VV{{1, 1}}, 7, "ttl"), 1_700_000_000_000), valSib(2, 1, nil, 1, "x")},
		randSiblings(r, 5),
	} {
		enc := EncodeRecord(ss)
		f.Add(enc, false)
		f.Add(enc[:len(enc)/2], false)
		m := bytes.Clone(enc)
		m[len(m)/2] ^= 0x10
		f.Add(m, false)
		f.Add(m, true)
	}
	f.Add(withCRC(RecordFormat, rawRecord(rawSibling{actor: 2, counter: 1}, rawSibling{actor: 1, counter: 1})), true)
	f.Add(withCRC(RecordFormat, rawRecord(rawSibling{actor: 1, counter: 1, flags: flagTombstone, value: "x"})), true)
	f.Add(withCRC(RecordFormat, binary.AppendUvarint(nil, math.MaxUint64)), true)
	f.Add(withCRC(0, rawRecord(rawSibling{actor: 1, counter: 1})), false)
	f.Add(withCRC(RecordFormat, rawRecord(rawSibling{actor: 1, counter: 1, flags: flagExpiry, expiry: math.MaxUint64, value: "x"})), true)
	f.Add(withCRC(recordFormatNoExpiry, rawRecord(rawSibling{actor: 1, counter: 1, flags: flagExpiry, expiry: 1, value: "x"})), true)
	f.Fuzz(func(t *testing.T, in []byte, fix bool) {
		in = bytes.Clone(in)
		if fix {
			in = resealed(in)
		}
		ss, err := DecodeRecord(in)
		if err != nil {
			require.True(t, errors.Is(err, ErrCorruptRecord), "error %v", err)
			require.Nil(t, ss)
			return
		}
		checkInvariants(t, ss)
		enc := EncodeRecord(ss)
		require.Equal(t, len(enc), ss.RecordSize())
		again, err := DecodeRecord(enc)
		require.NoError(t, err)
		require.Equal(t, canonSibs(ss), canonSibs(again))
	})
}
