package resp

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// syncClock is a clock tests move by hand, safe for concurrent use: the
// server's goroutines read it while the test advances it.
type syncClock struct {
	mu  sync.Mutex
	now time.Time
}

func newSyncClock() *syncClock {
	return &syncClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *syncClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *syncClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// logRecorder is an slog.Handler that keeps every record as one line,
// "LEVEL msg k=v ...", for assertions on what was logged.
type logRecorder struct {
	mu    *sync.Mutex
	lines *[]string
	attrs []slog.Attr
}

func newLogRecorder() *logRecorder {
	return &logRecorder{mu: &sync.Mutex{}, lines: new([]string)}
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	for _, a := range h.attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.lines = append(*h.lines, b.String())
	return nil
}

func (h *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &logRecorder{mu: h.mu, lines: h.lines, attrs: append(append([]slog.Attr{}, h.attrs...), as...)}
}

func (h *logRecorder) WithGroup(string) slog.Handler { return h }

// Lines returns the records so far.
func (h *logRecorder) Lines() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), *h.lines...)
}

// Count returns how many records contain sub.
func (h *logRecorder) Count(sub string) int {
	n := 0
	for _, l := range h.Lines() {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}
