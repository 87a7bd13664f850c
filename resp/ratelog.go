package resp

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Bounds of rateLog as the server uses it: at most logBurst lines of one
// message per logWindow.
const (
	logBurst  = 10
	logWindow = time.Second
)

// rateLog writes log lines that outsiders can cause (failed AUTH, refused
// connections, protocol errors, failed TLS handshakes) at a bounded rate:
// at most burst lines of each message per window. The lines beyond are
// counted, and the count is reported once the window is over, by the next
// line of that message or by flush, whichever comes first, as
// "suppressed"=n.
//
// A rateLog is safe for concurrent use. It has no goroutine: the server's
// sweeper calls flush.
type rateLog struct {
	log    *slog.Logger
	now    func() time.Time
	burst  int
	window time.Duration

	mu struct {
		sync.Mutex
		msgs map[string]*logCount // by message
	}
}

// logCount is one message's lines in the current window.
type logCount struct {
	start      time.Time  // start of the window
	logged     int        // lines written in the window
	suppressed int        // lines dropped in the window
	level      slog.Level // of the last line dropped
}

func newRateLog(log *slog.Logger, now func() time.Time, burst int, window time.Duration) *rateLog {
	r := &rateLog{log: log, now: now, burst: burst, window: window}
	r.mu.msgs = map[string]*logCount{}
	return r
}

// Log writes msg with args at level, unless burst lines of msg were
// written in the current window. msg is a constant: it names the kind of
// line.
func (r *rateLog) Log(level slog.Level, msg string, args ...any) {
	now := r.now()
	r.mu.Lock()
	lc := r.mu.msgs[msg]
	if lc == nil {
		lc = &logCount{start: now}
		r.mu.msgs[msg] = lc
	}
	var dropped int
	if now.Sub(lc.start) >= r.window {
		dropped = lc.suppressed
		*lc = logCount{start: now}
	}
	if lc.logged >= r.burst {
		lc.suppressed++
		lc.level = level
		r.mu.Unlock()
		return
	}
	lc.logged++
	r.mu.Unlock()
	if dropped > 0 {
		args = append(args, "suppressed", dropped)
	}
	r.log.Log(context.Background(), level, msg, args...)
}

// flush reports the lines suppressed in windows that are over, one line
// per message, and forgets messages that were quiet for a whole window.
func (r *rateLog) flush() {
	now := r.now()
	type report struct {
		msg   string
		n     int
		level slog.Level
	}
	var out []report
	r.mu.Lock()
	for msg, lc := range r.mu.msgs {
		if now.Sub(lc.start) < r.window {
			continue
		}
		if lc.suppressed > 0 {
			out = append(out, report{msg, lc.suppressed, lc.level})
		}
		delete(r.mu.msgs, msg)
	}
	r.mu.Unlock()
	for _, rp := range out {
		r.log.Log(context.Background(), rp.level, rp.msg, "suppressed", rp.n)
	}
}
