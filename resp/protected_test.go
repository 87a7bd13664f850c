package resp

import (
	"net"
	"testing"

	"github.com/dynkv/dynkv/internal/testnet"
	"github.com/stretchr/testify/require"
)

// remoteListener makes every connection it accepts look as if it came
// from remote, so that protected mode can be tested on loopback.
type remoteListener struct {
	net.Listener
	remote *net.TCPAddr
}

func (l remoteListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return remoteConn{nc, l.remote}, nil
}

type remoteConn struct {
	net.Conn
	remote *net.TCPAddr
}

func (c remoteConn) RemoteAddr() net.Addr { return c.remote }

func fromRemote(ip string) func(net.Listener) net.Listener {
	return func(ln net.Listener) net.Listener {
		return remoteListener{ln, &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}}
	}
}

const deniedReply = "-" + string(errDenied) + "\r\n"

func TestProtectedMode(t *testing.T) {
	for _, tt := range []struct {
		name    string
		mutate  func(*Config)
		remote  string
		want    string // reply to PING, or deniedReply and the connection closed
		enabled bool
	}{
		{"non-loopback client, no password: denied", func(*Config) {}, "192.0.2.10", deniedReply, true},
		{"IPv6 non-loopback client: denied", func(*Config) {}, "2001:db8::1", deniedReply, true},
		{"IPv4-mapped loopback: served", func(*Config) {}, "::ffff:127.0.0.1", "+PONG\r\n", true},
		{"loopback client: served", func(*Config) {}, "127.0.0.7", "+PONG\r\n", true},
		{"IPv6 loopback client: served", func(*Config) {}, "::1", "+PONG\r\n", true},
		{"a password set: served (and asked to AUTH)", func(c *Config) { c.RequirePass = "pw" }, "192.0.2.10", "-NOAUTH Authentication required.\r\n", true},
		{"protected mode off: served", func(c *Config) { c.NoProtectedMode = true }, "192.0.2.10", "+PONG\r\n", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.mutate(&cfg)
			e := newConnEnv(t, cfg, nil, fromRemote(tt.remote))
			require.Equal(t, tt.enabled, e.s.protected.Load())
			c := e.dial()
			if tt.want != deniedReply {
				require.Equal(t, tt.want, c.do("PING"))
				require.Zero(t, e.s.stats.rejected.Load())
				return
			}
			require.Equal(t, deniedReply, c.waitClosed(), "DENIED before any command, then closed")
			require.Equal(t, int64(1), e.s.stats.rejected.Load(), "counted as rejected, as Redis")
			require.Equal(t, 1, e.logs.Count("protected mode: refused a client"))
		})
	}
}

func TestProtectedMode_ConfigSet(t *testing.T) {
	e := newConnEnv(t, DefaultConfig(), nil, nil)
	local := e.dial()
	require.Equal(t, "+OK\r\n", local.do("CONFIG SET protected-mode no"))

	remote := newConnEnv(t, DefaultConfig(), nil, fromRemote("192.0.2.10"))
	require.Equal(t, deniedReply, remote.dial().waitClosed())
	remote.s.protected.Store(false) // as CONFIG SET from a loopback client would
	require.Equal(t, "+PONG\r\n", remote.dial().do("PING"))
	require.False(t, e.s.protected.Load())
}

// TestProtectedMode_RealNonLoopbackSource dials the server on 127.0.0.1
// from one of the machine's own non-loopback addresses: the kernel
// delivers it with that source, as a client from outside would arrive.
func TestProtectedMode_RealNonLoopbackSource(t *testing.T) {
	src := testnet.OutsideIPv4(t, "192.0.2.2")
	e := newConnEnv(t, DefaultConfig(), nil, nil)
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: rawTimeout}
	nc, err := d.Dial("tcp", e.addr)
	require.NoError(t, err)
	c := newRawConn(t, nc)
	require.Equal(t, deniedReply, c.waitClosed())
	require.Equal(t, "+PONG\r\n", e.dial().do("PING"), "loopback clients are served")
}
