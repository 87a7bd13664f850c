package resp

import (
	"errors"

	"github.com/dynkv/dynkv/coordinator"
)

// String commands that address part of a value (GETRANGE, SUBSTR,
// SETRANGE), that read and delete (GETDEL), that set several keys only if
// none exists (MSETNX), and LCS. Replies and errors are Redis 7's; the
// transcript resp/testdata/ranges.txt runs against redis-server too.

const (
	errOffsetRange replyErr = "ERR offset is out of range"
	errLCSBoth     replyErr = "ERR If you want both the length and indexes, please just use IDX."
	errLCSMemory   replyErr = "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
)

// maxLCSCells bounds LCS's table ((len(a)+1) x (len(b)+1) counters of 4
// bytes): 64 MiB per command, where Redis takes what malloc gives.
const maxLCSCells = 16 << 20

// clampRange turns Redis's inclusive start and end, negative counting from
// the end, into [start, end] within n; empty is start > end.
func clampRange(start, end, n int64) (int64, int64) {
	if start < 0 && end < 0 && start > end {
		return 0, -1
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = max(start, 0), max(end, 0)
	if end >= n {
		end = n - 1
	}
	return start, end
}

// cmdGetRange is GETRANGE and SUBSTR.
func (s *Server) cmdGetRange(c *session, args [][]byte) error {
	start, ok1 := parseInt(args[2])
	end, ok2 := parseInt(args[3])
	if !ok1 || !ok2 {
		return errNotInteger
	}
	v, _, err := s.get(c, args[1])
	if err != nil {
		return err
	}
	start, end = clampRange(start, end, int64(len(v)))
	if start > end || len(v) == 0 {
		c.w.bulk(nil)
		return nil
	}
	c.w.bulk(v[start : end+1])
	return nil
}

// cmdSetRange overwrites part of the value plain reads see, padding with
// zero bytes, and supersedes every version with the result.
func (s *Server) cmdSetRange(c *session, args [][]byte) error {
	off, ok := parseInt(args[2])
	if !ok {
		return errNotInteger
	}
	if off < 0 {
		return errOffsetRange
	}
	value := args[3]
	if len(value) == 0 {
		// Nothing to write: Redis replies the length and writes nothing.
		v, _, err := s.get(c, args[1])
		if err != nil {
			return err
		}
		c.w.integer(int64(len(v)))
		return nil
	}
	if off+int64(len(value)) > s.cfg.MaxValueSize {
		return errStringTooLong
	}
	old, _, err := s.write(c, args[1], coordinator.Write{Op: coordinator.OpSetRange, KeepTTL: true, // as Redis
		Data: coordinator.RangeData(uint64(off), value), MaxSize: s.cfg.MaxValueSize})
	if err != nil {
		return err
	}
	c.w.integer(max(int64(len(old)), off+int64(len(value))))
	return nil
}

// cmdGetDel returns the value plain reads see and deletes the key with a
// tombstone that supersedes every version; a key with no value is left
// alone.
func (s *Server) cmdGetDel(c *session, args [][]byte) error {
	old, had, err := s.write(c, args[1], coordinator.Write{Op: coordinator.OpDelete, Cond: coordinator.CondAnyValue})
	if err != nil && !errors.Is(err, coordinator.ErrCondition) {
		return err
	}
	c.w.bulkOrNull(old, had && err == nil)
	return nil
}

// cmdMSetNX sets every key if none of them has a value. It is not atomic
// across keys (they live on different nodes): it first reads every key,
// and replies 0 without writing if any has a value; then it sets each key
// on condition that it still has none. A writer that sets one of the keys
// in between makes MSETNX reply 0 after setting the keys before it; keys
// it did not set keep the other writer's value.
func (s *Server) cmdMSetNX(c *session, args [][]byte) error {
	if len(args)%2 == 0 {
		return arityError("msetnx")
	}
	for j := 1; j < len(args); j += 2 {
		_, ok, err := s.get(c, args[j])
		if err != nil {
			return err
		}
		if ok {
			c.w.integer(0)
			return nil
		}
	}
	all := int64(1)
	for j := 1; j < len(args); j += 2 {
		_, _, err := s.write(c, args[j], coordinator.Write{Cond: coordinator.CondAbsent, Data: args[j+1]})
		switch {
		case errors.Is(err, coordinator.ErrCondition):
			all = 0
		case err != nil:
			return err
		}
	}
	c.w.integer(all)
	return nil
}

// cmdLCS is LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN],
// computed as Redis 7 does (the same table, the same walk back, so the same
// matches), on the values plain reads see.
func (s *Server) cmdLCS(c *session, args [][]byte) error {
	a, _, err := s.get(c, args[1])
	if err != nil {
		return err
	}
	b, _, err := s.get(c, args[2])
	if err != nil {
		return err
	}
	var getLen, getIdx, withLen bool
	var minLen int64
	for j := 3; j < len(args); j++ {
		switch {
		case equalFold(args[j], "idx"):
			getIdx = true
		case equalFold(args[j], "len"):
			getLen = true
		case equalFold(args[j], "withmatchlen"):
			withLen = true
		case equalFold(args[j], "minmatchlen") && j+1 < len(args):
			n, ok := parseInt(args[j+1])
			if !ok {
				return errNotInteger
			}
			minLen = max(n, 0)
			j++
		default:
			return errSyntax
		}
	}
	if getIdx && getLen {
		return errLCSBoth
	}
	cols := len(b) + 1
	if int64(len(a)+1)*int64(cols) > maxLCSCells {
		return errLCSMemory
	}
	dp := make([]uint32, (len(a)+1)*cols)
	at := func(i, j int) uint32 { return dp[i*cols+j] }
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				dp[i*cols+j] = at(i-1, j-1) + 1
			} else {
				dp[i*cols+j] = max(at(i-1, j), at(i, j-1))
			}
		}
	}
	total := at(len(a), len(b))
	if getLen {
		c.w.integer(int64(total))
		return nil
	}
	result := make([]byte, total)
	type match struct{ a0, a1, b0, b1 int }
	var matches []match
	idx := int(total)
	aStart, aEnd, bStart, bEnd := len(a), 0, 0, 0 // aStart == len(a): no range open
	for i, j := len(a), len(b); i > 0 && j > 0; {
		emit := false
		if a[i-1] == b[j-1] {
			result[idx-1] = a[i-1]
			switch {
			case aStart == len(a):
				aStart, aEnd, bStart, bEnd = i-1, i-1, j-1, j-1
			case aStart == i && bStart == j:
				aStart--
				bStart--
			default:
				emit = true
			}
			if aStart == 0 || bStart == 0 {
				emit = true
			}
			idx, i, j = idx-1, i-1, j-1
		} else {
			if at(i-1, j) > at(i, j-1) {
				i--
			} else {
				j--
			}
			if aStart != len(a) {
				emit = true
			}
		}
		if emit {
			if minLen == 0 || int64(aEnd-aStart+1) >= minLen {
				matches = append(matches, match{aStart, aEnd, bStart, bEnd})
			}
			aStart = len(a)
		}
	}
	if !getIdx {
		c.w.bulk(result)
		return nil
	}
	c.w.mapLen(2)
	c.w.bulkString("matches")
	c.w.array(len(matches))
	for _, m := range matches {
		if withLen {
			c.w.array(3)
		} else {
			c.w.array(2)
		}
		c.w.array(2)
		c.w.integer(int64(m.a0))
		c.w.integer(int64(m.a1))
		c.w.array(2)
		c.w.integer(int64(m.b0))
		c.w.integer(int64(m.b1))
		if withLen {
			c.w.integer(int64(m.a1 - m.a0 + 1))
		}
	}
	c.w.bulkString("len")
	c.w.integer(int64(total))
	return nil
}
