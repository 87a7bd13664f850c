package resp

import (
	"bytes"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/version"
)

// Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH, with Redis 7's
// replies. Commands between MULTI and EXEC are checked (name, arity, key
// size, authentication) and queued; one that fails a check is refused at
// once and makes EXEC answer EXECABORT. EXEC runs the queued commands in
// order, one after another, on the connection, and replies with the array
// of their replies (an error inside it is that command's own).
//
// What holds and what does not (the keys live on different nodes, and
// dynkv keeps no locks): the effects happen in the order queued, and each
// command is as atomic as it is alone (a read-modify-write runs under its
// key's lock on the coordinating node); other clients may see some of a
// transaction's writes before the others, and their writes may come in
// between. WATCH is optimistic, not a lock: it records the version context
// each watched key has; EXEC aborts (a null reply, nothing run) if any of
// them has another context by then, and otherwise the transaction's writes
// of a watched key supersede only the versions WATCH saw, so a write that
// raced in after the check becomes a sibling of the transaction's instead
// of being lost.

const (
	errMultiNested  replyErr = "ERR MULTI calls can not be nested"
	errExecNoMulti  replyErr = "ERR EXEC without MULTI"
	errDiscardNo    replyErr = "ERR DISCARD without MULTI"
	errWatchInMulti replyErr = "ERR WATCH inside MULTI is not allowed"
	errExecAbort    replyErr = "EXECABORT Transaction discarded because of previous errors."
)

// txState is a client's transaction: what MULTI queued and WATCH recorded.
// Owned by the goroutine that runs the client's commands.
type txState struct {
	multi   bool       // between MULTI and EXEC or DISCARD
	dirty   bool       // a queued command was refused: EXEC aborts
	queued  [][][]byte // the commands, copied
	watched []watch    // in WATCH order, one per key
	// running is set while EXEC runs the queue: writes of a watched key
	// carry its context (see contextFor).
	running bool
}

// watch is one watched key and the context it had at WATCH.
type watch struct {
	key []byte
	ctx version.VV
}

// txControl reports whether cmd runs even between MULTI and EXEC instead of
// being queued, as in Redis.
func txControl(cmd *command) bool {
	switch cmd.name {
	case "exec", "discard", "multi", "watch", "unwatch", "quit":
		return true
	}
	return false
}

// queue adds a command to the transaction (copying its arguments, which may
// point into the connection's read buffer) and replies QUEUED.
func (c *session) queue(args [][]byte) {
	cp := make([][]byte, len(args))
	for i, a := range args {
		cp[i] = bytes.Clone(a)
	}
	c.tx.queued = append(c.tx.queued, cp)
	c.w.status("QUEUED")
}

// reset ends the transaction and forgets the watched keys.
func (c *session) resetTx() { c.tx = txState{} }

func (s *Server) cmdMulti(c *session, _ [][]byte) error {
	if c.tx.multi {
		return errMultiNested
	}
	c.tx.multi = true
	c.w.ok()
	return nil
}

func (s *Server) cmdDiscard(c *session, _ [][]byte) error {
	if !c.tx.multi {
		return errDiscardNo
	}
	c.resetTx()
	c.w.ok()
	return nil
}

func (s *Server) cmdWatch(c *session, args [][]byte) error {
	if c.tx.multi {
		return errWatchInMulti
	}
	for _, key := range args[1:] {
		if c.watching(key) {
			continue
		}
		ss, err := s.backend.Get(c.ctx, key, coordinator.ReadOptions{})
		if err != nil {
			return err
		}
		c.tx.watched = append(c.tx.watched, watch{key: bytes.Clone(key), ctx: ss.Context()})
	}
	c.w.ok()
	return nil
}

func (c *session) watching(key []byte) bool {
	for _, w := range c.tx.watched {
		if bytes.Equal(w.key, key) {
			return true
		}
	}
	return false
}

func (s *Server) cmdUnwatch(c *session, _ [][]byte) error {
	c.tx.watched = nil
	c.w.ok()
	return nil
}

// cmdExec runs the queued commands, unless a queued command was refused
// (EXECABORT) or a watched key changed (a null reply).
func (s *Server) cmdExec(c *session, _ [][]byte) error {
	if !c.tx.multi {
		return errExecNoMulti
	}
	tx := c.tx
	c.resetTx()
	if tx.dirty {
		return errExecAbort
	}
	for _, w := range tx.watched {
		ss, err := s.backend.Get(c.ctx, w.key, coordinator.ReadOptions{})
		if err != nil {
			return err
		}
		if ss.Context().Compare(w.ctx) != version.Equal {
			c.w.nullArray()
			return nil
		}
	}
	c.tx.watched, c.tx.running = tx.watched, true
	defer c.resetTx()
	c.w.array(len(tx.queued))
	for _, args := range tx.queued {
		s.exec(c, args)
		if c.quit {
			break
		}
	}
	return nil
}

// contextFor returns how a plain write of key by c supersedes: every
// version the coordinator holds, except while EXEC runs a transaction that
// watched key, when only the versions WATCH saw.
func (c *session) contextFor(key []byte) (supersede bool, ctx version.VV) {
	if c.tx.running {
		for _, w := range c.tx.watched {
			if bytes.Equal(w.key, key) {
				return false, w.ctx
			}
		}
	}
	return true, nil
}
