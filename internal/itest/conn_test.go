package itest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/resp/resptest"
)

// freePort returns a loopback port that was free a moment ago, for keys
// such as tls-port where 0 means "none" rather than "any".
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// startTLSNode starts a node with a TLS port and the certificates of
// files, with tls-auth-clients auth, and returns it with the TLS port.
func startTLSNode(t *testing.T, files resptest.TLSFiles, auth string, extra ...string) (*node, string) {
	t.Helper()
	port := freePort(t)
	args := append([]string{"--tls-port", port, "--tls-cert-file", files.Cert, "--tls-key-file", files.Key,
		"--tls-ca-cert-file", files.CA, "--tls-auth-clients", auth}, extra...)
	n := startNode(t, t.TempDir(), args...)
	return n, port
}

// redisCLITLS runs redis-cli --tls against port with args and returns its
// output and exit error.
func redisCLITLS(t *testing.T, cli, port string, tlsArgs []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), exitTimeout)
	defer cancel()
	all := append(append([]string{"--tls", "-h", "127.0.0.1", "-p", port}, tlsArgs...), args...)
	cmd := exec.CommandContext(ctx, cli, all...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "redis-cli %v did not exit", all)
	return out.String(), err
}

func TestTLS_RedisCLI(t *testing.T) {
	cli := requireTool(t, "redis-cli")
	files := resptest.WriteTLSFiles(t)
	n, port := startTLSNode(t, files, "yes")
	withCert := []string{"--cacert", files.CA, "--cert", files.ClientCert, "--key", files.ClientKey}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"PING"}, "PONG\n"},
		{[]string{"SET", "greeting", "over tls"}, "OK\n"},
		{[]string{"GET", "greeting"}, "over tls\n"},
		{[]string{"CONFIG", "GET", "tls-port"}, "tls-port\n" + port + "\n"},
		{[]string{"CONFIG", "GET", "tls-auth-clients"}, "tls-auth-clients\nyes\n"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, err := redisCLITLS(t, cli, port, withCert, tt.args...)
			require.NoError(t, err, out)
			require.Equal(t, tt.want, out)
		})
	}
	t.Run("the plain port serves the same data", func(t *testing.T) {
		require.Equal(t, "over tls\n", redisCLI(t, cli, n, "", "GET", "greeting"))
	})
	t.Run("no client certificate", func(t *testing.T) {
		out, _ := redisCLITLS(t, cli, port, []string{"--cacert", files.CA}, "PING")
		require.True(t, strings.HasPrefix(out, "Error: "), out)
		require.NotContains(t, out, "PONG")
	})
	t.Run("certificate of another CA", func(t *testing.T) {
		defer waitFor(t, 10*time.Second, "both refusals logged", func() bool {
			return strings.Count(n.logs.String(), `msg="tls handshake failed"`) == 2
		})
		out, _ := redisCLITLS(t, cli, port, []string{"--cacert", files.CA, "--cert", files.OtherCert, "--key", files.OtherKey}, "PING")
		require.True(t, strings.HasPrefix(out, "Error: "), out)
		require.NotContains(t, out, "PONG")
	})
}

func TestTLS_GoRedisAgainstBinary(t *testing.T) {
	files := resptest.WriteTLSFiles(t)
	_, port := startTLSNode(t, files, "yes")
	ctx := testContext(t)
	addr := net.JoinHostPort("127.0.0.1", port)

	rdb := redis.NewClient(&redis.Options{Addr: addr, TLSConfig: files.Client(t, files.ClientCert, files.ClientKey)})
	t.Cleanup(func() { _ = rdb.Close() })
	require.NoError(t, rdb.Set(ctx, "k", "v", 0).Err())
	require.Equal(t, "v", rdb.Get(ctx, "k").Val())

	anon := redis.NewClient(&redis.Options{Addr: addr, TLSConfig: files.Client(t, "", ""), MaxRetries: -1})
	t.Cleanup(func() { _ = anon.Close() })
	require.ErrorContains(t, anon.Ping(ctx).Err(), "certificate required")
}

// TestConn_IdleTimeoutAndAuthGrace runs the two limits through the
// binary's configuration: a client idle past client-idle-timeout, and one
// that does not authenticate within auth-grace, are closed.
func TestConn_IdleTimeoutAndAuthGrace(t *testing.T) {
	n := startNode(t, t.TempDir(), "--client-idle-timeout", "1s", "--requirepass", "pw", "--auth-grace", "500ms")
	ctx := testContext(t)
	rdb := redis.NewClient(&redis.Options{Addr: n.addr, Password: "pw"})
	t.Cleanup(func() { _ = rdb.Close() })
	require.Equal(t, map[string]string{"timeout": "1"}, rdb.ConfigGet(ctx, "timeout").Val())

	dial := func() (net.Conn, *bufio.Reader) {
		nc, err := net.DialTimeout("tcp", n.addr, 10*time.Second)
		require.NoError(t, err)
		t.Cleanup(func() { _ = nc.Close() })
		return nc, bufio.NewReader(nc)
	}
	closedWithin := func(nc net.Conn, r *bufio.Reader, d time.Duration) {
		t.Helper()
		require.NoError(t, nc.SetReadDeadline(time.Now().Add(d)))
		_, err := io.ReadAll(r)
		var ne net.Error
		require.False(t, errors.As(err, &ne) && ne.Timeout(), "not closed within %s", d)
	}

	silent, sr := dial()
	idle, ir := dial()
	_, err := idle.Write([]byte("AUTH pw\r\n"))
	require.NoError(t, err)
	line, err := ir.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "+OK\r\n", line)

	start := time.Now()
	closedWithin(silent, sr, 20*time.Second)
	require.GreaterOrEqual(t, time.Since(start), 400*time.Millisecond, "not before the grace")
	closedWithin(idle, ir, 20*time.Second)
	require.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "not before the timeout")
}
