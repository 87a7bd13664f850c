package resp

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// session is one client's state: what AUTH, HELLO, SELECT and CLIENT change.
// A network connection (connection.go) owns one; tests drive one directly.
type session struct {
	id      int64
	ctx     context.Context // passed to the backend; cancelled when the client ends
	cancel  context.CancelFunc
	w       *writer
	addr    string // client's address
	laddr   string // server's address the client connected to
	created time.Time

	mem *clientMem // the client's buffer accounting (memory.go), shared with its tasks' sessions

	// Owned by the goroutine that runs the client's commands.
	authed       bool      // no password is required, or the client authenticated
	quit         bool      // QUIT: close once the reply is sent
	authFails    int       // failed AUTH in a row (throttle.go)
	lastAuthFail time.Time // of the last failed AUTH
	tx           txState   // MULTI and WATCH (multi.go)
	subs         subscriptions
	// startPush starts the goroutine that sends a subscriber's messages;
	// nil without a network connection.
	startPush func(*pushQueue)
	// Read by publishers (Deliver).
	proto3    atomic.Bool               // the client speaks RESP3
	pushQueue atomic.Pointer[pushQueue] // its Pub/Sub messages; nil until it subscribes

	// Read by other clients (CLIENT LIST) and the sweeper.
	lastCmd    atomic.Pointer[command]
	lastActive atomic.Int64 // unix nanoseconds of the last bytes read from or replies sent to the client
	busy       atomic.Bool  // commands read from the client are running or their replies being sent
	authDone   atomic.Bool  // the client authenticated once: auth-grace no longer applies
	mu         struct {
		sync.Mutex
		name    string
		libName string
		libVer  string
	}

	// Set by the network connection; nil without one.
	shutdown func() // stop once the commands in flight have replied
	kill     func() // close the socket now
}

// newSession returns the state of a new client whose replies go to w.
func (s *Server) newSession(w *writer, addr, laddr string) *session {
	ctx, cancel := context.WithCancel(s.lifetime)
	now := s.now()
	c := &session{
		id: s.nextID.Add(1), ctx: ctx, cancel: cancel, w: w,
		addr: addr, laddr: laddr, created: now,
		authed: s.cfg.RequirePass == "",
	}
	c.mem = &clientMem{s: s, sess: c}
	c.lastActive.Store(now.UnixNano())
	return c
}

func (c *session) name() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.name
}

func (c *session) setName(n string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.name = n
}

func sortSessions(ss []*session) {
	slices.SortFunc(ss, func(a, b *session) int { return cmp.Compare(a.id, b.id) })
}
