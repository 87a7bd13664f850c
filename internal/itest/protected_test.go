package itest

import (
	"context"
	"io"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/dynkv/dynkv/internal/testnet"
	"github.com/stretchr/testify/require"
)

// TestProtectedMode_SameAsRedis dials redis-server and dynkv, both on
// 127.0.0.1 with no password, from one of this machine's non-loopback
// addresses, as a client from another machine would arrive, and expects
// the same bytes from both: Redis 7's DENIED error, then the close.
func TestProtectedMode_SameAsRedis(t *testing.T) {
	server := requireTool(t, "redis-server")
	src := testnet.OutsideIPv4(t, "192.0.2.3")

	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	rs := exec.CommandContext(ctx, server, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	require.NoError(t, rs.Start())
	t.Cleanup(func() { cancel(); _ = rs.Wait() })
	redisAddr := net.JoinHostPort("127.0.0.1", port)
	waitFor(t, startTimeout, "redis-server listens", func() bool {
		nc, err := net.DialTimeout("tcp", redisAddr, time.Second)
		if err == nil {
			_ = nc.Close()
		}
		return err == nil
	})
	n := startNode(t, t.TempDir())

	fromOutside := func(addr string) string {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 10 * time.Second}
		nc, err := d.Dial("tcp", addr)
		require.NoError(t, err)
		defer nc.Close()
		_, _ = nc.Write([]byte("PING\r\n"))
		require.NoError(t, nc.SetReadDeadline(time.Now().Add(10*time.Second)))
		b, _ := io.ReadAll(nc) // Redis may reset the connection after its reply
		return string(b)
	}
	want := fromOutside(redisAddr)
	require.Contains(t, want, "-DENIED Redis is running in protected mode")
	require.Equal(t, want, fromOutside(n.addr))
	require.NoError(t, n.client().Ping(testContext(t)).Err(), "loopback clients are served")
}
