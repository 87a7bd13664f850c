package resp

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestServer_OutsiderLinesBounded: the log lines any stranger can cause
// by connecting (maxclients rejections, protocol errors) are bounded.
func TestServer_OutsiderLinesBounded(t *testing.T) {
	t.Run("maxclients", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.MaxClients = 1
		e := newConnEnv(t, cfg, nil, nil)
		e.session(e.dial())
		for range 3 * logBurst {
			require.Equal(t, "-ERR max number of clients reached\r\n", e.dial().waitClosed())
		}
		require.Equal(t, logBurst, e.logs.Count("max number of clients reached"))
		require.Equal(t, int64(3*logBurst), e.s.stats.rejected.Load(), "every rejection is counted")
	})
	t.Run("protocol errors", func(t *testing.T) {
		e := newConnEnv(t, DefaultConfig(), nil, nil)
		for range 3 * logBurst {
			c := e.dial()
			c.send("*x\r\n")
			require.Equal(t, "-ERR Protocol error: invalid multibulk length\r\n", c.waitClosed())
		}
		waitUntil(t, "every connection ended", func() bool { return len(e.s.clientsSnapshot()) == 0 })
		require.Equal(t, logBurst, e.logs.Count("protocol error"))
		e.clock.Advance(logWindow)
		e.s.sweep()
		require.Equal(t, 1, e.logs.Count("protocol error suppressed=20"))
	})
}
