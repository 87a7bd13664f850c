package resp

import (
	"bytes"

	"github.com/tidwall/redcon"
)

// maxIdleTaskBuffer is the largest reply buffer a finished task keeps for
// reuse: a connection keeps up to Config.PipelineWindow of them.
const maxIdleTaskBuffer = 4 << 10

// A pipeline's commands overlap where Redis's semantics allow it: a plain
// single-key data command (the table's concurrent flag, with exactly one
// key) runs on a goroutine of its own (a worker), after every earlier command of the
// connection on the same key has finished, and at the same time as the
// commands on other keys. Every other command is a barrier: it runs on the
// connection's goroutine once everything before it has finished, and nothing
// after it starts before it has. Replies are written in command order
// whatever order the commands finish in.
//
// Commands read together (one reader.ReadCommands) form a batch; a
// batch has finished, and every goroutine it started has ended, before the
// connection reads again or ends.

// task is one command of a pipeline that runs on a worker (workers.go).
type task struct {
	args  [][]byte
	key   []byte
	after chan struct{} // closed when the previous command on key has finished; nil if none was running
	done  chan struct{} // closed once the command has finished and its reply is in sess.w
	sess  *session      // the client's id, context and accounting, with the task's own writer
	held  int64         // bytes of the reply accounted as the client's output until collected
}

// exec runs the task's command once the previous one on its key has
// finished. The worker running it closes done afterwards.
func (t *task) exec(s *Server) {
	if t.after != nil {
		<-t.after
	}
	s.exec(t.sess, t.args)
	if m := t.sess.mem; m != nil {
		t.held = int64(t.sess.w.buffered())
		m.addFinished(t.held)
	}
}

// runBatch runs cmds, read together, and writes their replies to the
// session's writer in command order, flushing it whenever it holds
// flushThreshold bytes. It returns the flush's error; it stops after QUIT.
// Every goroutine it starts has ended when it returns.
func (c *conn) runBatch(cmds []redcon.Command) error {
	defer c.abandon()
	for _, cmd := range cmds {
		if cc, key := c.concurrent(cmd.Args, len(cmds)); cc != nil {
			if window := c.s.cfg.PipelineWindow; len(c.running) >= window {
				if err := c.collect(window - 1); err != nil {
					return err
				}
			}
			c.start(cc, cmd.Args, key)
			continue
		}
		if err := c.collect(0); err != nil {
			return err
		}
		c.s.exec(c.sess, cmd.Args)
		if c.sess.quit {
			return nil
		}
		if err := c.flushIfFull(); err != nil {
			return err
		}
	}
	return c.collect(0)
}

// concurrent returns the command args invokes and its key if it may run on
// its own goroutine, else nil. A batch of one command runs on the
// connection's goroutine: nothing could overlap it; so does every command
// with a window of 1.
func (c *conn) concurrent(args [][]byte, batch int) (*command, []byte) {
	if batch < 2 || c.s.cfg.PipelineWindow < 2 || !c.sess.authed || c.sess.tx.multi || c.sess.subs.any() {
		return nil, nil // before AUTH, exec replies NOAUTH
	}
	return c.s.table.concurrentKey(args)
}

// concurrentKey returns the command args invokes and its key if it is a
// concurrent command (see command.concurrent) naming exactly one key with a
// valid arity, else nil.
func (t *table) concurrentKey(args [][]byte) (*command, []byte) {
	cmd := t.lookup(args[0])
	if cmd == nil || !cmd.concurrent || !cmd.arityOK(len(args)) || cmd.keys.count(len(args)) != 1 {
		return nil, nil
	}
	return cmd, args[cmd.keys.first]
}

// start runs the command cmd (args) on one of the connection's workers,
// after the last running command on the same key.
func (c *conn) start(cmd *command, args [][]byte, key []byte) {
	t := c.newTask()
	t.args, t.key, t.after = args, key, nil
	t.sess.w.resp3 = c.sess.w.resp3 // the protocol HELLO chose
	for i := len(c.running) - 1; i >= 0; i-- {
		if bytes.Equal(c.running[i].key, t.key) {
			t.after = c.running[i].done
			break
		}
	}
	t.done = make(chan struct{})
	c.running = append(c.running, t)
	c.sess.lastCmd.Store(cmd) // for CLIENT LIST
	c.pool.dispatch(t)
}

// collect waits for the oldest running commands, in order, and writes their
// replies until at most n are running.
func (c *conn) collect(n int) error {
	for len(c.running) > n {
		t := c.running[0]
		<-t.done
		c.sess.w.appendFrom(t.sess.w)
		c.sess.mem.addFinished(-t.held)
		c.running = append(c.running[:0], c.running[1:]...)
		c.freeTask(t)
		if err := c.flushIfFull(); err != nil {
			return err
		}
	}
	return nil
}

// abandon waits for the commands still running, discarding their replies.
func (c *conn) abandon() {
	for _, t := range c.running {
		<-t.done
		c.sess.mem.addFinished(-t.held)
		c.freeTask(t)
	}
	c.running = c.running[:0]
}

func (c *conn) flushIfFull() error {
	if c.sess.w.buffered() < flushThreshold { // bound the memory a pipeline of large replies holds
		return nil
	}
	return c.flush()
}

// newTask returns a task to reuse, or a new one whose session stands for
// the connection's: same id, addresses and context, already authenticated
// (only an authenticated client's commands run concurrently), its own writer.
func (c *conn) newTask() *task {
	if n := len(c.free); n > 0 {
		t := c.free[n-1]
		c.free = c.free[:n-1]
		return t
	}
	cs := c.sess
	return &task{sess: &session{
		id: cs.id, ctx: cs.ctx, w: newWriter(nil), mem: cs.mem,
		addr: cs.addr, laddr: cs.laddr, created: cs.created, authed: true,
	}}
}

func (c *conn) freeTask(t *task) {
	t.args, t.key, t.after, t.done, t.held = nil, nil, nil, nil, 0
	if cap(t.sess.w.b) > maxIdleTaskBuffer {
		t.sess.w.b = nil
	}
	t.sess.w.release()
	c.free = append(c.free, t)
}
