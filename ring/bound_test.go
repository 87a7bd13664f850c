package ring

import (
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/stretchr/testify/require"
)

// TestBoundTransport: a node gossiping on a loopback IP dials memberlist's
// TCP streams from that IP, as its UDP packets come from it.
func TestBoundTransport(t *testing.T) {
	require.Nil(t, sourceIP("0.0.0.0"))
	require.Nil(t, sourceIP("localhost"))
	require.Nil(t, sourceIP("10.0.0.5"), "off loopback the kernel routes")
	require.Equal(t, "127.0.0.2", sourceIP("127.0.0.2").String())

	ln, err := net.Listen("tcp", "127.0.0.3:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Addr, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c.RemoteAddr()
		_ = c.Close()
	}()

	mc := memberlist.DefaultLocalConfig()
	mc.BindAddr, mc.BindPort = "127.0.0.2", 0
	nt, err := newBoundTransport(mc, sourceIP("127.0.0.2"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer nt.Shutdown()
	require.NotZero(t, mc.BindPort, "a zero port is resolved")
	require.Equal(t, mc.BindPort, mc.AdvertisePort)

	c, err := nt.DialTimeout(ln.Addr().String(), 5*time.Second)
	require.NoError(t, err)
	defer c.Close()
	from := <-accepted
	require.NotNil(t, from)
	require.Equal(t, "127.0.0.2", from.(*net.TCPAddr).IP.String())
}
