package ring

import (
	"log/slog"
	"net"
	"time"

	"github.com/hashicorp/memberlist"
)

// sourceIP returns host as an IP when it is a loopback address, else nil:
// nodes sharing a host on 127.0.0.x gossip from their own addresses; on
// other addresses the kernel's routing picks the source.
func sourceIP(host string) net.IP {
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil
	}
	return ip
}

// boundTransport is memberlist's network transport with its TCP streams
// dialled from the node's own IP, so that peers and firewall rules see
// gossip streams come from the address the node gossips on, as its UDP
// packets do.
type boundTransport struct {
	*memberlist.NetTransport
	src *net.TCPAddr
}

// newBoundTransport creates the transport for mc, resolving a zero port as
// memberlist would (retrying a port taken between the TCP and UDP binds).
func newBoundTransport(mc *memberlist.Config, src net.IP, lg *slog.Logger) (*boundTransport, error) {
	nc := &memberlist.NetTransportConfig{
		BindAddrs: []string{mc.BindAddr},
		BindPort:  mc.BindPort,
		Logger:    slog.NewLogLogger(lg.Handler(), slog.LevelWarn),
	}
	tries := 1
	if mc.BindPort == 0 {
		tries = 10
	}
	var nt *memberlist.NetTransport
	var err error
	for range tries {
		if nt, err = memberlist.NewNetTransport(nc); err == nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	if mc.BindPort == 0 {
		mc.BindPort = nt.GetAutoBindPort()
		mc.AdvertisePort = mc.BindPort
	}
	return &boundTransport{NetTransport: nt, src: &net.TCPAddr{IP: src}}, nil
}

// DialTimeout implements memberlist.Transport.
func (t *boundTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout implements memberlist.NodeAwareTransport.
func (t *boundTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout, LocalAddr: t.src}
	return d.Dial("tcp", a.Addr)
}
