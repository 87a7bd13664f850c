package peer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// The TCP peer transport. Peer traffic is what sinks clustered stores on
// small machines, so a TCP keeps one long-lived connection per peer node,
// dialled on the first Call and redialled after a failure; concurrent Calls
// share it, multiplexed by request id (frame.go), and each connection
// has a single writer that sends every frame queued so far in one write
// syscall. The accepting side runs every request in its own goroutine (a
// handler may wait for an fsync) and answers through the same kind of
// coalescing writer. Both ends authenticate with the cluster secret before
// any frame (handshake.go).

// Config configures a TCP transport.
type Config struct {
	// Listen is the address Listen binds for peer traffic, host:port.
	// Default "127.0.0.1:16379".
	Listen string
	// Secret is the cluster secret both ends of a connection prove they
	// hold; every node of a cluster must have the same. Default empty.
	// NB: an empty secret still runs the handshake, but anyone can pass it:
	// it authenticates nothing.
	Secret string
	// AcceptedSecret, during a rotation of the cluster secret, is a second
	// secret: this node accepts peers that prove either, and proves it to a
	// peer that refuses Secret. Empty outside a rotation.
	AcceptedSecret string
	// DialTimeout bounds dialling a peer together with the handshake, on
	// both sides; a Call's own deadline bounds it further. Default 1s.
	DialTimeout time.Duration
	// MaxFrame is the largest request or response payload accepted, in
	// bytes; a peer sending a larger frame is disconnected. It must be the
	// same on every node. Default 65 MiB (a 64 MiB value and its versions);
	// a node derives it from its client limits (conf.Config.PeerConfig),
	// so that every record a write may leave replicates.
	MaxFrame int
	// ReceiveBuffer bounds the bytes of the frames being received, on all
	// the transport's connections together (budget.go): a reader waits
	// for room before it reads a frame's body. At least MaxFrame + 16 (a
	// sealed frame of MaxFrame). Default 2*(MaxFrame + 16).
	ReceiveBuffer int64
	// FrameTimeout bounds how long a frame's body may take to arrive once
	// its header has (and its share of ReceiveBuffer was reserved); a
	// slower peer is disconnected. Default 30s.
	FrameTimeout time.Duration
	// MaxConns bounds the accepted peer connections that passed the
	// handshake; one more is closed as soon as it passes (logged). A node
	// has one connection from each other node (two for a moment while one
	// redials). Default 256.
	MaxConns int
	// MaxHandshakes bounds the accepted connections still in the
	// handshake, which lasts at most DialTimeout; one more is closed at
	// once (logged), before anything is read from it. A quarter of them
	// (at least 1) may come from one IP address. Default 32.
	MaxHandshakes int
	// Logger receives the transport's logs; nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	c := Config{Listen: "127.0.0.1:16379", DialTimeout: time.Second, MaxFrame: 64<<20 + 1<<20,
		FrameTimeout: 30 * time.Second, MaxConns: 256, MaxHandshakes: 32}
	c.ReceiveBuffer = c.MinReceiveBuffer() * 2
	return c
}

// MinReceiveBuffer returns the least ReceiveBuffer that lets a frame of
// MaxFrame through: its payload and the seal's tag.
func (c Config) MinReceiveBuffer() int64 { return int64(c.MaxFrame) + sealOverhead }

// Validate reports the first invalid field.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("peer: peer.listen: %q is not host:port: %w", c.Listen, err)
	}
	if c.DialTimeout <= 0 {
		return fmt.Errorf("peer: peer.dial-timeout: must be positive, not %v", c.DialTimeout)
	}
	if c.MaxFrame <= 0 || int64(c.MaxFrame) > math.MaxUint32 {
		return fmt.Errorf("peer: peer.max-frame: %d is not between 1 and %d bytes", c.MaxFrame, int64(math.MaxUint32))
	}
	switch {
	case c.ReceiveBuffer < c.MinReceiveBuffer():
		return fmt.Errorf("peer: peer.receive-buffer: must be at least the peer frame limit and its seal (%d bytes), got %d", c.MinReceiveBuffer(), c.ReceiveBuffer)
	case c.FrameTimeout <= 0:
		return fmt.Errorf("peer: peer.frame-timeout: must be positive, not %v", c.FrameTimeout)
	case c.MaxConns < 1:
		return fmt.Errorf("peer: peer.max-connections: must be at least 1, got %d", c.MaxConns)
	case c.MaxHandshakes < 1:
		return fmt.Errorf("peer: peer.max-handshakes: must be at least 1, got %d", c.MaxHandshakes)
	}
	return nil
}

// ErrFrameTooLarge is returned by Call for a request, or a response, larger
// than Config.MaxFrame.
var ErrFrameTooLarge = errors.New("peer: peer frame too large")

// TCP is the peer transport over TCP: a Transport for calling other nodes
// and a server for their calls to this one. Create it with NewTCP, serve
// with Listen or Serve, stop it with Close. All methods are safe for
// concurrent use.
type TCP struct {
	cfg     Config
	self    string
	resolve func(node string) (addr string, ok bool)
	handler Handler
	log     *slog.Logger
	recv    *budget // the receive budget of every connection (budget.go)

	// The logs a stranger or a peer can trigger, one line a second each.
	logRefused, logHandshake, logBadFrame, logTooLarge logLimit

	lifetime context.Context    // parent of handler contexts and dials; cancelled by Close
	cancel   context.CancelFunc // cancels lifetime
	wg       sync.WaitGroup     // every goroutine started, and every Serve; Add only under mu while open
	// work hands a request to an idle handler goroutine (handlers.go);
	// unbuffered, so a send succeeds only when one is waiting.
	work     chan handleJob
	handlers atomic.Int64 // handler goroutines started, for tests

	mu struct {
		sync.Mutex
		closed         bool
		listeners      []net.Listener
		peers          map[string]*peer         // outgoing connection (or its dial) by node
		inbound        map[*serverConn]struct{} // accepted connections past the handshake; at most MaxConns
		handshaking    int                      // accepted connections in the handshake; at most MaxHandshakes
		handshakesFrom map[string]int           // of those, by remote IP; each at most perSource()
	}
}

var _ Transport = (*TCP)(nil)

// peer is the outgoing connection to one node, or the dial that makes it.
type peer struct {
	ready chan struct{} // closed when the dial has finished
	c     *clientConn   // the connection; set under TCP.mu before ready is closed, nil if the dial failed
	err   error         // why the dial failed; set before ready is closed
	retry bool          // the dial failed only because its caller's ctx ended; waiters try again
}

// NewTCP returns a transport for node self (at most 255 bytes). resolve
// maps a node id to its peer address (host:port); it is called on the
// calling goroutine before every dial, so it must be safe for concurrent
// use and not block. handler answers the requests of other nodes (a
// Mux's Serve): it runs on a handler goroutine (handlers.go), owns req, and
// hands its result to the transport, which must be the only user of it
// afterwards. It should return once its ctx is done: the ctx ends when the
// connection or the transport closes, and Close waits for the handler.
func NewTCP(cfg Config, self string, resolve func(node string) (addr string, ok bool),
	handler Handler) (*TCP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(self) > maxNodeID {
		return nil, fmt.Errorf("peer: node id of %d bytes is longer than %d", len(self), maxNodeID)
	}
	if resolve == nil || handler == nil {
		return nil, errors.New("peer: tcp transport needs a resolver and a handler")
	}
	t := &TCP{cfg: cfg, self: self, resolve: resolve, handler: handler, log: log(cfg.Logger), recv: newBudget(cfg.ReceiveBuffer),
		work: make(chan handleJob)}
	for _, l := range []*logLimit{&t.logRefused, &t.logHandshake, &t.logBadFrame, &t.logTooLarge} {
		l.interval = time.Second
	}
	t.lifetime, t.cancel = context.WithCancel(context.Background())
	t.mu.peers = map[string]*peer{}
	t.mu.inbound = map[*serverConn]struct{}{}
	t.mu.handshakesFrom = map[string]int{}
	return t, nil
}

// Listen binds Config.Listen and serves it on a goroutine of the
// transport until Close. It returns once the address is bound.
func (t *TCP) Listen() error {
	ln, err := net.Listen("tcp", t.cfg.Listen)
	if err != nil {
		return fmt.Errorf("peer: peer listen %s: %w", t.cfg.Listen, err)
	}
	if err := t.addListener(ln); err != nil {
		return err
	}
	go func() { // owned by t.wg, added by addListener
		defer t.wg.Done()
		if err := t.acceptLoop(ln); !errors.Is(err, ErrClosed) {
			t.log.Error("peer listener failed", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return nil
}

// Serve accepts peer connections on ln until Close, then returns ErrClosed;
// it returns another error only if ln fails for good. It takes ownership of
// ln and closes it. It may be called for several listeners at once.
func (t *TCP) Serve(ln net.Listener) error {
	if err := t.addListener(ln); err != nil {
		return err
	}
	defer t.wg.Done()
	return t.acceptLoop(ln)
}

// addListener records ln for Addr and Close and adds its accept loop to
// t.wg, or closes ln and returns ErrClosed after Close.
func (t *TCP) addListener(ln net.Listener) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mu.closed {
		_ = ln.Close()
		return ErrClosed
	}
	t.mu.listeners = append(t.mu.listeners, ln)
	t.wg.Add(1)
	if t.cfg.Secret == "" {
		t.log.Warn("peer traffic is not authenticated: cluster.secret is empty", "addr", ln.Addr().String())
	}
	t.log.Info("serving peers", "addr", ln.Addr().String())
	return nil
}

func (t *TCP) acceptLoop(ln net.Listener) error {
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if t.closing() {
				return ErrClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("peer: peer accept: %w", err)
			}
			// Temporary (out of file descriptors): back off like net/http.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			t.log.Warn("peer accept failed", "err", err, "retry_in", backoff)
			timer := time.NewTimer(backoff)
			select {
			case <-timer.C:
			case <-t.lifetime.Done():
				timer.Stop()
				return ErrClosed
			}
			continue
		}
		backoff = 0
		t.mu.Lock()
		if t.mu.closed {
			t.mu.Unlock()
			_ = nc.Close()
			return ErrClosed
		}
		src := sourceIP(nc)
		switch {
		case t.mu.handshaking >= t.cfg.MaxHandshakes:
			t.mu.Unlock()
			_ = nc.Close()
			t.refused(nc, "handshakes", t.cfg.MaxHandshakes)
			continue
		case t.mu.handshakesFrom[src] >= t.perSource():
			t.mu.Unlock()
			_ = nc.Close()
			t.refused(nc, "handshakes from one address", t.perSource())
			continue
		}
		t.mu.handshaking++
		t.mu.handshakesFrom[src]++
		t.wg.Go(func() { t.serveConn(nc, src) })
		t.mu.Unlock()
	}
}

// Addr returns the address of the first listener, or nil before Listen or
// Serve.
func (t *TCP) Addr() net.Addr {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.mu.listeners) == 0 {
		return nil
	}
	return t.mu.listeners[0].Addr()
}

// Call sends req to node and returns its response, over the connection to
// node (dialled if there is none). It blocks until the response arrives,
// ctx is done (ctx's error), the node cannot be reached or the connection
// breaks (ErrUnreachable; also ErrPeerAuth when the handshake failed), or
// the transport closes (ErrClosed). A request whose connection breaks may
// or may not have been served. Call does not retain req; the response is
// the caller's.
func (t *TCP) Call(ctx context.Context, node string, req []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("peer: call %s: %w", node, err)
	}
	if len(req) > t.cfg.MaxFrame {
		return nil, fmt.Errorf("peer: call %s: request of %d bytes: %w", node, len(req), ErrFrameTooLarge)
	}
	c, err := t.connect(ctx, node)
	if err != nil {
		return nil, err
	}
	return c.call(ctx, req)
}

// connect returns the connection to node, dialling it if there is none.
// Concurrent callers share one dial.
func (t *TCP) connect(ctx context.Context, node string) (*clientConn, error) {
	for {
		t.mu.Lock()
		if t.mu.closed {
			t.mu.Unlock()
			return nil, fmt.Errorf("peer: call %s: %w", node, ErrClosed)
		}
		p := t.mu.peers[node]
		if p != nil && p.c != nil && p.c.failed() != nil {
			p = nil // its reader has yet to forget it
		}
		if p == nil {
			p = &peer{ready: make(chan struct{})}
			t.mu.peers[node] = p
			t.mu.Unlock()
			t.dial(ctx, node, p)
			return p.c, p.err
		}
		t.mu.Unlock()
		select {
		case <-p.ready:
		case <-ctx.Done():
			return nil, fmt.Errorf("peer: call %s: %w", node, ctx.Err())
		}
		if !p.retry {
			return p.c, p.err
		}
	}
}

// dial connects and authenticates to node, under ctx's deadline and
// DialTimeout, and completes p. On failure it forgets p so that the next
// Call dials again.
func (t *TCP) dial(ctx context.Context, node string, p *peer) {
	c, err := t.open(ctx, node)
	t.mu.Lock()
	switch {
	case err == nil && t.mu.closed:
		_ = c.nc.Close()
		err = fmt.Errorf("peer: call %s: %w", node, ErrClosed)
	case err == nil:
		p.c = c
		t.wg.Go(c.writeLoop)
		t.wg.Go(c.readLoop)
	}
	if err != nil {
		p.err = err
		p.retry = ctx.Err() != nil && !t.mu.closed
		delete(t.mu.peers, node)
	}
	t.mu.Unlock()
	close(p.ready)
	if err != nil && !p.retry {
		t.log.Debug("peer dial failed", "node", node, "err", err)
	}
}

// open dials node and runs the client handshake.
func (t *TCP) open(ctx context.Context, node string) (*clientConn, error) {
	addr, ok := t.resolve(node)
	if !ok {
		return nil, fmt.Errorf("peer: call %s: %w: %w: no address", node, ErrUnreachable, ErrNotSent)
	}
	dctx, cancel := context.WithTimeout(ctx, t.cfg.DialTimeout)
	defer cancel()
	stop := context.AfterFunc(t.lifetime, cancel)
	defer stop()
	d := net.Dialer{LocalAddr: sourceAddr(t.cfg.Listen)}
	nc, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, t.dialErr(ctx, node, err)
	}
	first, second := t.cfg.Secret, t.cfg.AcceptedSecret
	var sess session
	err = handshake(dctx, nc, func() (err error) {
		sess, err = clientHandshake(nc, first, t.self, node)
		return err
	})
	if errors.Is(err, errRejected) && second != "" {
		// A rotation under way: the peer may hold only the other secret.
		_ = nc.Close()
		if nc, err = d.DialContext(dctx, "tcp", addr); err != nil {
			return nil, t.dialErr(ctx, node, err)
		}
		err = handshake(dctx, nc, func() (err error) {
			sess, err = clientHandshake(nc, second, t.self, node)
			return err
		})
	}
	if err != nil {
		_ = nc.Close()
		var ve *VersionError
		switch {
		case errors.As(err, &ve):
			t.log.Error("peer speaks another protocol version", "node", node, "addr", addr, "err", err)
		case errors.Is(err, ErrPeerAuth):
			t.log.Warn("peer authentication failed", "node", node, "addr", addr, "err", err)
		}
		return nil, t.dialErr(ctx, node, err)
	}
	return newClientConn(t, nc, node, sess), nil
}

// dialErr is the error of a failed dial: ErrClosed once the transport
// closed, ctx's error if the caller's ctx ended, ErrUnreachable otherwise.
func (t *TCP) dialErr(ctx context.Context, node string, err error) error {
	switch {
	case t.closing():
		return fmt.Errorf("peer: call %s: %w", node, ErrClosed)
	case ctx.Err() != nil:
		return fmt.Errorf("peer: call %s: %w", node, ctx.Err())
	default: // ErrPeerAuth among others
		return fmt.Errorf("peer: call %s: %w: %w: %w", node, ErrUnreachable, ErrNotSent, err)
	}
}

// handshake runs fn on nc under ctx: ctx's deadline becomes nc's, and ctx
// ending aborts fn's I/O. It clears the deadline after.
func handshake(ctx context.Context, nc net.Conn, fn func() error) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	err := fn()
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = nc.SetDeadline(time.Time{})
	}
	return err
}

// serveConn authenticates an accepted connection and serves its requests
// until it breaks or the transport closes.
func (t *TCP) serveConn(nc net.Conn, src string) {
	hctx, cancel := context.WithTimeout(t.lifetime, t.cfg.DialTimeout)
	var node string
	var sess session
	err := handshake(hctx, nc, func() (err error) {
		node, sess, err = serverHandshake(nc, t.self, t.cfg.Secret, t.cfg.AcceptedSecret)
		return err
	})
	cancel()
	if err != nil {
		t.mu.Lock()
		t.endHandshakeLocked(src)
		t.mu.Unlock()
		_ = nc.Close()
		t.logHandshakeFailed(nc, node, err)
		return
	}
	c := newServerConn(t, nc, node, sess)
	t.mu.Lock()
	t.endHandshakeLocked(src)
	if t.mu.closed {
		t.mu.Unlock()
		c.fail(ErrClosed)
		c.cancel()
		return
	}
	if len(t.mu.inbound) >= t.cfg.MaxConns {
		t.mu.Unlock()
		c.fail(errTooManyConns)
		c.cancel()
		t.refused(nc, "connections", t.cfg.MaxConns)
		return
	}
	t.mu.inbound[c] = struct{}{}
	t.wg.Go(c.writeLoop)
	t.mu.Unlock()
	c.readLoop()
	t.mu.Lock()
	delete(t.mu.inbound, c)
	t.mu.Unlock()
}

// perSource bounds the connections in the handshake from one IP address:
// a quarter of MaxHandshakes (at least 1), so that one host cannot take
// every slot from the nodes that redial. Nodes sharing a host (dynkv dev)
// dial from one address, but one connection each.
func (t *TCP) perSource() int { return max(1, t.cfg.MaxHandshakes/4) }

// sourceIP returns the IP address nc comes from, the whole address if it
// has no port.
func sourceIP(nc net.Conn) string {
	a := nc.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(a); err == nil {
		return host
	}
	return a
}

// endHandshakeLocked counts a connection from src out of the handshake.
// REQUIRES: t.mu held.
func (t *TCP) endHandshakeLocked(src string) {
	t.mu.handshaking--
	if t.mu.handshakesFrom[src]--; t.mu.handshakesFrom[src] == 0 {
		delete(t.mu.handshakesFrom, src)
	}
}

// errTooManyConns is why a connection past MaxConns was closed.
var errTooManyConns = errors.New("peer: too many peer connections")

// refused logs, at a bounded rate, a connection closed because of limit
// (Config.MaxConns or MaxHandshakes, named by what).
func (t *TCP) refused(nc net.Conn, what string, limit int) {
	if ok, n := t.logRefused.allow(); ok {
		t.log.Warn("peer connection refused: limit reached", "remote", nc.RemoteAddr().String(),
			"limit", what, "max", limit, "suppressed", n)
	}
}

// logHandshakeFailed logs why an accepted connection failed its
// handshake: anyone who reaches the port can cause it, so at a bounded
// rate, the lines held back counted in the next.
func (t *TCP) logHandshakeFailed(nc net.Conn, node string, err error) {
	var ve *VersionError
	bad := errors.As(err, &ve) || errors.Is(err, ErrPeerAuth) || errors.Is(err, errHandshake)
	if !bad {
		t.log.Debug("peer handshake failed", "remote", nc.RemoteAddr().String(), "node", node, "err", err)
		return
	}
	ok, n := t.logHandshake.allow()
	switch {
	case !ok:
	case ve != nil:
		t.log.Error("peer speaks another protocol version", "remote", nc.RemoteAddr().String(), "err", err, "suppressed", n)
	default:
		t.log.Warn("peer handshake failed", "remote", nc.RemoteAddr().String(), "node", node, "err", err, "suppressed", n)
	}
}

// forget drops c as the connection to its node after it failed, so that
// the next Call dials again.
func (t *TCP) forget(c *clientConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.mu.peers[c.node]; p != nil && p.c == c {
		delete(t.mu.peers, c.node)
	}
}

// closing reports whether Close has begun.
func (t *TCP) closing() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mu.closed
}

// Close stops listening, closes every connection, fails the Calls in
// flight with ErrClosed, cancels the handlers' contexts and waits for every
// goroutine of the transport, handlers included. Later calls return
// ErrClosed.
func (t *TCP) Close() error {
	t.mu.Lock()
	if t.mu.closed {
		t.mu.Unlock()
		return ErrClosed
	}
	t.mu.closed = true
	listeners := t.mu.listeners
	var conns []*wire
	for _, p := range t.mu.peers {
		if p.c != nil {
			conns = append(conns, &p.c.wire)
		}
	}
	for c := range t.mu.inbound {
		conns = append(conns, &c.wire)
	}
	t.mu.Unlock()

	for _, ln := range listeners {
		_ = ln.Close()
	}
	// Connections first, so that no handler answers once Close has begun.
	for _, w := range conns {
		w.fail(ErrClosed)
	}
	t.cancel()
	t.wg.Wait()
	t.log.Info("peer transport closed", "connections", len(conns))
	return nil
}

// sourceAddr returns the address a node listening on listen dials peers
// from: its listen IP when that is a loopback address, so that nodes
// sharing a host on 127.0.0.x see (and firewall rules match) each other's
// own addresses, where the kernel would pick 127.0.0.1 for all; nil (the
// kernel's choice, which follows the routing table) for any other address,
// so that multi-homed hosts route as configured.
func sourceAddr(listen string) net.Addr {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil
	}
	return &net.TCPAddr{IP: ip}
}
