package resp

import (
	"crypto/subtle"
	"math"
)

// redisVersion is the Redis version dynkv reports (INFO, HELLO), so that
// clients that check versions enable the Redis 7 commands they use.
const redisVersion = "7.2.0"

// defaultUser is the only user: Redis's "default", with Config.RequirePass.
const defaultUser = "default"

func (s *Server) cmdPing(c *session, args [][]byte) error {
	switch len(args) {
	case 1:
		c.w.status("PONG")
	case 2:
		c.w.bulk(args[1])
	default:
		return arityError("ping")
	}
	return nil
}

func (s *Server) cmdEcho(c *session, args [][]byte) error {
	c.w.bulk(args[1])
	return nil
}

// cmdQuit replies OK; the connection closes once the reply is sent and runs
// no further command of the pipeline, as in Redis.
func (s *Server) cmdQuit(c *session, _ [][]byte) error {
	c.w.ok()
	c.quit = true
	return nil
}

// cmdSelect accepts database 0 only: dynkv has one keyspace.
func (s *Server) cmdSelect(c *session, args [][]byte) error {
	n, ok := parseInt(args[1])
	switch {
	case !ok:
		return errNotInteger
	case n < math.MinInt32 || n > math.MaxInt32:
		return errIntRange
	case n != 0:
		return errDBIndex
	}
	c.w.ok()
	return nil
}

// cmdAuth implements AUTH password and AUTH username password, with Redis's
// replies: the only user is "default", whose password is
// Config.RequirePass (any password when it is empty, as Redis's nopass).
func (s *Server) cmdAuth(c *session, args [][]byte) error {
	var user, pass []byte
	switch len(args) {
	case 2:
		if s.cfg.RequirePass == "" {
			return errNoPassConfigured
		}
		user, pass = []byte(defaultUser), args[1]
	case 3:
		user, pass = args[1], args[2]
	default:
		return errSyntax
	}
	if !s.authenticate(c, user, pass) {
		return errWrongPass
	}
	c.w.ok()
	return nil
}

// authenticate checks a username and password and, when they are right,
// marks the client authenticated. A failure leaves the client as it was.
func (s *Server) authenticate(c *session, user, pass []byte) bool {
	ok := string(user) == defaultUser &&
		(s.cfg.RequirePass == "" || subtle.ConstantTimeCompare(pass, []byte(s.cfg.RequirePass)) == 1)
	if !ok {
		s.log.Info("authentication failed", "client", c.id, "remote", c.addr)
		return false
	}
	c.authed = true
	return true
}

// cmdHello implements HELLO [protover [AUTH username password] [SETNAME
// name]]. Only RESP2 is spoken: "HELLO 3" is refused with NOPROTO, on which
// clients such as go-redis v9 fall back to RESP2 (and AUTH).
func (s *Server) cmdHello(c *session, args [][]byte) error {
	next := 1
	if len(args) >= 2 {
		ver, ok := parseInt(args[1])
		switch {
		case !ok:
			return errHelloVersion
		case ver == 3:
			return errNoProto3
		case ver != 2:
			return errNoProto
		}
		next = 2
	}
	var user, pass, name []byte
	var hasAuth, hasName bool
	for j := next; j < len(args); j++ {
		more := len(args) - 1 - j
		switch {
		case equalFold(args[j], "auth") && more >= 2:
			user, pass, hasAuth = args[j+1], args[j+2], true
			j += 2
		case equalFold(args[j], "setname") && more >= 1:
			if !validAttr(args[j+1]) {
				return errClientName
			}
			name, hasName = args[j+1], true
			j++
		default:
			return replyErr("ERR Syntax error in HELLO option '" + string(args[j]) + "'")
		}
	}
	if hasAuth && !s.authenticate(c, user, pass) {
		return errWrongPass
	}
	if !c.authed {
		return errHelloNoAuth
	}
	if hasName {
		c.setName(string(name))
	}
	s.writeHello(c)
	return nil
}

// writeHello writes HELLO's map, flattened to an array as RESP2 does.
func (s *Server) writeHello(c *session) {
	c.w.array(14)
	c.w.bulkString("server")
	c.w.bulkString("redis")
	c.w.bulkString("version")
	c.w.bulkString(redisVersion)
	c.w.bulkString("proto")
	c.w.integer(2)
	c.w.bulkString("id")
	c.w.integer(c.id)
	c.w.bulkString("mode")
	c.w.bulkString("standalone")
	c.w.bulkString("role")
	c.w.bulkString("master")
	c.w.bulkString("modules")
	c.w.array(0)
}
