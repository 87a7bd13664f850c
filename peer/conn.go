package peer

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"runtime/debug"
	"sync"
)

// clientConn is an outgoing peer connection: Calls register a reply
// channel under a fresh request id and queue their request; the reader
// hands each response to the channel of its id.
type clientConn struct {
	wire
	t    *TCP
	node string
	recv *sealer // opens the responses; used by readLoop only

	mu struct {
		sync.Mutex
		next    uint64                // the last request id handed out
		pending map[uint64]chan frame // request id → its Call's reply channel (buffered 1)
	}
}

func newClientConn(t *TCP, nc net.Conn, node string, s session) *clientConn {
	c := &clientConn{wire: newWire(nc, s.send, t.log), t: t, node: node, recv: s.recv}
	c.mu.pending = map[uint64]chan frame{}
	return c
}

// call sends req and waits for its response, ctx or the connection's
// failure.
func (c *clientConn) call(ctx context.Context, req []byte) ([]byte, error) {
	ch := replyPool.Get().(chan frame)
	c.mu.Lock()
	c.mu.next++
	id := c.mu.next
	c.mu.pending[id] = ch
	c.mu.Unlock()
	// The copy lets Call return on ctx while the frame is still queued.
	f := pooledCopy(id, req)
	if err := c.send(ctx.Done(), f); err != nil {
		f.release() // never queued
		c.drop(id)
		return nil, c.callErr(ctx, err)
	}
	select {
	case f := <-ch:
		replyPool.Put(ch)
		return c.reply(f)
	case <-ctx.Done():
		c.drop(id)
		return nil, c.callErr(ctx, errCtxDone)
	case <-c.done:
		select {
		case f := <-ch:
			replyPool.Put(ch)
			return c.reply(f)
		default:
		}
		c.drop(id)
		return nil, c.callErr(ctx, c.err)
	}
}

// replyPool recycles reply channels. A channel goes back only once its
// reply has been received: the reader, which removed it from pending
// before sending, holds no reference then. A Call that gives up drops its
// channel, since a late reply may still arrive in it.
var replyPool = sync.Pool{New: func() any { return make(chan frame, 1) }}

// drop forgets the reply channel of a Call that gave up; a late response
// for id is discarded.
func (c *clientConn) drop(id uint64) {
	c.mu.Lock()
	delete(c.mu.pending, id)
	c.mu.Unlock()
}

func (c *clientConn) reply(f frame) ([]byte, error) {
	switch f.status {
	case frameTooLarge:
		return nil, fmt.Errorf("peer: call %s: response: %w", c.node, ErrFrameTooLarge)
	case frameFailed:
		return nil, fmt.Errorf("peer: call %s: handler failed: %w", c.node, ErrRemote)
	}
	if f.payload == nil {
		f.payload = []byte{}
	}
	return f.payload, nil
}

func (c *clientConn) callErr(ctx context.Context, err error) error {
	switch err {
	case errCtxDone:
		return fmt.Errorf("peer: call %s: %w", c.node, ctx.Err())
	case ErrClosed:
		return fmt.Errorf("peer: call %s: %w", c.node, ErrClosed)
	}
	return fmt.Errorf("peer: call %s: %w: %w", c.node, ErrUnreachable, err)
}

// readLoop delivers responses until the connection fails, then makes the
// transport forget the connection.
func (c *clientConn) readLoop() {
	defer c.t.forget(c)
	br := bufio.NewReaderSize(c.nc, wireBuffer)
	var hdr [frameHeader]byte
	lim := c.t.recvLimit(&c.wire)
	for {
		f, err := readFrame(br, &hdr, c.t.cfg.MaxFrame, c.recv, false, lim)
		if err != nil {
			c.fail(fmt.Errorf("peer: peer read: %w", err))
			c.logEnd(&c.t.logBadFrame, c.err, "node", c.node)
			return
		}
		c.mu.Lock()
		ch, ok := c.mu.pending[f.id]
		delete(c.mu.pending, f.id)
		c.mu.Unlock()
		if ok {
			ch <- f // never blocks: buffered, and ids are not reused
		}
	}
}

// recvLimit returns the limits of w's reader.
func (t *TCP) recvLimit(w *wire) *recvLimit {
	return &recvLimit{budget: t.recv, done: w.done, nc: w.nc, timeout: t.cfg.FrameTimeout}
}

// serverConn is an accepted peer connection: its reader starts a handler
// goroutine per request, and the handlers queue their responses to the
// connection's writer.
type serverConn struct {
	wire
	t      *TCP
	node   string             // the peer's node id, proven by the handshake
	recv   *sealer            // opens the requests; used by readLoop only
	ctx    context.Context    // the handlers'; ends when the connection or the transport closes
	cancel context.CancelFunc // cancels ctx
}

func newServerConn(t *TCP, nc net.Conn, node string, s session) *serverConn {
	c := &serverConn{wire: newWire(nc, s.send, t.log), t: t, node: node, recv: s.recv}
	c.ctx, c.cancel = context.WithCancel(t.lifetime)
	return c
}

// readLoop hands each request to a handler until the connection fails.
func (c *serverConn) readLoop() {
	defer c.cancel()
	br := bufio.NewReaderSize(c.nc, wireBuffer)
	var hdr [frameHeader]byte
	lim := c.t.recvLimit(&c.wire)
	for {
		f, err := readFrame(br, &hdr, c.t.cfg.MaxFrame, c.recv, true, lim)
		if err != nil {
			c.fail(fmt.Errorf("peer: peer read: %w", err))
			c.logEnd(&c.t.logBadFrame, c.err, "node", c.node)
			return
		}
		c.t.dispatch(c, f)
	}
}

// handle answers one request. A response is dropped if the connection
// fails first.
func (c *serverConn) handle(req frame) {
	resp := frame{id: req.id}
	resp.payload, resp.status = c.run(req.payload)
	if len(resp.payload) > c.t.cfg.MaxFrame {
		if ok, n := c.t.logTooLarge.allow(); ok {
			c.log.Warn("peer response exceeds max frame size", "node", c.node, "bytes", len(resp.payload), "max", c.t.cfg.MaxFrame, "suppressed", n)
		}
		resp.payload, resp.status = nil, frameTooLarge
	}
	_ = c.send(nil, resp)
}

// run calls the handler, turning a panic into frameFailed.
func (c *serverConn) run(req []byte) (resp []byte, status byte) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("peer handler panicked", "node", c.node, "panic", r, "stack", string(debug.Stack()))
			resp, status = nil, frameFailed
		}
	}()
	return c.t.handler(c.ctx, req), frameOK
}
