package ring

import (
	"bytes"
	"log/slog"
	"strings"
)

// logWriter sends memberlist's log lines to slog.
type logWriter struct{ l *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	line := string(bytes.TrimSpace(p))
	switch {
	case strings.Contains(line, "[ERR]"):
		w.l.Error("memberlist", "msg", line)
	case strings.Contains(line, "[WARN]"):
		w.l.Warn("memberlist", "msg", line)
	default:
		w.l.Debug("memberlist", "msg", line)
	}
	return len(p), nil
}
