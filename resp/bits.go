package resp

import (
	"errors"
	"math/bits"

	"github.com/dynkv/dynkv/coordinator"
)

// Bit commands on string values: GETBIT, SETBIT, BITCOUNT, BITPOS and
// BITOP, with Redis 7's replies and errors. Bit 0 is the most significant
// bit of the first byte. Offsets are bounded by max-value-size (Redis:
// proto-max-bulk-len).

const (
	errBitOffset replyErr = "ERR bit offset is not an integer or out of range"
	errBitValue  replyErr = "ERR bit is not an integer or out of range"
	errBitArg    replyErr = "ERR The bit argument must be 1 or 0."
	errBitopNot  replyErr = "ERR BITOP NOT must be called with a single source key."
)

// bitOffset parses a bit offset as Redis does: at least 0, and its byte
// within max-value-size.
func (s *Server) bitOffset(arg []byte) (uint64, error) {
	off, ok := parseInt(arg)
	if !ok || off < 0 || off>>3 >= s.cfg.MaxValueSize {
		return 0, errBitOffset
	}
	return uint64(off), nil
}

// bitAt returns bit off of v (0 beyond its end).
func bitAt(v []byte, off uint64) int64 {
	if off>>3 >= uint64(len(v)) {
		return 0
	}
	return int64(v[off>>3]>>(7-off&7)) & 1
}

func (s *Server) cmdGetBit(c *session, args [][]byte) error {
	off, err := s.bitOffset(args[2])
	if err != nil {
		return err
	}
	v, _, err := s.get(c, args[1])
	if err != nil {
		return err
	}
	c.w.integer(bitAt(v, off))
	return nil
}

// cmdSetBit sets or clears one bit of the value plain reads see, padding
// with zero bytes, supersedes every version with the result and replies
// the bit it replaced.
func (s *Server) cmdSetBit(c *session, args [][]byte) error {
	off, err := s.bitOffset(args[2])
	if err != nil {
		return err
	}
	on, ok := parseInt(args[3])
	if !ok || on&^1 != 0 {
		return errBitValue
	}
	old, _, err := s.write(c, args[1], coordinator.Write{Op: coordinator.OpSetBit, KeepTTL: true, // as Redis
		Data: coordinator.BitData(off, byte(on)), MaxSize: s.cfg.MaxValueSize})
	if err != nil {
		return err
	}
	c.w.integer(bitAt(old, off))
	return nil
}

// bitRange resolves BITCOUNT's and BITPOS's start, end and unit to a range
// of bits [first, last] of v; empty is first > last.
func bitRange(n int, start, end int64, isBit bool) (first, last int64) {
	total := int64(n)
	if isBit {
		total <<= 3
	}
	start, end = clampRange(start, end, total)
	if start > end {
		return 0, -1
	}
	if isBit {
		return start, end
	}
	return start << 3, end<<3 | 7
}

// parseBitUnit parses BYTE or BIT.
func parseBitUnit(arg []byte) (bool, error) {
	switch {
	case equalFold(arg, "bit"):
		return true, nil
	case equalFold(arg, "byte"):
		return false, nil
	}
	return false, errSyntax
}

// countBits counts the set bits of v in [first, last].
func countBits(v []byte, first, last int64) int64 {
	var n int64
	for b := first; b <= last; {
		if b&7 == 0 && b+7 <= last {
			n += int64(bits.OnesCount8(v[b>>3]))
			b += 8
			continue
		}
		n += bitAt(v, uint64(b))
		b++
	}
	return n
}

// cmdBitCount is BITCOUNT key [start end [BYTE|BIT]].
func (s *Server) cmdBitCount(c *session, args [][]byte) error {
	var start, end int64 = 0, -1
	switch len(args) {
	case 2:
	case 4, 5:
		var ok1, ok2 bool
		start, ok1 = parseInt(args[2])
		end, ok2 = parseInt(args[3])
		if !ok1 || !ok2 {
			return errNotInteger
		}
	default:
		return errSyntax
	}
	v, found, err := s.get(c, args[1])
	if err != nil {
		return err
	}
	if !found {
		c.w.integer(0) // before the unit is checked, as Redis 7.0
		return nil
	}
	isBit := false
	if len(args) == 5 {
		if isBit, err = parseBitUnit(args[4]); err != nil {
			return err
		}
	}
	first, last := bitRange(len(v), start, end, isBit)
	if first > last {
		c.w.integer(0)
		return nil
	}
	c.w.integer(countBits(v, first, last))
	return nil
}

// cmdBitPos is BITPOS key bit [start [end [BYTE|BIT]]]. A missing key is
// an endless run of zeros; a search for 0 with no end given may answer the
// first bit past the value, as in Redis.
func (s *Server) cmdBitPos(c *session, args [][]byte) error {
	bit, ok := parseInt(args[2])
	if !ok {
		return errNotInteger
	}
	if bit != 0 && bit != 1 {
		return errBitArg
	}
	if len(args) > 6 {
		return errSyntax
	}
	v, found, err := s.get(c, args[1])
	if err != nil {
		return err
	}
	if !found {
		c.w.integer(-bit) // no 1 anywhere, a 0 at once
		return nil
	}
	var start, end int64 = 0, -1
	isBit, endGiven := false, false
	if len(args) >= 4 {
		if start, ok = parseInt(args[3]); !ok {
			return errNotInteger
		}
		if len(args) == 6 {
			if isBit, err = parseBitUnit(args[5]); err != nil {
				return err
			}
		}
		if len(args) >= 5 {
			if end, ok = parseInt(args[4]); !ok {
				return errNotInteger
			}
			endGiven = true
		}
	}
	first, last := bitRange(len(v), start, end, isBit)
	if first > last {
		c.w.integer(-1)
		return nil
	}
	skip := byte(0xff) // a whole byte without the bit sought
	if bit == 1 {
		skip = 0
	}
	for b := first; b <= last; {
		if b&7 == 0 && b+7 <= last && v[b>>3] == skip {
			b += 8
			continue
		}
		if bitAt(v, uint64(b)) == bit {
			c.w.integer(b)
			return nil
		}
		b++
	}
	if bit == 0 && !endGiven {
		c.w.integer(last + 1) // the value padded with zeros on the right
		return nil
	}
	c.w.integer(-1)
	return nil
}

// cmdBitOp is BITOP AND|OR|XOR|NOT destkey key [key ...]: it reads the
// source keys, computes the result as long as the longest (shorter ones
// padded with zeros) and sets destkey to it, superseding every version;
// an empty result deletes destkey. Not atomic across keys: each source is
// read as plain GET would, one after another.
func (s *Server) cmdBitOp(c *session, args [][]byte) error {
	var op func(a, b byte) byte
	switch {
	case equalFold(args[1], "and"):
		op = func(a, b byte) byte { return a & b }
	case equalFold(args[1], "or"):
		op = func(a, b byte) byte { return a | b }
	case equalFold(args[1], "xor"):
		op = func(a, b byte) byte { return a ^ b }
	case equalFold(args[1], "not"):
		if len(args) != 4 {
			return errBitopNot
		}
	default:
		return errSyntax
	}
	srcs := make([][]byte, 0, len(args)-3)
	longest := 0
	for _, key := range args[3:] {
		v, _, err := s.get(c, key)
		if err != nil {
			return err
		}
		srcs = append(srcs, v)
		longest = max(longest, len(v))
	}
	if longest == 0 {
		_, _, err := s.write(c, args[2], coordinator.Write{Op: coordinator.OpDelete, Cond: coordinator.CondAnyValue})
		if err != nil && !errors.Is(err, coordinator.ErrCondition) {
			return err
		}
		c.w.integer(0)
		return nil
	}
	res := make([]byte, longest)
	byteAt := func(v []byte, j int) byte {
		if j < len(v) {
			return v[j]
		}
		return 0
	}
	for j := range res {
		out := byteAt(srcs[0], j)
		if op == nil {
			out = ^out
		}
		for _, v := range srcs[1:] {
			out = op(out, byteAt(v, j))
		}
		res[j] = out
	}
	if _, _, err := s.write(c, args[2], coordinator.Write{Data: res}); err != nil {
		return err
	}
	c.w.integer(int64(longest))
	return nil
}
