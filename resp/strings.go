package resp

import (
	"errors"
	"math"
	"slices"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/replica"
)

// Plain Redis string commands. Reads return the deterministic
// last-writer-wins pick of the key's siblings (replica.Siblings.Value);
// writes supersede every version the coordinator holds for the key. A
// read-modify-write decides inside Write.Value, under the key's lock on the
// coordinating node.

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

// set writes value to key, superseding every version, if cond (when not
// nil) accepts the current value; otherwise it writes nothing and returns
// errNotSet. It returns the value plain reads saw before.
func (s *Server) set(c *session, key, value []byte, cond func(old []byte, had bool) bool) (old []byte, had bool, err error) {
	_, err = s.backend.Put(c.ctx, key, coordinator.Write{Supersede: true, Value: func(cur replica.Siblings) ([]byte, bool, error) {
		old, had = cur.Value()
		if cond != nil && !cond(old, had) {
			return nil, false, errNotSet
		}
		return value, false, nil
	}})
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
	ttl         bool // EX, PX, EXAT, PXAT or KEEPTTL: not supported yet
}

// parseSetOptions parses SET's options as Redis 7 does, including its
// validation of expire times, so that the errors match Redis's; a TTL that
// Redis would accept is then refused with errTTL.
func parseSetOptions(args [][]byte) (setOptions, error) {
	var o setOptions
	var expire []byte // the argument of the expire option
	var kind string   // the expire option given: "ex", "px", "exat" or "pxat"
	var keepTTL bool
	for j := 0; j < len(args); j++ {
		a, hasNext := args[j], j+1 < len(args)
		switch k := expireKind(a); {
		case equalFold(a, "nx") && !o.xx:
			o.nx = true
		case equalFold(a, "xx") && !o.nx:
			o.xx = true
		case equalFold(a, "get"):
			o.get = true
		case equalFold(a, "keepttl") && kind == "":
			keepTTL = true
		case k != "" && !keepTTL && hasNext && (kind == "" || kind == k):
			expire, kind = args[j+1], k
			j++
		default:
			return o, errSyntax
		}
	}
	if kind != "" {
		if err := checkExpire(expire, kind == "ex" || kind == "exat", "set"); err != nil {
			return o, err
		}
	}
	o.ttl = kind != "" || keepTTL
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

// checkExpire validates an expire time as Redis does before using it.
func checkExpire(b []byte, seconds bool, cmd string) error {
	n, ok := parseInt(b)
	switch {
	case !ok:
		return errNotInteger
	case n <= 0 || (seconds && n > math.MaxInt64/1000):
		return expireError(cmd)
	}
	return nil
}

// cmdSet implements SET key value [NX|XX] [GET]. A TTL option is refused
// with errTTL after Redis's own validation.
func (s *Server) cmdSet(c *session, args [][]byte) error {
	o, err := parseSetOptions(args[3:])
	if err != nil {
		return err
	}
	if o.ttl {
		return errTTL
	}
	var cond func([]byte, bool) bool
	switch {
	case o.nx:
		cond = func(_ []byte, had bool) bool { return !had }
	case o.xx:
		cond = func(_ []byte, had bool) bool { return had }
	}
	old, had, err := s.set(c, args[1], args[2], cond)
	switch {
	case err != nil && !errors.Is(err, errNotSet):
		return err
	case o.get:
		c.w.bulkOrNull(old, had)
	case err != nil: // NX or XX did not hold
		c.w.null()
	default:
		c.w.ok()
	}
	return nil
}

func (s *Server) cmdSetNX(c *session, args [][]byte) error {
	_, _, err := s.set(c, args[1], args[2], func(_ []byte, had bool) bool { return !had })
	switch {
	case errors.Is(err, errNotSet):
		c.w.integer(0)
	case err != nil:
		return err
	default:
		c.w.integer(1)
	}
	return nil
}

// cmdSetEx validates SETEX as Redis does, then refuses the TTL.
func (s *Server) cmdSetEx(_ *session, args [][]byte) error {
	if err := checkExpire(args[2], true, "setex"); err != nil {
		return err
	}
	return errTTL
}

// cmdPSetEx validates PSETEX as Redis does, then refuses the TTL.
func (s *Server) cmdPSetEx(_ *session, args [][]byte) error {
	if err := checkExpire(args[2], false, "psetex"); err != nil {
		return err
	}
	return errTTL
}

func (s *Server) cmdGetSet(c *session, args [][]byte) error {
	old, had, err := s.set(c, args[1], args[2], nil)
	if err != nil {
		return err
	}
	c.w.bulkOrNull(old, had)
	return nil
}

func (s *Server) cmdMGet(c *session, args [][]byte) error {
	c.w.array(len(args) - 1)
	for _, key := range args[1:] {
		v, ok, err := s.get(c, key)
		if err != nil {
			return err
		}
		c.w.bulkOrNull(v, ok)
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
		if _, _, err := s.set(c, args[j], args[j+1], nil); err != nil {
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
// version with the result. The result may not exceed Config.MaxValueSize.
func (s *Server) cmdAppend(c *session, args [][]byte) error {
	var n int
	_, err := s.backend.Put(c.ctx, args[1], coordinator.Write{Supersede: true, Value: func(cur replica.Siblings) ([]byte, bool, error) {
		old, _ := cur.Value()
		if int64(len(old))+int64(len(args[2])) > s.cfg.MaxValueSize {
			return nil, false, errStringTooLong
		}
		v := append(slices.Clip(old), args[2]...) // never writes into old: its capacity is clipped
		n = len(v)
		return v, false, nil
	}})
	if err != nil {
		return err
	}
	c.w.integer(int64(n))
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
		var had bool
		_, err := s.backend.Put(c.ctx, key, coordinator.Write{Supersede: true, Value: func(cur replica.Siblings) ([]byte, bool, error) {
			if len(cur.Live()) == 0 {
				return nil, false, errNoop
			}
			_, had = cur.Value()
			return nil, true, nil
		}})
		switch {
		case errors.Is(err, errNoop):
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
