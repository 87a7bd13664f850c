package resp

import (
	"errors"

	"github.com/dynkv/dynkv/coordinator"
)

// Plain Redis string commands. Reads return the deterministic
// last-writer-wins pick of the key's siblings (version.Siblings.Value);
// writes supersede every version the coordinator holds for the key. Writes
// are data (coordinator.Write's Op, Data, Cond and MaxSize), which the
// coordinator evaluates under the key's lock on the coordinating node, so a
// read-modify-write (SET NX, APPEND, DEL) is atomic there, and which a node
// outside the key's home nodes can forward to one. Expiries are in
// expire.go. The one exception is SET NX GET, which must report the value that made it fail: it uses a
// Write.Value function, which the coordinator runs itself.

// get returns the value plain reads see, counting hits and misses.
func (s *Server) get(c *session, key []byte) ([]byte, bool, error) {
	ss, err := s.backend.Get(c.ctx, key, coordinator.ReadOptions{})
	if err != nil {
		return nil, false, err
	}
	v, ok := ss.Value()
	if ok {
		s.stats.hits.Add(1)
	} else {
		s.stats.misses.Add(1)
	}
	return v, ok, nil
}

// write performs a plain data write that supersedes every version of key.
// It returns the value plain reads saw before; a Cond that does not hold
// returns coordinator.ErrCondition and writes nothing.
func (s *Server) write(c *session, key []byte, w coordinator.Write) (old []byte, had bool, err error) {
	w.Supersede, w.Context = c.contextFor(key)
	prev, err := s.backend.Put(c.ctx, key, w)
	if err != nil {
		return nil, false, err
	}
	old, had = prev.Value()
	return old, had, nil
}

// setIfAbsentGet is SET NX GET: it writes value if key has no value, and
// returns the value it had either way (Put returns the versions it found
// with ErrCondition too, also when the write was forwarded).
func (s *Server) setIfAbsentGet(c *session, key []byte, w coordinator.Write) (old []byte, had bool, err error) {
	w.Supersede, w.Cond = true, coordinator.CondAbsent
	prev, err := s.backend.Put(c.ctx, key, w)
	if err != nil && !errors.Is(err, coordinator.ErrCondition) {
		return nil, false, err
	}
	old, had = prev.Value()
	return old, had, err
}

func (s *Server) cmdGet(c *session, args [][]byte) error {
	v, ok, err := s.get(c, args[1])
	if err != nil {
		return err
	}
	c.w.bulkOrNull(v, ok)
	return nil
}

// setOptions are the options of SET.
type setOptions struct {
	nx, xx, get bool
	keepTTL     bool
	kind        string // the expire option given: "ex", "px", "exat", "pxat" or ""
	expire      []byte // its argument
}

// parseSetOptions parses SET's options as Redis 7 does; the expire time
// is validated by expireAt, after the syntax, as in Redis.
func parseSetOptions(args [][]byte) (setOptions, error) {
	var o setOptions
	for j := 0; j < len(args); j++ {
		a, hasNext := args[j], j+1 < len(args)
		switch k := expireKind(a); {
		case equalFold(a, "nx") && !o.xx:
			o.nx = true
		case equalFold(a, "xx") && !o.nx:
			o.xx = true
		case equalFold(a, "get"):
			o.get = true
		case equalFold(a, "keepttl") && o.kind == "":
			o.keepTTL = true
		case k != "" && !o.keepTTL && hasNext && (o.kind == "" || o.kind == k):
			o.expire, o.kind = args[j+1], k
			j++
		default:
			return o, errSyntax
		}
	}
	return o, nil
}

// expireKind returns which expire option a is, lowercase, or "".
func expireKind(a []byte) string {
	for _, k := range []string{"ex", "px", "exat", "pxat"} {
		if equalFold(a, k) {
			return k
		}
	}
	return ""
}

// cmdSet implements SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL].
// An expiry already passed (EXAT, PXAT) deletes the key, as in Redis.
func (s *Server) cmdSet(c *session, args [][]byte) error {
	o, err := parseSetOptions(args[3:])
	if err != nil {
		return err
	}
	var expiry int64
	if o.kind != "" {
		if expiry, err = s.expireAt(o.expire, unitOf(o.kind), "set"); err != nil {
			return err
		}
	}
	var (
		old      []byte
		had      bool
		notSet   bool
		key, val = args[1], args[2]
		w        = coordinator.Write{Data: val, Expiry: expiry, KeepTTL: o.keepTTL}
	)
	switch {
	case o.nx && o.get:
		old, had, err = s.setIfAbsentGet(c, key, w)
	case o.nx:
		w.Cond = coordinator.CondAbsent
		_, _, err = s.write(c, key, w)
	case o.xx:
		w.Cond = coordinator.CondPresent
		old, had, err = s.write(c, key, w)
	default:
		old, had, err = s.write(c, key, w)
	}
	if errors.Is(err, coordinator.ErrCondition) {
		notSet, err = true, nil // XX failed: there was no value; NX GET: old is set
	}
	switch {
	case err != nil:
		return err
	case o.get:
		c.w.bulkOrNull(old, had)
	case notSet:
		c.w.null()
	default:
		c.w.ok()
	}
	return nil
}

func (s *Server) cmdSetNX(c *session, args [][]byte) error {
	_, _, err := s.write(c, args[1], coordinator.Write{Data: args[2], Cond: coordinator.CondAbsent})
	switch {
	case errors.Is(err, coordinator.ErrCondition):
		c.w.integer(0)
	case err != nil:
		return err
	default:
		c.w.integer(1)
	}
	return nil
}

// cmdSetEx implements SETEX key seconds value.
func (s *Server) cmdSetEx(c *session, args [][]byte) error {
	return s.setExpiring(c, args, expireUnit{seconds: true, relative: true}, "setex")
}

// cmdPSetEx implements PSETEX key milliseconds value.
func (s *Server) cmdPSetEx(c *session, args [][]byte) error {
	return s.setExpiring(c, args, expireUnit{relative: true}, "psetex")
}

func (s *Server) setExpiring(c *session, args [][]byte, u expireUnit, cmd string) error {
	expiry, err := s.expireAt(args[2], u, cmd)
	if err != nil {
		return err
	}
	if _, _, err := s.write(c, args[1], coordinator.Write{Data: args[3], Expiry: expiry}); err != nil {
		return err
	}
	c.w.ok()
	return nil
}

func (s *Server) cmdGetSet(c *session, args [][]byte) error {
	old, had, err := s.write(c, args[1], coordinator.Write{Data: args[2]})
	if err != nil {
		return err
	}
	c.w.bulkOrNull(old, had)
	return nil
}

// cmdMGet streams its reply: each value is written (and sent once the
// buffer is full, see writer.streamBulk) before the next key is read, so
// that a client holds at most one value and the buffer however many keys
// it names. A read that fails before any of the reply has been sent fails
// the command, as in Redis; once part of it has left, the failed key's
// element is the error reply (as EXEC does for a failed command), so that
// the reply stays well formed. A client that cannot take the reply (its
// socket failed, or it went over its output limits) stops it.
func (s *Server) cmdMGet(c *session, args [][]byte) error {
	mark := c.w.mark()
	c.w.array(len(args) - 1)
	for _, key := range args[1:] {
		v, ok, err := s.get(c, key)
		if err != nil {
			if !c.w.sentSince(mark) {
				return err
			}
			s.stats.errorReplies.Add(1)
			c.w.errorReply(s.replyError(err))
			continue
		}
		if c.w.streamBulk(v, ok) != nil {
			return nil // the writer keeps the error: the connection ends at its next flush
		}
	}
	return nil
}

// cmdMSet sets the keys one after another. It is not atomic across keys: a
// failure part way leaves the keys before it written, and a concurrent
// reader may see some keys set and not others.
func (s *Server) cmdMSet(c *session, args [][]byte) error {
	if len(args)%2 == 0 {
		return arityError("mset")
	}
	for j := 1; j < len(args); j += 2 {
		if _, _, err := s.write(c, args[j], coordinator.Write{Data: args[j+1]}); err != nil {
			return err
		}
	}
	c.w.ok()
	return nil
}

func (s *Server) cmdStrlen(c *session, args [][]byte) error {
	v, _, err := s.get(c, args[1])
	if err != nil {
		return err
	}
	c.w.integer(int64(len(v)))
	return nil
}

// cmdAppend appends to the value plain reads see and supersedes every
// version with the result, which may not exceed Config.MaxValueSize. The
// value keeps its expiry, as in Redis.
func (s *Server) cmdAppend(c *session, args [][]byte) error {
	old, _, err := s.write(c, args[1], coordinator.Write{Op: coordinator.OpAppend, Data: args[2], MaxSize: s.cfg.MaxValueSize, KeepTTL: true})
	if err != nil {
		return err
	}
	c.w.integer(int64(len(old) + len(args[2])))
	return nil
}

// cmdDel deletes each key with a tombstone that supersedes every version.
// A key counts as deleted if plain reads saw a value. A key with no live
// version is left alone (nothing is written); a key whose winner is a
// tombstone but that still has live siblings is cleaned up without
// counting. UNLINK is the same command.
func (s *Server) cmdDel(c *session, args [][]byte) error {
	var n int64
	for _, key := range args[1:] {
		_, had, err := s.write(c, key, coordinator.Write{Op: coordinator.OpDelete, Cond: coordinator.CondAnyValue})
		switch {
		case errors.Is(err, coordinator.ErrCondition):
		case err != nil:
			return err
		case had:
			n++
		}
	}
	c.w.integer(n)
	return nil
}

// cmdExists counts the keys that plain reads see a value for; a key given
// twice counts twice, as in Redis.
func (s *Server) cmdExists(c *session, args [][]byte) error {
	var n int64
	for _, key := range args[1:] {
		_, ok, err := s.get(c, key)
		if err != nil {
			return err
		}
		if ok {
			n++
		}
	}
	c.w.integer(n)
	return nil
}
