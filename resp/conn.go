package resp

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tidwall/redcon"
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
	rd      *redcon.Reader
	counted int64       // guard.passed already added to the server's stats
	closing atomic.Bool // Close asked the connection to stop

	// Owned by the serving goroutine (pipeline.go).
	running []*task // commands dispatched to workers and not yet collected, in command order; at most Config.PipelineWindow
	free    []*task // collected tasks kept for reuse
	pool    workers // runs the tasks; closed when the connection ends
}

func (s *Server) newConn(nc net.Conn) *conn {
	c := &conn{s: s, nc: nc}
	c.pool.s, c.pool.idleAfter = s, workerIdle
	c.sess = s.newSession(newWriter(nc), nc.RemoteAddr().String(), nc.LocalAddr().String())
	c.sess.shutdown = c.shutdown
	c.sess.kill = func() { _ = nc.Close() }
	c.guard = newGuard(nc, s.guardLimits(), func() bool { return c.sess.authed })
	c.rd = redcon.NewReader(c.guard)
	return c
}

// serve runs the connection until the client leaves, QUITs, breaks the
// protocol or the server closes. Replies are sent once the commands read
// together have run (or sooner, once they reach flushThreshold), never one
// write per command.
func (c *conn) serve() {
	defer c.s.wg.Done()
	defer c.end()
	for {
		cmds, err := c.rd.ReadCommands()
		c.countInput()
		if err != nil {
			c.readFailed(err)
			return
		}
		c.sess.lastActive.Store(c.s.now().UnixNano())
		if err := c.runBatch(cmds); err != nil {
			return
		}
		if err := c.flush(); err != nil || c.sess.quit || c.closing.Load() {
			return
		}
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
	c.s.removeClient(c.sess)
}

func (c *conn) flush() error {
	n, err := c.sess.w.flush()
	c.s.stats.netOut.Add(int64(n))
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
	c.s.log.Debug("protocol error", "client", c.sess.id, "remote", c.sess.addr, "err", pe)
	c.s.stats.errorReplies.Add(1)
	c.sess.w.errorReply(c.s.replyError(pe))
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	_ = c.flush()
}
