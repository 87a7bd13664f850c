package resp

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dynkv/dynkv/admin"
	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/version"
)

// Backend runs the reads and writes of keys for the commands.
// *coordinator.Coordinator implements it.
//
// Byte slices passed to the backend (keys, values in a Write) are never
// modified by the server afterwards, so the backend may keep them, for
// instance for replication or read repair that finishes in the background.
type Backend interface {
	// Get returns the merged siblings of key. It blocks until enough
	// replicas answered or ctx is done.
	Get(ctx context.Context, key []byte, opt coordinator.ReadOptions) (version.Siblings, error)
	// Put performs w on key and returns the siblings held before it. It
	// runs w.Value under the key's lock on the coordinating node and blocks
	// until enough replicas acknowledged or ctx is done.
	Put(ctx context.Context, key []byte, w coordinator.Write) (version.Siblings, error)
	// Stats returns the backend's counters without blocking.
	Stats() coordinator.Stats
	// Scan returns the live keys of the cluster from cursor on (about
	// count examined) and the cursor to continue from, 0 at the end
	// (coordinator.Coordinator.Scan).
	Scan(ctx context.Context, cursor uint64, count int) ([]coordinator.Record, uint64, error)
	// Flush deletes every key of the cluster as DEL would and returns once
	// the cluster is done (coordinator.Coordinator.Flush); FlushAsync
	// starts it and returns at once.
	Flush(ctx context.Context) (int, error)
	FlushAsync()
}

// StoreStats reports the local store's counters, for INFO.
// *replica.Store implements it.
type StoreStats interface {
	// Stats returns the store's counters without blocking on writes.
	Stats() admin.StoreStats
}

var (
	_ Backend = (*coordinator.Coordinator)(nil)
)

// Server is a RESP server: it accepts client connections and runs their
// commands against a Backend. Create one with New, run it with Serve or
// ListenAndServe and stop it with Close. All methods are safe for concurrent
// use.
type Server struct {
	cfg     Config
	backend Backend
	store   StoreStats
	admin   Admin // nil for a one-node server; set by SetAdmin before Serve
	bus     Bus   // the other nodes' subscribers; nil: this node's only (pubsub.go)
	ps      *broker
	// pushLimit is maxPushBytes; tests lower it.
	pushLimit int64
	log       *slog.Logger
	rlog      *rateLog // lines outsiders can cause, at a bounded rate
	now       func() time.Time
	table     *table
	started   time.Time
	runID     string // 40 hex digits, new for every Server, as Redis's run_id

	maxClients atomic.Int64 // Config.MaxClients, changed by CONFIG SET maxclients
	nextID     atomic.Int64 // the last client id handed out
	stats      serverStats
	mem        memLimits                // client memory limits and total (memory.go)
	base       atomic.Pointer[baseline] // backend and store counters at the last CONFIG RESETSTAT

	// Connections (sweep.go, protected.go, throttle.go, tls.go).
	idle             atomic.Int64 // Config.IdleTimeout in nanoseconds, changed by CONFIG SET timeout
	protected        atomic.Bool  // !Config.NoProtectedMode, changed by CONFIG SET protected-mode
	throttle         *authThrottle
	sleep            func(ctx context.Context, d time.Duration) error // waits for the AUTH throttle; tests replace it before Serve
	noSweeper        bool                                             // tests that move the clock call sweep themselves; set before Serve
	tls              *tls.Config                                      // of the TLS port; nil without one
	handshakeTimeout time.Duration                                    // tlsHandshakeTimeout; tests shorten it before Serve

	lifetime context.Context    // parent of every client's context
	cancel   context.CancelFunc // cancels lifetime, when Close stops waiting
	stop     chan struct{}      // closed when Close starts
	closed   chan struct{}      // closed when Close has finished
	wg       sync.WaitGroup     // one per connection goroutine

	mu struct {
		sync.Mutex
		closing   bool
		listeners []net.Listener
		clients   map[*session]struct{}
		sweeping  bool // the sweeper runs (from the first Serve)
	}
}

// serverStats are the server's own counters, reset by CONFIG RESETSTAT.
type serverStats struct {
	connections          atomic.Int64 // connections accepted, including rejected ones
	rejected             atomic.Int64 // connections refused beyond maxclients
	commands             atomic.Int64 // commands run, including failed ones
	errorReplies         atomic.Int64 // error replies sent
	netIn                atomic.Int64 // bytes read from clients
	netOut               atomic.Int64 // bytes written to clients
	hits                 atomic.Int64 // plain reads that found a value
	pushLimitDisconnects atomic.Int64 // subscribers closed for messages piling up
	misses               atomic.Int64 // plain reads that found none
}

// baseline holds counters that cannot be reset at their source.
type baseline struct {
	backend coordinator.Stats
	store   admin.StoreStats
}

// New returns a Server for cfg over backend and store. The logger log takes
// precedence over cfg.Logger; when both are nil logs are discarded. New does
// not listen: call Serve or ListenAndServe.
func New(cfg Config, backend Backend, store StoreStats, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if backend == nil || store == nil {
		return nil, errors.New("resp: new: backend and store must not be nil")
	}
	tlsCfg, err := cfg.TLS.Load()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = cfg.Logger
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := cfg.Clock
	if now == nil {
		now = time.Now
	}
	if cfg.ContextKey.IsZero() {
		cfg.ContextKey = version.RandomContextKey()
	}
	var id [20]byte
	_, _ = rand.Read(id[:])
	s := &Server{
		cfg: cfg, backend: backend, store: store, log: log, now: now,
		table: newTable(), started: now(), runID: hex.EncodeToString(id[:]),
		stop: make(chan struct{}), closed: make(chan struct{}),
	}
	s.rlog = newRateLog(log, now, logBurst, logWindow)
	s.lifetime, s.cancel = context.WithCancel(context.Background())
	s.maxClients.Store(int64(cfg.MaxClients))
	s.idle.Store(int64(cfg.IdleTimeout))
	s.protected.Store(!cfg.NoProtectedMode)
	s.throttle, s.sleep = newAuthThrottle(), sleepCtx
	s.tls, s.handshakeTimeout = tlsCfg, tlsHandshakeTimeout
	s.mem.set(cfg)
	s.base.Store(&baseline{})
	s.mu.clients = map[*session]struct{}{}
	s.ps, s.pushLimit = newBroker(), maxPushBytes
	return s, nil
}

// ListenAndServe listens on Config.Listen and serves it until Close, like
// Serve.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("resp: listen %s: %w", s.cfg.Listen, err)
	}
	return s.Serve(ln)
}

// Serve accepts connections on ln and serves each on its own goroutine. It
// blocks until Close, then returns ErrClosed; it returns another error only
// if ln fails for good. Serve takes ownership of ln and closes it. It may
// be called for several listeners at once.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.mu.closing {
		s.mu.Unlock()
		_ = ln.Close()
		return ErrClosed
	}
	s.mu.listeners = append(s.mu.listeners, ln)
	if !s.mu.sweeping && !s.noSweeper {
		s.mu.sweeping = true
		s.wg.Add(1)
		go s.runSweeper()
	}
	s.mu.Unlock()
	s.warnIfExposed(ln.Addr())
	s.log.Info("serving", "addr", ln.Addr().String())
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.stopping() {
				return ErrClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("resp: accept: %w", err)
			}
			// Temporary (out of file descriptors, aborted handshake):
			// back off like net/http.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed", "err", err, "retry_in", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-s.stop:
				t.Stop()
				return ErrClosed
			}
			continue
		}
		backoff = 0
		s.accept(nc)
	}
}

// Addr returns the address of the first listener Serve was given, or nil
// before Serve (or ListenAndServe) has started listening.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.mu.listeners) == 0 {
		return nil
	}
	return s.mu.listeners[0].Addr()
}

// Close shuts the server down gracefully: it stops accepting connections,
// lets every command in flight finish and its reply reach the client, then
// closes every connection. If ctx ends first, Close cancels the commands
// still running (their contexts), closes the connections at once, waits for
// their goroutines and returns ctx's error. Close is idempotent: later calls
// wait for the first to finish (or for their own ctx) and return ErrClosed.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.mu.closing {
		s.mu.Unlock()
		select {
		case <-s.closed:
		case <-ctx.Done():
		}
		return ErrClosed
	}
	s.mu.closing = true
	close(s.stop)
	listeners := s.mu.listeners
	clients := s.clientsLocked()
	s.mu.Unlock()

	for _, ln := range listeners {
		_ = ln.Close()
	}
	for _, c := range clients {
		if c.shutdown != nil {
			c.shutdown()
		}
	}
	done := make(chan struct{})
	go func() { // owned by Close, which waits for it below
		s.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		s.cancel()
		for _, c := range clients {
			if c.kill != nil {
				c.kill()
			}
		}
		<-done
	}
	s.cancel()
	close(s.closed)
	s.log.Info("server closed", "clients", len(clients))
	return err
}

func (s *Server) stopping() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// warnIfExposed logs when the server listens beyond loopback with no
// password: in protected mode only loopback clients are served; without
// it anyone who can reach it can read and write every key.
func (s *Server) warnIfExposed(addr net.Addr) {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || tcp.IP.IsLoopback() || s.cfg.RequirePass != "" {
		return
	}
	if s.protected.Load() {
		s.log.Warn("listening on a non-loopback address without requirepass: protected mode refuses every client not on loopback; set requirepass to serve them",
			"addr", addr.String())
		return
	}
	s.log.Warn("listening on a non-loopback address without requirepass and with protected mode off: anyone who can reach it can read and write every key; set requirepass or bind to 127.0.0.1",
		"addr", addr.String())
}

// accept admits a new connection, or refuses it beyond maxclients.
func (s *Server) accept(nc net.Conn) {
	s.stats.connections.Add(1)
	s.mu.Lock()
	if s.mu.closing {
		s.mu.Unlock()
		_ = nc.Close()
		return
	}
	if int64(len(s.mu.clients)) >= s.maxClients.Load() {
		s.mu.Unlock()
		s.stats.rejected.Add(1)
		s.reject(nc)
		return
	}
	c := s.newConn(nc)
	s.mu.clients[c.sess] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go c.serve()
}

// reject tells a client over maxclients so, as Redis does, and closes it.
// A TLS client is closed without a reply, as in Redis: the reply would
// need a handshake first, on the goroutine that accepts connections.
func (s *Server) reject(nc net.Conn) {
	s.rlog.Log(slog.LevelInfo, "max number of clients reached", "remote", nc.RemoteAddr().String(), "maxclients", s.maxClients.Load())
	if _, ok := nc.(*tls.Conn); !ok {
		_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = nc.Write([]byte("-" + s.replyError(errMaxClients) + "\r\n"))
	}
	_ = nc.Close()
}

// addClient registers a session without a network connection (tests).
func (s *Server) addClient(c *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.clients[c] = struct{}{}
}

func (s *Server) removeClient(c *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.mu.clients, c)
}

// clientsLocked returns the registered sessions ordered by id.
// REQUIRES: s.mu held.
func (s *Server) clientsLocked() []*session {
	out := make([]*session, 0, len(s.mu.clients))
	for c := range s.mu.clients {
		out = append(out, c)
	}
	sortSessions(out)
	return out
}

func (s *Server) guardLimits() guardLimits {
	return guardLimits{maxBulk: s.cfg.MaxValueSize, maxRequest: s.cfg.MaxRequestSize}
}
