package replica

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// logLimiter logs at a bounded rate: at most burst lines per interval for
// each message, counting the lines it drops and reporting the count
// ("suppressed") on the next line of that message it lets through. A disk
// that fails every write, and pebble retrying a flush in a loop, would
// otherwise log thousands of lines a second. Messages are constant strings
// (house style), so the table of windows stays small. Safe for concurrent
// use.
type logLimiter struct {
	log      *slog.Logger
	now      func() time.Time
	interval time.Duration
	burst    int

	mu struct {
		sync.Mutex
		windows map[string]*logWindow // by message
	}
}

type logWindow struct {
	start   time.Time // of the current window
	n       int       // lines logged in the window
	dropped int       // lines dropped since the last line logged
}

// Defaults of the store's limiter: ten lines per message every ten
// seconds.
const (
	logInterval = 10 * time.Second
	logBurst    = 10
)

func newLogLimiter(log *slog.Logger, now func() time.Time, interval time.Duration, burst int) *logLimiter {
	l := &logLimiter{log: log, now: now, interval: interval, burst: burst}
	l.mu.windows = map[string]*logWindow{}
	return l
}

// Log logs msg at level with args unless msg used up its lines of the
// current window.
func (l *logLimiter) Log(level slog.Level, msg string, args ...any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	now := l.now()
	l.mu.Lock()
	w := l.mu.windows[msg]
	if w == nil {
		w = &logWindow{start: now}
		l.mu.windows[msg] = w
	}
	if now.Sub(w.start) >= l.interval {
		w.start, w.n = now, 0
	}
	if w.n >= l.burst {
		w.dropped++
		l.mu.Unlock()
		return
	}
	w.n++
	dropped := w.dropped
	w.dropped = 0
	l.mu.Unlock()
	if dropped > 0 {
		args = append(args, "suppressed", dropped)
	}
	l.log.Log(context.Background(), level, msg, args...)
}

// Error logs at error level, Warn at warning level.
func (l *logLimiter) Error(msg string, args ...any) { l.Log(slog.LevelError, msg, args...) }
func (l *logLimiter) Warn(msg string, args ...any)  { l.Log(slog.LevelWarn, msg, args...) }
