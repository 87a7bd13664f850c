package resp

import (
	"errors"
	"os"
	"sync/atomic"
	"time"
)

// Client memory: what each client's buffers hold, the per-client output
// buffer limit and the limit on all clients together, with Redis 7's
// semantics (client-output-buffer-limit for normal clients, and
// maxmemory-clients):
//
//   - A client's query bytes are what its reader holds: the unparsed input
//     and the arguments of the command being read (allocated at their exact
//     size when their length arrives), and the arguments of the commands read
//     together until they have run (reader.go).
//   - A client's output bytes are its replies that the socket has not taken:
//     the replies a batch has buffered, accounted when they are sent (the
//     buffer only grows between sends, so a send accounts it at its largest;
//     it is sent whenever it passes flushThreshold, after every value a
//     streaming command such as MGET writes, and at the end of every batch),
//     and the replies of pipelined commands that have finished on a worker
//     and wait for their turn (workers.go).
//   - A client whose output exceeds the hard limit, or stays above the soft
//     limit for the soft time, is closed and logged. A send blocked on a
//     client that does not read holds its buffer: while that buffer is above
//     the soft limit the send has a deadline at the end of the soft time.
//   - When the sum over all clients exceeds Config.MaxMemoryClients, the
//     client using the most (query plus output) is closed, and the next,
//     until the sum of the clients left is under it (Redis's client
//     eviction). A closed client's bytes leave the sum once its goroutines
//     have let them go.

// errOutputLimit ends a client whose output went over its limits.
var errOutputLimit = errors.New("resp: client output buffer limit reached")

// clientMem is one client's accounting. Its counters are written by the
// client's goroutines (connection and workers) and read by anyone.
type clientMem struct {
	s        *Server
	sess     *session
	query    atomic.Int64 // bytes the reader holds
	sending  atomic.Int64 // bytes of the reply buffer being sent
	finished atomic.Int64 // bytes of replies of finished pipelined commands not yet collected
	peakOut  atomic.Int64 // the largest output accounted, for tests and CLIENT LIST
	// softSince is when the output went above the soft limit, unix
	// nanoseconds of Server.now; 0 while it is not above.
	softSince atomic.Int64
	closing   atomic.Bool // closed by a limit: its bytes no longer count for eviction
}

// output returns the client's output bytes.
func (m *clientMem) output() int64 { return m.sending.Load() + m.finished.Load() }

// total returns the client's query and output bytes.
func (m *clientMem) total() int64 { return m.query.Load() + m.output() }

// release takes the bytes of a client that has ended out of the total.
// REQUIRES: none of its pipelined commands is uncollected.
func (m *clientMem) release() {
	m.setQuery(0)
	_ = m.setSending(0)
}

// setQuery accounts n bytes held by the client's reader.
func (m *clientMem) setQuery(n int64) {
	if d := n - m.query.Swap(n); d != 0 {
		m.s.addClientMem(d)
	}
}

// setSending accounts n bytes of replies being sent, and checks the
// limits. It returns errOutputLimit if the client must be closed.
func (m *clientMem) setSending(n int64) error {
	d := n - m.sending.Swap(n)
	if d == 0 {
		return nil
	}
	m.s.addClientMem(d)
	if d < 0 {
		m.checkSoft(m.output())
		return nil
	}
	return m.checkOutput()
}

// addFinished accounts d bytes of replies of pipelined commands that wait
// for their turn (negative once collected), and checks the limits. Over
// them, it closes the client.
func (m *clientMem) addFinished(d int64) {
	if d == 0 {
		return
	}
	m.finished.Add(d)
	m.s.addClientMem(d)
	if d > 0 && m.checkOutput() != nil {
		m.s.closeClient(m.sess)
	}
}

// checkOutput checks the client's output against its limits, and logs
// when the client must be closed.
func (m *clientMem) checkOutput() error {
	out := m.output()
	for peak := m.peakOut.Load(); out > peak && !m.peakOut.CompareAndSwap(peak, out); peak = m.peakOut.Load() {
	}
	if hard := m.s.mem.outHard.Load(); hard > 0 && out > hard {
		return m.exceeded("hard", out)
	}
	if !m.checkSoft(out) {
		return m.exceeded("soft", out)
	}
	return nil
}

// exceeded logs, once, that the client is closed for its output over the
// limit named over, and returns errOutputLimit.
func (m *clientMem) exceeded(over string, out int64) error {
	if !m.closing.Swap(true) {
		m.s.mem.outputDisconnections.Add(1)
		m.s.log.Warn("client scheduled to be closed for overcoming of output buffer limits",
			"client", m.sess.id, "remote", m.sess.addr, "limit", over, "omem", out)
	}
	return errOutputLimit
}

// checkSoft tracks how long the output has been above the soft limit and
// reports whether it is within it.
func (m *clientMem) checkSoft(out int64) bool {
	soft := m.s.mem.outSoft.Load()
	if soft == 0 || out <= soft {
		m.softSince.Store(0)
		return true
	}
	now := m.s.now().UnixNano()
	since := m.softSince.Load()
	if since == 0 {
		m.softSince.CompareAndSwap(0, now)
		since = now
	}
	return now-since < m.s.mem.outSoftTime.Load()
}

// softDeadline returns when a send of the current output must have
// finished for the client to stay within the soft limit, or the zero time.
func (m *clientMem) softDeadline() time.Time {
	since := m.softSince.Load()
	if since == 0 {
		return time.Time{}
	}
	left := time.Duration(since + m.s.mem.outSoftTime.Load() - m.s.now().UnixNano())
	return time.Now().Add(left) // socket deadlines use the real time
}

// memLimits are the server's client memory limits and counters.
type memLimits struct {
	outHard     atomic.Int64 // Config.OutputBufferHard, bytes; 0: none
	outSoft     atomic.Int64 // Config.OutputBufferSoft, bytes; 0: none
	outSoftTime atomic.Int64 // Config.OutputBufferSoftTime, nanoseconds
	maxClients  atomic.Int64 // Config.MaxMemoryClients, bytes; 0: none
	total       atomic.Int64 // sum of every client's query and output bytes

	outputDisconnections atomic.Int64 // clients closed over the output limits
	evicted              atomic.Int64 // clients closed over maxmemory-clients
}

func (l *memLimits) set(cfg Config) {
	l.outHard.Store(cfg.OutputBufferHard)
	l.outSoft.Store(cfg.OutputBufferSoft)
	l.outSoftTime.Store(int64(cfg.OutputBufferSoftTime))
	l.maxClients.Store(cfg.MaxMemoryClients)
}

// addClientMem adds d bytes to the total of all clients and, when it grew
// past Config.MaxMemoryClients, evicts clients.
func (s *Server) addClientMem(d int64) {
	t := s.mem.total.Add(d)
	if d > 0 {
		if limit := s.mem.maxClients.Load(); limit > 0 && t > limit {
			s.evictClients(limit)
		}
	}
}

// evictClients closes the clients using the most memory until the clients
// left use at most limit bytes together.
func (s *Server) evictClients(limit int64) {
	s.mu.Lock()
	var sum int64
	live := make([]*session, 0, len(s.mu.clients))
	for c := range s.mu.clients {
		if c.mem != nil && !c.mem.closing.Load() {
			sum += c.mem.total()
			live = append(live, c)
		}
	}
	s.mu.Unlock()
	for sum > limit && len(live) > 0 {
		big := 0
		for i, c := range live {
			if c.mem.total() > live[big].mem.total() {
				big = i
			}
		}
		c := live[big]
		live = append(live[:big], live[big+1:]...)
		n := c.mem.total()
		sum -= n
		if c.mem.closing.Swap(true) {
			continue
		}
		s.mem.evicted.Add(1)
		s.log.Warn("client evicted: maxmemory-clients reached",
			"client", c.id, "remote", c.addr, "tot_mem", n, "maxmemory_clients", limit)
		s.closeClient(c)
	}
}

// closeClient closes c's connection at once and cancels its commands.
func (s *Server) closeClient(c *session) {
	c.mem.closing.Store(true)
	c.cancel()
	if c.kill != nil {
		c.kill()
	}
}

// Write sends p, the client's reply buffer, to the socket, accounting it as
// output while it is being sent and enforcing the output limits. It is the
// io.Writer of the connection's writer.
func (c *conn) Write(p []byte) (int, error) {
	m := c.sess.mem
	if err := m.setSending(int64(len(p))); err != nil {
		return 0, err
	}
	dl := m.softDeadline()
	if !dl.IsZero() {
		_ = c.nc.SetWriteDeadline(dl)
	}
	n, err := c.nc.Write(p)
	c.s.stats.netOut.Add(int64(n))
	if !dl.IsZero() {
		_ = c.nc.SetWriteDeadline(time.Time{})
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = m.exceeded("soft", int64(len(p)))
		}
	}
	_ = m.setSending(0)
	return n, err
}
