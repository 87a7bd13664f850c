package codec

import "encoding/binary"

// Decoder reads from B; after the first error Bad is set and every read
// returns zero values.
type Decoder struct {
	B   []byte // what is left to read
	Bad bool   // a read failed
}

// Uvarint reads an unsigned varint.
func (d *Decoder) Uvarint() uint64 {
	if d.Bad {
		return 0
	}
	v, n := binary.Uvarint(d.B)
	if n <= 0 {
		d.Bad = true
		return 0
	}
	d.B = d.B[n:]
	return v
}

// Varint reads a signed varint.
func (d *Decoder) Varint() int64 {
	if d.Bad {
		return 0
	}
	v, n := binary.Varint(d.B)
	if n <= 0 {
		d.Bad = true
		return 0
	}
	d.B = d.B[n:]
	return v
}

// U64 reads a big-endian uint64.
func (d *Decoder) U64() uint64 {
	if d.Bad || len(d.B) < 8 {
		d.Bad = true
		return 0
	}
	v := binary.BigEndian.Uint64(d.B)
	d.B = d.B[8:]
	return v
}

// Byte reads one byte.
func (d *Decoder) Byte() byte {
	if d.Bad || len(d.B) < 1 {
		d.Bad = true
		return 0
	}
	v := d.B[0]
	d.B = d.B[1:]
	return v
}

// Count reads a length prefix of items of at least minSize bytes each and
// rejects one larger than limit or than the remaining bytes can hold.
func (d *Decoder) Count(limit, minSize int) int {
	n := d.Uvarint()
	if d.Bad || n > uint64(limit) || n > uint64(len(d.B)/minSize) {
		d.Bad = true
		return 0
	}
	return int(n)
}

// Bytes reads a length-prefixed byte string, aliasing B; an empty one is
// nil.
func (d *Decoder) Bytes() []byte {
	n := d.Count(len(d.B), 1)
	if d.Bad {
		return nil
	}
	v := d.B[:n:n]
	d.B = d.B[n:]
	if n == 0 {
		return nil
	}
	return v
}
