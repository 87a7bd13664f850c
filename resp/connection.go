package resp

import (
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// flushThreshold is the size of buffered replies that is sent before the
// rest of the pipeline has run.
const flushThreshold = 64 << 10

// conn serves one client connection on its own goroutine: it reads every
// command the client has sent (a pipeline), runs them (single-key commands
// on different keys concurrently, see pipeline.go), then sends all their
// replies, in command order, in one write.
type conn struct {
	s       *Server
	nc      net.Conn
	sess    *session
	guard   *guard
	rd      *reader
	counted int64       // guard.passed already added to the server's stats
	closing atomic.Bool // Close asked the connection to stop

	// out is held while the connection's replies are being produced and
	// sent (a batch), and by the pusher while it sends Pub/Sub messages,
	// so that a message never lands inside a reply.
	out     sync.Mutex
	pushers sync.WaitGroup // the pusher, once the client subscribed

	// Owned by the serving goroutine (pipeline.go).
	running []*task // commands dispatched to workers and not yet collected, in command order; at most Config.PipelineWindow
	free    []*task // collected tasks kept for reuse
	pool    workers // runs the tasks; closed when the connection ends
}

func (s *Server) newConn(nc net.Conn) *conn {
	c := &conn{s: s, nc: nc}
	c.pool.s, c.pool.idleAfter = s, workerIdle
	c.sess = s.newSession(newWriter(c), nc.RemoteAddr().String(), nc.LocalAddr().String())
	c.sess.shutdown = c.shutdown
	c.sess.kill = func() { _ = nc.Close() }
	c.sess.startPush = func(q *pushQueue) {
		c.pushers.Add(1)
		go c.pusher(q) // ends with the connection (end)
	}
	c.guard = newGuard(activityReader{nc, c.sess, s.now}, s.guardLimits(), func() bool { return c.sess.authed })
	c.rd = newReader(c.guard, c.sess.mem)
	return c
}

// serve runs the connection until the client leaves, QUITs, breaks the
// protocol or the server closes. Replies are sent once the commands read
// together have run (or sooner, once they reach flushThreshold), never one
// write per command.
func (c *conn) serve() {
	defer c.s.wg.Done()
	defer c.end()
	if !c.handshake() {
		return
	}
	if c.s.denied(c.nc.RemoteAddr()) {
		c.deny()
		return
	}
	for {
		cmds, err := c.rd.ReadCommands()
		c.countInput()
		if err != nil {
			c.readFailed(err)
			return
		}
		c.sess.busy.Store(true)
		c.sess.lastActive.Store(c.s.now().UnixNano())
		c.out.Lock()
		err = c.runBatch(cmds)
		if err == nil {
			err = c.flush()
		}
		c.out.Unlock()
		if err != nil || c.sess.quit || c.closing.Load() {
			return
		}
		c.sess.lastActive.Store(c.s.now().UnixNano())
		c.sess.busy.Store(false)
	}
}

// shutdown asks the connection to stop after the commands in flight: it
// wakes a goroutine blocked reading, which then finds closing set.
func (c *conn) shutdown() {
	c.closing.Store(true)
	_ = c.nc.SetReadDeadline(time.Unix(1, 0))
}

func (c *conn) end() {
	c.pool.close() // every task has been collected: runBatch waits for them
	c.sess.cancel()
	_ = c.nc.Close()
	if q := c.sess.subs.push; q != nil {
		c.s.dropSubscriptions(c.sess)
		q.mu.Lock()
		q.closed = true
		q.mu.Unlock()
		close(q.done)
		c.pushers.Wait()
	}
	c.sess.mem.release()
	c.s.removeClient(c.sess)
}

// flush sends the buffered replies (conn.Write counts them).
func (c *conn) flush() error {
	_, err := c.sess.w.flush()
	return err
}

func (c *conn) countInput() {
	c.s.stats.netIn.Add(c.guard.passed - c.counted)
	c.counted = c.guard.passed
}

// readFailed handles the end of the input: a protocol error gets its reply
// before the connection closes; anything else just closes it.
func (c *conn) readFailed(err error) {
	var pe *protocolError
	switch {
	case errors.As(err, &pe):
	case strings.HasPrefix(err.Error(), "Protocol error: "): // redcon's reader, e.g. unbalanced quotes
		pe = &protocolError{strings.TrimPrefix(err.Error(), "Protocol error: ")}
	default:
		if !c.closing.Load() && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, os.ErrDeadlineExceeded) {
			c.s.log.Debug("client read failed", "client", c.sess.id, "err", err)
		}
		return
	}
	c.s.rlog.Log(slog.LevelDebug, "protocol error", "client", c.sess.id, "remote", c.sess.addr, "err", pe)
	c.s.stats.errorReplies.Add(1)
	c.out.Lock()
	defer c.out.Unlock()
	c.sess.w.errorReply(c.s.replyError(pe))
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	_ = c.flush()
}

// The connection commands: PING, ECHO, QUIT, SELECT, AUTH and HELLO (CLIENT
// is in client.go).

// redisVersion is the Redis version dynkv reports (INFO, HELLO): the one
// whose behaviour it follows and is tested against side by side (the
// oracle of resp/oracle_test.go), so that clients that check versions
// enable the Redis 7 commands they use. dynkv_version says what it is.
const redisVersion = "7.0.15"

// defaultUser is the only user: Redis's "default", with Config.RequirePass.
const defaultUser = "default"

func (s *Server) cmdPing(c *session, args [][]byte) error {
	if !c.w.resp3 && c.subs.any() && len(args) <= 2 {
		// RESP2's subscribed state: a pong in the shape of a message.
		c.w.array(2)
		c.w.bulkString("pong")
		if len(args) == 2 {
			c.w.bulk(args[1])
		} else {
			c.w.bulkString("")
		}
		return nil
	}
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
	if err := s.authenticate(c, user, pass); err != nil {
		return err
	}
	c.w.ok()
	return nil
}

// authenticate checks a username and password and, when they are right,
// marks the client authenticated; otherwise it returns errWrongPass and
// leaves the client as it was. It first waits as the AUTH throttle asks
// (throttle.go), or until the client's context ends, whose error it then
// returns.
func (s *Server) authenticate(c *session, user, pass []byte) error {
	if d := s.throttle.delay(c, s.now()); d > 0 {
		if err := s.sleep(c.ctx, d); err != nil {
			return err
		}
	}
	ok := string(user) == defaultUser &&
		(s.cfg.RequirePass == "" || subtle.ConstantTimeCompare(pass, []byte(s.cfg.RequirePass)) == 1)
	if !ok {
		s.throttle.failed(c, s.now())
		s.rlog.Log(slog.LevelInfo, "authentication failed", "client", c.id, "remote", c.addr, "failures_in_a_row", c.authFails)
		return errWrongPass
	}
	c.authFails = 0
	c.authed = true
	c.authDone.Store(true)
	return nil
}

// cmdHello implements HELLO [protover [AUTH username password] [SETNAME
// name]]: protocol 2 (RESP2) or 3 (RESP3), which the connection then
// speaks, once the authentication and the name, if given, are accepted.
func (s *Server) cmdHello(c *session, args [][]byte) error {
	next, ver := 1, int64(0)
	if len(args) >= 2 {
		var ok bool
		ver, ok = parseInt(args[1])
		switch {
		case !ok:
			return errHelloVersion
		case ver != 2 && ver != 3:
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
	if hasAuth {
		if err := s.authenticate(c, user, pass); err != nil {
			return err
		}
	}
	if !c.authed {
		return errHelloNoAuth
	}
	if hasName {
		c.setName(string(name))
	}
	if ver != 0 {
		c.w.resp3 = ver == 3
		c.proto3.Store(c.w.resp3)
	}
	s.writeHello(c)
	return nil
}

// writeHello writes HELLO's map (flattened to an array in RESP2).
func (s *Server) writeHello(c *session) {
	proto := 2
	if c.w.resp3 {
		proto = 3
	}
	c.w.mapLen(7)
	c.w.bulkString("server")
	c.w.bulkString("redis")
	c.w.bulkString("version")
	c.w.bulkString(redisVersion)
	c.w.bulkString("proto")
	c.w.integer(int64(proto))
	c.w.bulkString("id")
	c.w.integer(c.id)
	c.w.bulkString("mode")
	c.w.bulkString("standalone")
	c.w.bulkString("role")
	c.w.bulkString("master")
	c.w.bulkString("modules")
	c.w.array(0)
}
