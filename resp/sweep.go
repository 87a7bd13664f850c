package resp

import (
	"io"
	"log/slog"
	"time"
)

// The sweeper closes clients that hold a connection without using it, as
// Redis's clientsCron does: a client idle for longer than the idle timeout
// (Config.IdleTimeout, CONFIG SET timeout), and a client that has not
// authenticated within Config.AuthGrace while a password is required. It
// also forgets the AUTH throttle's refilled sources and reports the log
// lines rateLog dropped.
//
// Time is the server's clock (Config.Clock); the sweeper runs every
// sweepInterval of real time. Tests that move the clock by hand call
// sweep themselves (Server.noSweeper).

// maxSweepInterval is the longest pause between two sweeps.
const maxSweepInterval = time.Second

// minSweepInterval is the shortest: short limits are enforced this late.
const minSweepInterval = 10 * time.Millisecond

// sweepInterval returns the pause before the next sweep: a quarter of the
// shortest limit in force, within [minSweepInterval, maxSweepInterval].
func (s *Server) sweepInterval() time.Duration {
	d := maxSweepInterval
	for _, lim := range []time.Duration{s.idleTimeout(), s.authGrace()} {
		if lim > 0 {
			d = min(d, max(lim/4, minSweepInterval))
		}
	}
	return d
}

// runSweeper sweeps until Close. Its goroutine is counted in s.wg.
func (s *Server) runSweeper() {
	defer s.wg.Done()
	t := time.NewTimer(s.sweepInterval())
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.sweep()
		t.Reset(s.sweepInterval())
	}
}

// sweep closes the clients past a limit. An idle client is blocked
// reading: shutdown stops it, after the commands it may just have read. A
// client past the auth grace is closed at once, whatever it is doing (it
// may be blocked sending replies to a client that does not read them), and
// its context cancelled, which ends an AUTH waiting on the throttle.
func (s *Server) sweep() {
	now := s.now()
	idle, grace := s.idleTimeout(), s.authGrace()
	if idle > 0 || grace > 0 {
		s.mu.Lock()
		clients := make([]*session, 0, len(s.mu.clients))
		for c := range s.mu.clients {
			clients = append(clients, c)
		}
		s.mu.Unlock()
		for _, c := range clients {
			if c.shutdown == nil { // no connection (tests)
				continue
			}
			switch {
			case grace > 0 && !c.authDone.Load() && now.Sub(c.created) >= grace:
				s.rlog.Log(slog.LevelInfo, "closing client that did not authenticate", "client", c.id, "remote", c.addr, "auth_grace", grace)
				c.cancel()
				c.kill()
			case idle > 0 && !c.busy.Load() && now.Sub(time.Unix(0, c.lastActive.Load())) > idle:
				s.rlog.Log(slog.LevelDebug, "closing idle client", "client", c.id, "remote", c.addr, "timeout", idle)
				c.shutdown()
			}
		}
	}
	s.throttle.prune(now)
	s.rlog.flush()
}

// idleTimeout returns the idle timeout in force (CONFIG SET timeout
// changes it).
func (s *Server) idleTimeout() time.Duration { return time.Duration(s.idle.Load()) }

// authGrace returns the auth grace in force: none without a password.
func (s *Server) authGrace() time.Duration {
	if s.cfg.RequirePass == "" {
		return 0
	}
	return s.cfg.AuthGrace
}

// activityReader is the connection as the guard reads it: it records when
// the client last sent bytes, so that a client sending a long request
// slowly is not idle.
type activityReader struct {
	r    io.Reader
	sess *session
	now  func() time.Time
}

func (a activityReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.sess.lastActive.Store(a.now().UnixNano())
	}
	return n, err
}
