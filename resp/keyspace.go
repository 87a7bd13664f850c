package resp

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strconv"

	"github.com/dynkv/dynkv/coordinator"
)

// The keyspace commands: SCAN, KEYS, DBSIZE and RANDOMKEY walk the whole
// cluster from this node (coordinator.Coordinator.Scan), TYPE and TOUCH
// read keys, RENAME, RENAMENX and COPY read one key and write another, and
// FLUSHALL and FLUSHDB delete every key (coordinator.Coordinator.Flush).

const (
	errInvalidCursor replyErr = "ERR invalid cursor"
	errNoSuchKey     replyErr = "ERR no such key"
	errSameObject    replyErr = "ERR source and destination objects are the same"
	errKeysTooLarge  replyErr = "ERR KEYS reply too large (more than 64 MiB of keys); use SCAN"
)

// maxKeysReply bounds the bytes of keys one KEYS reply collects. RESP2
// needs an array's length before its elements, so KEYS holds the keys it
// found until the walk ends; beyond this, it fails rather than grow
// without bound (SCAN has no such limit).
const maxKeysReply = 64 << 20

// walkBatch is the COUNT of each step of KEYS, DBSIZE and RANDOMKEY's walks.
const walkBatch = 1024

// parseCursor parses a SCAN cursor as Redis's strtoul-based parser does:
// decimal digits with an optional sign ('-' wraps around), no leading
// space, no trailing bytes, within 64 bits; the empty string is 0.
func parseCursor(b []byte) (uint64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg, b = b[0] == '-', b[1:]
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	if neg {
		v = -v
	}
	return v, true
}

// scanOptions are SCAN's MATCH, COUNT and TYPE.
type scanOptions struct {
	match []byte // nil: every key
	count int
	typ   []byte // nil: every type
}

// parseScanOptions parses SCAN's options as Redis 7.0 does.
func parseScanOptions(args [][]byte) (scanOptions, error) {
	o := scanOptions{count: 10}
	for i := 0; i < len(args); i += 2 {
		if i+1 >= len(args) {
			return o, errSyntax
		}
		switch v := args[i+1]; {
		case equalFold(args[i], "count"):
			n, ok := parseInt(v)
			if !ok {
				return o, errNotInteger
			}
			if n < 1 {
				return o, errSyntax
			}
			o.count = int(min(n, 1<<20))
		case equalFold(args[i], "match"):
			o.match = v
			if len(v) == 1 && v[0] == '*' {
				o.match = nil
			}
		case equalFold(args[i], "type"):
			o.typ = v
		default:
			return o, errSyntax
		}
	}
	return o, nil
}

// wants reports whether a live key passes the options' filters. Every key
// is a string today.
func (o scanOptions) wants(key []byte) bool {
	if o.typ != nil && !equalFold(o.typ, "string") {
		return false
	}
	return o.match == nil || globMatch(o.match, key)
}

func (s *Server) cmdScan(c *session, args [][]byte) error {
	cursor, ok := parseCursor(args[1])
	if !ok {
		return errInvalidCursor
	}
	o, err := parseScanOptions(args[2:])
	if err != nil {
		return err
	}
	recs, next, err := s.backend.Scan(c.ctx, cursor, o.count)
	if err != nil {
		return err
	}
	var keys [][]byte
	for _, r := range recs {
		if o.wants(r.Key) {
			keys = append(keys, r.Key)
		}
	}
	c.w.array(2)
	c.w.bulkString(strconv.FormatUint(next, 10))
	c.w.array(len(keys))
	for _, k := range keys {
		c.w.bulk(k)
	}
	return nil
}

// walk calls visit with every live key of the cluster, batch by batch,
// until visit returns false or an error.
func (s *Server) walk(c *session, visit func(recs []coordinator.Record) (bool, error)) error {
	var cursor uint64
	for {
		recs, next, err := s.backend.Scan(c.ctx, cursor, walkBatch)
		if err != nil {
			return err
		}
		if more, err := visit(recs); err != nil || !more {
			return err
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

func (s *Server) cmdKeys(c *session, args [][]byte) error {
	match := args[1]
	if len(match) == 1 && match[0] == '*' {
		match = nil
	}
	var keys [][]byte
	size := 0
	err := s.walk(c, func(recs []coordinator.Record) (bool, error) {
		for _, r := range recs {
			if match != nil && !globMatch(match, r.Key) {
				continue
			}
			if size += len(r.Key) + 16; size > maxKeysReply {
				return false, errKeysTooLarge
			}
			keys = append(keys, r.Key)
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	c.w.array(len(keys))
	for _, k := range keys {
		c.w.bulk(k)
	}
	return nil
}

// cmdDBSize counts the live keys of the whole cluster with one walk (see
// docs/design.md, Keyspace, for how exact it is).
func (s *Server) cmdDBSize(c *session, _ [][]byte) error {
	var n int64
	err := s.walk(c, func(recs []coordinator.Record) (bool, error) {
		n += int64(len(recs))
		return true, nil
	})
	if err != nil {
		return err
	}
	c.w.integer(n)
	return nil
}

// cmdRandomKey walks from a random position to the first batch holding a
// key and returns one of its keys, wrapping around once.
func (s *Server) cmdRandomKey(c *session, _ [][]byte) error {
	start := rand.Uint64()
	for _, from := range []uint64{start, 0} {
		cursor := from
		for {
			recs, next, err := s.backend.Scan(c.ctx, cursor, 16)
			if err != nil {
				return err
			}
			if len(recs) > 0 {
				c.w.bulk(recs[rand.IntN(len(recs))].Key)
				return nil
			}
			if next == 0 || (from == 0 && next >= start) {
				break
			}
			cursor = next
		}
	}
	c.w.null()
	return nil
}

func (s *Server) cmdType(c *session, args [][]byte) error {
	_, ok, err := s.get(c, args[1])
	switch {
	case err != nil:
		return err
	case ok:
		c.w.status("string")
	default:
		c.w.status("none")
	}
	return nil
}

// cmdRename is RENAME and RENAMENX: read the source, write its value to
// the destination (NX: only if absent), then delete the source with a
// tombstone covering exactly the versions read (dated early: a write to
// the source after the read survives and wins plain reads). Not atomic
// across the two keys: a reader may see both keys in between. If the
// destination write fails, the source is untouched; if the delete fails,
// both keys hold the value. The source's value is never lost.
func (s *Server) cmdRename(c *session, args [][]byte) error {
	nx := equalFold(args[0], "renamenx")
	src, dst := args[1], args[2]
	ss, err := s.backend.Get(c.ctx, src, coordinator.ReadOptions{})
	if err != nil {
		return err
	}
	v, ok := ss.Value()
	if !ok {
		return errNoSuchKey
	}
	if bytes.Equal(src, dst) {
		if nx {
			c.w.integer(0)
		} else {
			c.w.ok()
		}
		return nil
	}
	win, _ := ss.Winner()
	w := coordinator.Write{Supersede: true, Data: v, Expiry: win.Expiry} // the expiry goes along, as in Redis
	if nx {
		w.Cond = coordinator.CondAbsent
	}
	if _, err := s.backend.Put(c.ctx, dst, w); err != nil {
		if nx && errors.Is(err, coordinator.ErrCondition) {
			c.w.integer(0)
			return nil
		}
		return err
	}
	del := coordinator.Write{Op: coordinator.OpDelete, Context: ss.Context(), Timestamp: coordinator.EarliestTimestamp}
	if _, err := s.backend.Put(c.ctx, src, del); err != nil {
		return err
	}
	if nx {
		c.w.integer(1)
	} else {
		c.w.ok()
	}
	return nil
}

// cmdCopy is COPY source destination [DB 0] [REPLACE]: read the source,
// write its value to the destination (unless REPLACE, only if absent).
func (s *Server) cmdCopy(c *session, args [][]byte) error {
	replace := false
	for i := 3; i < len(args); i++ {
		switch {
		case equalFold(args[i], "replace"):
			replace = true
		case equalFold(args[i], "db") && i+1 < len(args):
			n, ok := parseInt(args[i+1])
			switch {
			case !ok:
				return errNotInteger
			case n < -1<<31 || n >= 1<<31:
				return errNotInteger
			case n != 0:
				return errDBIndex
			}
			i++
		default:
			return errSyntax
		}
	}
	src, dst := args[1], args[2]
	if bytes.Equal(src, dst) {
		return errSameObject
	}
	ss, err := s.backend.Get(c.ctx, src, coordinator.ReadOptions{})
	if err != nil {
		return err
	}
	v, ok := ss.Value()
	if !ok {
		c.w.integer(0)
		return nil
	}
	win, _ := ss.Winner()
	w := coordinator.Write{Supersede: true, Data: v, Expiry: win.Expiry} // the expiry is copied, as in Redis
	if !replace {
		w.Cond = coordinator.CondAbsent
	}
	if _, err := s.backend.Put(c.ctx, dst, w); err != nil {
		if errors.Is(err, coordinator.ErrCondition) {
			c.w.integer(0)
			return nil
		}
		return err
	}
	c.w.integer(1)
	return nil
}

// cmdTouch counts the keys that exist, as EXISTS (dynkv keeps no access
// times).
func (s *Server) cmdTouch(c *session, args [][]byte) error { return s.cmdExists(c, args) }

// cmdFlushAll is FLUSHALL and FLUSHDB [ASYNC|SYNC]: delete every key of
// the cluster (coordinator.Coordinator.Flush). SYNC, the default, replies
// once every key is deleted; ASYNC at once.
func (s *Server) cmdFlushAll(c *session, args [][]byte) error {
	async := false
	switch {
	case len(args) > 2:
		return errSyntax
	case len(args) == 2 && equalFold(args[1], "async"):
		async = true
	case len(args) == 2 && !equalFold(args[1], "sync"):
		return errSyntax
	}
	if async {
		s.backend.FlushAsync()
		c.w.ok()
		return nil
	}
	if _, err := s.backend.Flush(c.ctx); err != nil {
		return err
	}
	c.w.ok()
	return nil
}
