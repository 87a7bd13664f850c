package peer

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSourceAddr: a node on a loopback IP dials its peers from that IP (so
// that nodes sharing a host on 127.0.0.x can be told apart and partitioned
// by firewall rules); any other listen address leaves it to the kernel's
// routing.
func TestSourceAddr(t *testing.T) {
	require.Equal(t, &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, sourceAddr("127.0.0.2:16379"))
	require.Equal(t, &net.TCPAddr{IP: net.ParseIP("::1")}, sourceAddr("[::1]:16379"))
	for _, listen := range []string{"0.0.0.0:16379", "[::]:1", ":16379", "localhost:16379", "garbage", "10.0.0.5:16379", "[2001:db8::1]:1"} {
		require.Nil(t, sourceAddr(listen), listen)
	}

	// Through the transport: a peer call from a node on 127.0.0.2 arrives
	// from 127.0.0.2 (the peer here only notes who called and hangs up).
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
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.2:0"
	tr, err := NewTCP(cfg, "a", func(string) (string, bool) { return ln.Addr().String(), true },
		func(context.Context, []byte) []byte { return nil })
	require.NoError(t, err)
	defer tr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = tr.Call(ctx, "b", []byte("x"))
	require.Error(t, err, "the fake peer hangs up during the handshake")
	from := <-accepted
	require.NotNil(t, from)
	require.Equal(t, "127.0.0.2", from.(*net.TCPAddr).IP.String())
}
