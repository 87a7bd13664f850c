package resp

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRateLog_BoundsAndReportsSuppressed(t *testing.T) {
	clk := newSyncClock()
	rec := newLogRecorder()
	r := newRateLog(slog.New(rec), clk.Now, 3, time.Second)

	for range 100 {
		r.Log(slog.LevelInfo, "authentication failed", "remote", "192.0.2.1:5")
	}
	r.Log(slog.LevelInfo, "protocol error")
	require.Equal(t, 3, rec.Count("authentication failed"), "burst per message")
	require.Equal(t, 1, rec.Count("protocol error"), "messages are bounded apart")

	t.Run("flush waits for the window's end", func(t *testing.T) {
		r.flush()
		require.Equal(t, 3, rec.Count("authentication failed"))
	})
	t.Run("flush reports the count once the window is over", func(t *testing.T) {
		clk.Advance(time.Second)
		r.flush()
		require.Equal(t, 1, rec.Count("INFO authentication failed suppressed=97"))
		r.flush()
		require.Equal(t, 4, rec.Count("authentication failed"), "reported once")
	})
	t.Run("the next line reports a count flush did not", func(t *testing.T) {
		for range 5 {
			r.Log(slog.LevelWarn, "max number of clients reached")
		}
		clk.Advance(time.Second)
		r.Log(slog.LevelWarn, "max number of clients reached", "maxclients", 1)
		require.Equal(t, 1, rec.Count("WARN max number of clients reached maxclients=1 suppressed=2"))
		r.flush()
		require.Equal(t, 4, rec.Count("max number of clients reached"))
	})
}
