package version

import (
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"math"
	"slices"

	"github.com/dynkv/dynkv/internal/codec"
)

// Encodings of outside bytes: the causal context handed to clients and the
// record stored per key. Both start with a format-version byte and end with
// a CRC-32C of everything before it, and both decoders check every length
// against the bytes actually present before allocating, so garbage yields an
// error, never a panic or a huge allocation.

const (
	contextFormat byte = 1
	// keyContextFormat 2 was a key context protected by a CRC only; it
	// is refused as stale.
	oldKeyContextFormat byte = 2
	keyContextFormat    byte = 3
	// RecordFormat is the format byte of a stored record (EncodeRecord):
	// a change to the encoding bumps it. Format 2 added expiries (a flag
	// and the expiry after a sibling's flags); EncodeRecord still writes
	// format 1, byte for byte as before, for a set in which no sibling
	// expires, and DecodeRecord reads both (format 1 is a set without
	// expiries).
	RecordFormat byte = 2
	// recordFormatNoExpiry is format 1: no sibling carries an expiry.
	recordFormatNoExpiry byte = 1

	// MaxVVEntries bounds the entries of one decoded version vector. Vectors
	// name only the coordinators of a key's writes (its preference list and
	// the incarnations of those nodes), so real ones hold a handful.
	MaxVVEntries = 1024
	// maxSiblings bounds the siblings of one decoded record.
	maxSiblings = 1 << 16
	// MaxContextEntries bounds a client's context, well below MaxVVEntries
	// so that the versions written with it always fit a record.
	MaxContextEntries = 256
	// MaxCounter bounds a counter in a client's context, so that a forged
	// context cannot make a key's next counter overflow.
	MaxCounter = 1 << 62

	flagTombstone byte = 1
	flagExpiry    byte = 2 // format 2: an expiry (uvarint, unix ms > 0) follows the flags
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// EncodeContext returns the opaque, printable form of a causal context as
// handed to clients by DGET: URL-safe base64 of a versioned, checksummed
// binary encoding.
func EncodeContext(v VV) []byte {
	raw := appendVV([]byte{contextFormat}, v)
	raw = binary.BigEndian.AppendUint32(raw, crc32.Checksum(raw, castagnoli))
	out := make([]byte, base64.RawURLEncoding.EncodedLen(len(raw)))
	base64.RawURLEncoding.Encode(out, raw)
	return out
}

// DecodeContext parses a context produced by EncodeContext. The empty
// string is the empty context ("no prior read"). Anything else that does not
// decode exactly returns ErrInvalidContext.
func DecodeContext(b []byte) (VV, error) {
	if len(b) == 0 {
		return nil, nil
	}
	raw := make([]byte, base64.RawURLEncoding.DecodedLen(len(b)))
	n, err := base64.RawURLEncoding.Decode(raw, b)
	if err != nil {
		return nil, ErrInvalidContext
	}
	body, ok := checkSum(raw[:n], contextFormat)
	if !ok {
		return nil, ErrInvalidContext
	}
	d := codec.Decoder{B: body}
	v := readVV(&d)
	if d.Bad || len(d.B) != 0 {
		return nil, ErrInvalidContext
	}
	return v, nil
}

// Fits reports whether ss can be stored: every limit DecodeRecord checks.
func (ss Siblings) Fits() bool {
	if len(ss) > maxSiblings {
		return false
	}
	for _, s := range ss {
		if len(s.Past) > MaxVVEntries || s.Dot.Counter == 0 {
			return false
		}
	}
	return true
}

// The size of a record. A key's siblings are bounded by the bytes of their
// record (coordinator.Config.MaxSiblingsSize), and what a peer frame must
// carry is derived from that bound (conf.Config.PeerConfig), so both need
// the exact size and its worst case.
const (
	// RecordOverhead is the most a record adds to its siblings: the format
	// byte, the count and the CRC.
	RecordOverhead = 1 + binary.MaxVarintLen64 + 4
	// MaxSiblingOverhead is the most one sibling of a record that Fits adds
	// to its value: dot, a Past of MaxVVEntries entries, timestamp, flags
	// and the value's length.
	MaxSiblingOverhead = 8 + binary.MaxVarintLen64 + // dot
		binary.MaxVarintLen64 + MaxVVEntries*(8+binary.MaxVarintLen64) + // past
		binary.MaxVarintLen64 + 1 + binary.MaxVarintLen64 // timestamp, flags, value length
)

// RecordSize returns len(EncodeRecord(ss)) without encoding.
func (ss Siblings) RecordSize() int {
	n := 1 + uvarintLen(uint64(len(ss))) + 4
	for _, s := range ss {
		n += 8 + uvarintLen(s.Dot.Counter) + uvarintLen(uint64(len(s.Past)))
		for _, e := range s.Past {
			n += 8 + uvarintLen(e.Counter)
		}
		n += uvarintLen(uint64(s.Timestamp<<1^(s.Timestamp>>63))) + 1 + uvarintLen(uint64(len(s.Value))) + len(s.Value)
		if s.Expiry > 0 && !s.Tombstone {
			n += uvarintLen(uint64(s.Expiry))
		}
	}
	return n
}

// uvarintLen returns the length of x as a uvarint.
func uvarintLen(x uint64) int {
	n := 1
	for ; x >= 0x80; x >>= 7 {
		n++
	}
	return n
}

// EncodeRecord returns the stored form of a sibling set.
func EncodeRecord(ss Siblings) []byte {
	size := 1 + binary.MaxVarintLen64 + 4
	for _, s := range ss {
		size += 8 + 3*binary.MaxVarintLen64 + 1 + len(s.Value) + len(s.Past)*(8+binary.MaxVarintLen64) + binary.MaxVarintLen64
	}
	b := make([]byte, 0, size)
	format := recordFormatNoExpiry
	if slices.ContainsFunc(ss, func(s Sibling) bool { return s.Expiry != 0 && !s.Tombstone }) {
		format = RecordFormat
	}
	b = append(b, format)
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = binary.BigEndian.AppendUint64(b, uint64(s.Dot.Actor))
		b = binary.AppendUvarint(b, s.Dot.Counter)
		b = appendVV(b, s.Past)
		b = binary.AppendVarint(b, s.Timestamp)
		var flags byte
		if s.Tombstone {
			flags |= flagTombstone
		}
		expires := s.Expiry > 0 && !s.Tombstone
		if expires {
			flags |= flagExpiry
		}
		b = append(b, flags)
		if expires {
			b = binary.AppendUvarint(b, uint64(s.Expiry))
		}
		b = binary.AppendUvarint(b, uint64(len(s.Value)))
		b = append(b, s.Value...)
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// DecodeRecord parses a record produced by EncodeRecord, of format 1 or 2.
// Values alias b. A record that does not decode exactly, fails its
// checksum or breaks the Siblings invariants returns ErrCorruptRecord.
func DecodeRecord(b []byte) (Siblings, error) {
	format := byte(0)
	if len(b) > 0 {
		format = b[0]
	}
	known := flagTombstone
	switch format {
	case RecordFormat:
		known |= flagExpiry
	case recordFormatNoExpiry:
	default:
		return nil, ErrCorruptRecord
	}
	body, ok := checkSum(b, format)
	if !ok {
		return nil, ErrCorruptRecord
	}
	d := codec.Decoder{B: body}
	n := d.Count(maxSiblings, 8+1+1+1+1+1)
	ss := make(Siblings, 0, n)
	for i := 0; i < n && !d.Bad; i++ {
		var s Sibling
		s.Dot.Actor = Actor(d.U64())
		s.Dot.Counter = d.Uvarint()
		s.Past = readVV(&d)
		s.Timestamp = d.Varint()
		flags := d.Byte()
		s.Tombstone = flags&flagTombstone != 0
		if flags&flagExpiry != 0 {
			e := d.Uvarint()
			if e == 0 || e > math.MaxInt64 || s.Tombstone {
				d.Bad = true
			}
			s.Expiry = int64(e)
		}
		s.Value = d.Bytes()
		if s.Dot.Counter == 0 || flags&^known != 0 || (s.Tombstone && len(s.Value) > 0) ||
			s.Past.Covers(s.Dot) || (i > 0 && ss[i-1].Dot.Compare(s.Dot) >= 0) {
			d.Bad = true
		}
		ss = append(ss, s)
	}
	if d.Bad || len(d.B) != 0 {
		return nil, ErrCorruptRecord
	}
	covered := pastMax(ss)
	for _, s := range ss {
		if covered[s.Dot.Actor] >= s.Dot.Counter {
			return nil, ErrCorruptRecord
		}
	}
	return ss, nil
}

func appendVV(b []byte, v VV) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	for _, e := range v {
		b = binary.BigEndian.AppendUint64(b, uint64(e.Actor))
		b = binary.AppendUvarint(b, e.Counter)
	}
	return b
}

// checkSum verifies the format byte and trailing CRC of b and returns the
// bytes between them.
func checkSum(b []byte, format byte) ([]byte, bool) {
	if len(b) < 5 || b[0] != format {
		return nil, false
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, false
	}
	return body[1:], true
}

func readVV(d *codec.Decoder) VV {
	n := d.Count(MaxVVEntries, 9)
	if d.Bad || n == 0 {
		return nil
	}
	v := make(VV, n)
	for i := range v {
		v[i] = Entry{Actor: Actor(d.U64()), Counter: d.Uvarint()}
	}
	if !v.Valid() {
		d.Bad = true
	}
	return v
}
