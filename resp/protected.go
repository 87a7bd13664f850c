package resp

import (
	"log/slog"
	"net"
	"time"
)

// Protected mode, as Redis 7's: while it is on (Config.NoProtectedMode
// false, CONFIG SET protected-mode yes) and no password is set, a client
// that connects from an address other than loopback gets errDenied and is
// closed, before it can send a command. As in Redis 7, the check is on the
// client's address alone: a listener on loopback only sees loopback
// clients, so only a server listening beyond loopback refuses anyone.

// denied reports whether a client connecting from remote is refused by
// protected mode. Addresses that are not TCP (pipes in tests, Unix
// sockets) are local.
func (s *Server) denied(remote net.Addr) bool {
	if !s.protected.Load() || s.cfg.RequirePass != "" {
		return false
	}
	tcp, ok := remote.(*net.TCPAddr)
	return ok && !tcp.IP.IsLoopback()
}

// deny sends errDenied to the client of c, which is then closed, as Redis
// does (it counts as a rejected connection).
func (c *conn) deny() {
	c.s.stats.rejected.Add(1)
	c.s.rlog.Log(slog.LevelWarn, "protected mode: refused a client from a non-loopback address", "remote", c.sess.addr)
	c.sess.w.errorReply(string(errDenied))
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	_ = c.flush()
}
