package resp

import (
	"errors"
	"math"

	"github.com/dynkv/dynkv/coordinator"
)

// Expiry commands. An expiry is an absolute time in unix milliseconds,
// stored with the version it belongs to (version.Sibling.Expiry), so that
// it replicates with the value. A relative time (EX, PX, EXPIRE, …) is
// made absolute with this node's clock when the command arrives; the
// coordinator then decides, with its own clock, whether it has already
// passed (a tombstone, as Redis deletes the key). EXPIRE, PEXPIRE,
// EXPIREAT, PEXPIREAT, PERSIST and GETEX with an option write a new
// version holding the value plain reads see, with the new expiry, that
// supersedes every version the coordinator read (like SET): a concurrent
// write it did not see stays as a sibling. TTL and friends read the
// expiry of the version plain reads see.

// expireUnit says how an expire argument is given.
type expireUnit struct {
	seconds  bool // seconds, not milliseconds
	relative bool // from now, not a unix time
}

// expireAt returns the absolute expiry (unix ms) of an argument of SET,
// SETEX, PSETEX or GETEX, validated as Redis's getExpireMillisecondsOrReply
// does: positive, and no overflow.
func (s *Server) expireAt(b []byte, u expireUnit, cmd string) (int64, error) {
	n, ok := parseInt(b)
	switch {
	case !ok:
		return 0, errNotInteger
	case n <= 0 || (u.seconds && n > math.MaxInt64/1000):
		return 0, expireError(cmd)
	}
	if u.seconds {
		n *= 1000
	}
	if u.relative {
		now := s.now().UnixMilli()
		if n > math.MaxInt64-now {
			return 0, expireError(cmd)
		}
		n += now
	}
	return n, nil
}

// expireArg returns the absolute expiry (unix ms) of EXPIRE's family's
// argument, validated as Redis's expireGenericCommand does: any integer,
// negative included (a time in the past), without overflow.
func (s *Server) expireArg(b []byte, u expireUnit, cmd string) (int64, error) {
	n, ok := parseInt(b)
	if !ok {
		return 0, errNotInteger
	}
	if u.seconds {
		if n > math.MaxInt64/1000 || n < math.MinInt64/1000 {
			return 0, expireError(cmd)
		}
		n *= 1000
	}
	if u.relative {
		now := s.now().UnixMilli()
		if n > math.MaxInt64-now {
			return 0, expireError(cmd)
		}
		n += now
	}
	return n, nil
}

// expireCond parses EXPIRE's NX, XX, GT and LT as Redis 7 does, into the
// write's condition.
func expireCond(args [][]byte) (coordinator.Cond, error) {
	var nx, xx, gt, lt bool
	for _, a := range args {
		switch {
		case equalFold(a, "nx"):
			nx = true
		case equalFold(a, "xx"):
			xx = true
		case equalFold(a, "gt"):
			gt = true
		case equalFold(a, "lt"):
			lt = true
		default:
			return 0, replyErr("ERR Unsupported option " + string(a))
		}
	}
	switch {
	case nx && (xx || gt || lt):
		return 0, replyErr("ERR NX and XX, GT or LT options at the same time are not compatible")
	case gt && lt:
		return 0, replyErr("ERR GT and LT options at the same time are not compatible")
	case nx:
		return coordinator.CondNoExpiry, nil
	case gt: // GT fails on a key without expiry, so XX GT is GT
		return coordinator.CondLaterExpiry, nil
	case lt && xx:
		return coordinator.CondExpiryAfter, nil
	case lt:
		return coordinator.CondEarlierExpiry, nil
	case xx:
		return coordinator.CondHasExpiry, nil
	}
	return coordinator.CondPresent, nil
}

// expireCommand implements EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT.
func (s *Server) expireCommand(c *session, args [][]byte, u expireUnit, cmd string) error {
	cond, err := expireCond(args[3:])
	if err != nil {
		return err
	}
	at, err := s.expireArg(args[2], u, cmd)
	if err != nil {
		return err
	}
	_, _, err = s.write(c, args[1], coordinator.Write{Op: coordinator.OpExpire, Cond: cond, Expiry: at})
	return c.w.integerUnless(err)
}

func (s *Server) cmdExpire(c *session, args [][]byte) error {
	return s.expireCommand(c, args, expireUnit{seconds: true, relative: true}, "expire")
}

func (s *Server) cmdPExpire(c *session, args [][]byte) error {
	return s.expireCommand(c, args, expireUnit{relative: true}, "pexpire")
}

func (s *Server) cmdExpireAt(c *session, args [][]byte) error {
	return s.expireCommand(c, args, expireUnit{seconds: true}, "expireat")
}

func (s *Server) cmdPExpireAt(c *session, args [][]byte) error {
	return s.expireCommand(c, args, expireUnit{}, "pexpireat")
}

// cmdPersist removes the expiry of the version plain reads see.
func (s *Server) cmdPersist(c *session, args [][]byte) error {
	_, _, err := s.write(c, args[1], coordinator.Write{Op: coordinator.OpExpire, Cond: coordinator.CondHasExpiry})
	return c.w.integerUnless(err)
}

// integerUnless replies 1 for a write that happened, 0 for one whose
// condition did not hold, and returns any other error.
func (w *writer) integerUnless(err error) error {
	switch {
	case errors.Is(err, coordinator.ErrCondition):
		w.integer(0)
	case err != nil:
		return err
	default:
		w.integer(1)
	}
	return nil
}

// ttl replies with the expiry of the version plain reads see: -2 for no
// key, -1 for no expiry, else the time left (relative) or the unix time
// (absolute), in ms or rounded to seconds, as Redis's ttlGenericCommand.
func (s *Server) ttl(c *session, key []byte, ms, absolute bool) error {
	ss, err := s.backend.Get(c.ctx, key, coordinator.ReadOptions{})
	if err != nil {
		return err
	}
	w, _ := ss.Winner()
	if _, ok := ss.Value(); !ok {
		c.w.integer(-2)
		return nil
	}
	if w.Expiry == 0 {
		c.w.integer(-1)
		return nil
	}
	t := w.Expiry
	if !absolute {
		t = max(t-s.now().UnixMilli(), 0)
	}
	if !ms {
		t = (t + 500) / 1000
	}
	c.w.integer(t)
	return nil
}

func (s *Server) cmdTTL(c *session, args [][]byte) error  { return s.ttl(c, args[1], false, false) }
func (s *Server) cmdPTTL(c *session, args [][]byte) error { return s.ttl(c, args[1], true, false) }
func (s *Server) cmdExpireTime(c *session, args [][]byte) error {
	return s.ttl(c, args[1], false, true)
}
func (s *Server) cmdPExpireTime(c *session, args [][]byte) error {
	return s.ttl(c, args[1], true, true)
}

// getExOptions are GETEX's options: an expire option (kind, arg) or
// PERSIST.
type getExOptions struct {
	kind    string // "ex", "px", "exat", "pxat" or ""
	arg     []byte
	persist bool
}

// parseGetExOptions parses GETEX's options as Redis 7's
// parseExtendedStringArgumentsOrReply does for it.
func parseGetExOptions(args [][]byte) (getExOptions, error) {
	var o getExOptions
	for j := 0; j < len(args); j++ {
		a, hasNext := args[j], j+1 < len(args)
		switch k := expireKind(a); {
		case equalFold(a, "persist") && o.kind == "":
			o.persist = true
		case k != "" && !o.persist && hasNext && (o.kind == "" || o.kind == k):
			o.kind, o.arg = k, args[j+1]
			j++
		default:
			return o, errSyntax
		}
	}
	return o, nil
}

// unitOf returns the unit of an expire option of SET or GETEX.
func unitOf(kind string) expireUnit {
	return expireUnit{seconds: kind == "ex" || kind == "exat", relative: kind == "ex" || kind == "px"}
}

// cmdGetEx returns the value plain reads see and, with an option, writes
// it again with the new expiry (or none: PERSIST). As in Redis, a missing
// key replies nil before the expire time is validated.
func (s *Server) cmdGetEx(c *session, args [][]byte) error {
	o, err := parseGetExOptions(args[2:])
	if err != nil {
		return err
	}
	key := args[1]
	v, ok, err := s.get(c, key)
	if err != nil || !ok || (o.kind == "" && !o.persist) {
		if err == nil {
			c.w.bulkOrNull(v, ok)
		}
		return err
	}
	w := coordinator.Write{Op: coordinator.OpExpire, Cond: coordinator.CondPresent}
	if o.persist {
		w.Cond = coordinator.CondHasExpiry
	} else if w.Expiry, err = s.expireAt(o.arg, unitOf(o.kind), "getex"); err != nil {
		return err
	}
	old, had, err := s.write(c, key, w)
	switch {
	case errors.Is(err, coordinator.ErrCondition):
		// PERSIST of a key without expiry (or the key went away since
		// the read): nothing to write; the value read.
		c.w.bulk(v)
	case err != nil:
		return err
	default:
		c.w.bulkOrNull(old, had)
	}
	return nil
}
