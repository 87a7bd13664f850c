package bench

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Load is one load to drive a target with.
type Load struct {
	Workload string        // one of Workloads
	Value    int           // value size, bytes (> 0)
	Keys     int           // key space (> 0); for cart, the number of carts
	Clients  int           // connections (> 0), spread over the target's addresses
	Pipeline int           // closed loop: requests in flight per connection (> 0); cart uses 1
	Rate     int           // open loop: requests per second over all connections; 0: closed loop
	Duration time.Duration // how long requests are sent (> 0)
	Requests int           // when > 0, stop after this many requests (or Duration, first)
	Seed     uint64        // of the key and value choices
	// KeyNames, when not empty, are the keys instead of the key space
	// (set, get, mixed; Keys is then ignored).
	KeyNames [][]byte
	// PlainCart runs the cart workload with GET and SET, for servers
	// without DGET and DPUT (redis-server).
	PlainCart bool
}

// Validate reports a load that cannot run.
func (l Load) Validate() error {
	switch {
	case l.Value < 1:
		return fmt.Errorf("bench: value: must be at least 1 byte, got %d", l.Value)
	case l.Keys < 1 && len(l.KeyNames) == 0:
		return fmt.Errorf("bench: keys: must be at least 1, got %d", l.Keys)
	case l.Clients < 1:
		return fmt.Errorf("bench: clients: must be at least 1, got %d", l.Clients)
	case l.Pipeline < 1:
		return fmt.Errorf("bench: pipeline: must be at least 1, got %d", l.Pipeline)
	case l.Rate < 0:
		return fmt.Errorf("bench: rate: must not be negative, got %d", l.Rate)
	case l.Duration <= 0:
		return fmt.Errorf("bench: duration: must be positive, got %s", l.Duration)
	case l.Rate > 0 && l.Workload == WorkCart:
		return fmt.Errorf("bench: the cart workload runs in a closed loop only (rate must be 0)")
	}
	for _, w := range append(Workloads, workFill) {
		if l.Workload == w {
			return nil
		}
	}
	return fmt.Errorf("bench: workload: %q is not one of %v", l.Workload, Workloads)
}

// Stats are what one load measured.
type Stats struct {
	Requests   uint64         // answered without error
	Errors     uint64         // error replies, failed or unanswered requests
	FirstError string         // the first error seen, for the report
	Elapsed    time.Duration  // from the first request sent to the last answer
	Latency    *Histogram     // of the requests answered, error replies included
	Versions   map[int]uint64 // cart: number of DGETs by the number of siblings they saw
}

// Throughput returns the requests answered without error per second.
func (s Stats) Throughput() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Requests) / s.Elapsed.Seconds()
}

func (s *Stats) merge(o *Stats) {
	s.Requests += o.Requests
	s.Errors += o.Errors
	if s.FirstError == "" {
		s.FirstError = o.FirstError
	}
	s.Latency.Merge(o.Latency)
	for k, v := range o.Versions {
		s.Versions[k] += v
	}
}

func newStats() *Stats { return &Stats{Latency: NewHistogram(), Versions: map[int]uint64{}} }

// fail counts n failed requests and keeps the first error.
func (s *Stats) fail(n int, err string) {
	s.Errors += uint64(n)
	if s.FirstError == "" {
		s.FirstError = err
	}
}

// replyGrace is how long after the end of a load its last replies may
// take before they count as errors; it also bounds a hung server.
const replyGrace = 10 * time.Second

// Drive runs the load l against the servers at addrs (connection i goes to
// addrs[i mod len(addrs)]) and returns what it measured. It returns an
// error only when the load is invalid or no connection could be opened at
// all; failures during the load are counted in Stats.Errors. Every
// connection is closed before Drive returns.
func Drive(ctx context.Context, addrs []string, l Load) (Stats, error) {
	if err := l.Validate(); err != nil {
		return Stats{}, err
	}
	if len(addrs) == 0 {
		return Stats{}, fmt.Errorf("bench: no address to drive")
	}
	conns := make([]*conn, l.Clients)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.close()
			}
		}
	}()
	for i := range conns {
		var err error
		if conns[i], err = dial(ctx, addrs[i%len(addrs)]); err != nil {
			return Stats{}, err
		}
	}
	// A cancelled ctx unblocks every read and write at once.
	stop := context.AfterFunc(ctx, func() {
		for _, c := range conns {
			c.close()
		}
	})
	defer stop()
	var z *zipf
	if l.Workload == WorkZipf {
		z = newZipf(l.Keys, zipfTheta)
	}
	var budget atomic.Int64
	budget.Store(int64(l.Requests))
	if l.Requests <= 0 {
		budget.Store(1 << 62)
	}
	total := runConns(ctx, conns, l, z, &budget)
	return *total, ctx.Err()
}

// runConns runs the load on every connection, one goroutine each, and
// returns their stats merged.
func runConns(ctx context.Context, conns []*conn, l Load, z *zipf, budget *atomic.Int64) *Stats {
	start := time.Now()
	end := start.Add(l.Duration)
	parts := make([]*Stats, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		parts[i] = newStats()
		_ = c.nc.SetDeadline(end.Add(replyGrace))
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch {
			case l.Workload == WorkCart:
				runCart(ctx, c, l, i, end, budget, parts[i])
			case l.Rate > 0:
				runOpen(ctx, c, newGen(l, i, len(conns), z), l, start, end, budget, parts[i])
			default:
				runClosed(ctx, c, newGen(l, i, len(conns), z), l.Pipeline, end, budget, parts[i])
			}
		}()
	}
	wg.Wait()
	total := newStats()
	total.Elapsed = time.Since(start)
	for _, p := range parts {
		total.merge(p)
	}
	return total
}

// take takes up to n requests from the budget and returns how many it got.
func take(budget *atomic.Int64, n int) int {
	left := budget.Add(-int64(n))
	if left >= 0 {
		return n
	}
	return max(n+int(left), 0)
}

// conn is one client connection of the load generator.
type conn struct {
	nc  net.Conn
	r   *bufio.Reader
	buf []byte // request scratch
}

func dial(ctx context.Context, addr string) (*conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("bench: connect %s: %w", addr, err)
	}
	return &conn{nc: nc, r: bufio.NewReaderSize(nc, 64<<10)}, nil
}

func (c *conn) close() { _ = c.nc.Close() }

// do sends one request and reads its reply.
func (c *conn) do(args ...[]byte) (Reply, error) {
	c.buf = appendCommand(c.buf[:0], args...)
	if _, err := c.nc.Write(c.buf); err != nil {
		return Reply{}, err
	}
	return readReply(c.r)
}

// runClosed sends batches of up to depth requests and waits for their
// replies before the next batch, until end, the budget or ctx runs out or
// the connection breaks. A request's latency runs from its batch's send.
func runClosed(ctx context.Context, c *conn, g *gen, depth int, end time.Time, budget *atomic.Int64, st *Stats) {
	for ctx.Err() == nil && time.Now().Before(end) {
		n := take(budget, depth)
		if n == 0 {
			return
		}
		c.buf = c.buf[:0]
		sent := 0
		for ; sent < n; sent++ {
			var ok bool
			if c.buf, ok = g.next(c.buf); !ok {
				break
			}
		}
		if sent == 0 {
			return
		}
		t0 := time.Now()
		if _, err := c.nc.Write(c.buf); err != nil {
			st.fail(sent, err.Error())
			return
		}
		for i := range sent {
			errText, err := skipReply(c.r)
			if err != nil {
				st.fail(sent-i, err.Error())
				return
			}
			st.Latency.Record(time.Since(t0))
			if errText != "" {
				st.fail(1, errText)
				continue
			}
			st.Requests++
		}
	}
}

// sentReq is a request of the open loop: the time it was meant to be sent,
// and whether sending it failed.
type sentReq struct {
	at     time.Time
	failed bool
}

// runOpen sends requests at the load's rate (its share of it) from start to
// end, whether or not replies come back, and counts each one's latency from
// the time it was meant to be sent: a server that stalls shows in the
// latencies of every request that should have gone out meanwhile.
func runOpen(ctx context.Context, c *conn, g *gen, l Load, start, end time.Time, budget *atomic.Int64, st *Stats) {
	interval := max(time.Duration(float64(time.Second)*float64(l.Clients)/float64(l.Rate)), 1)
	sent := make(chan sentReq, 4096)
	done := make(chan struct{})
	go func() {
		defer close(done)
		broken := false
		for s := range sent {
			if s.failed || broken {
				st.fail(1, "request not sent")
				continue
			}
			errText, err := skipReply(c.r)
			if err != nil {
				broken = true
				st.fail(1, err.Error())
				c.close() // the sender's next write fails
				continue
			}
			st.Latency.Record(time.Since(s.at))
			if errText != "" {
				st.fail(1, errText)
				continue
			}
			st.Requests++
		}
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	// Connections start spread over one interval, not all at once.
	at := start.Add(time.Duration(g.rng.Int64N(int64(interval))))
	failed := false
	for ; at.Before(end) && take(budget, 1) == 1; at = at.Add(interval) {
		timer.Reset(time.Until(at))
		select {
		case <-ctx.Done():
			close(sent)
			<-done
			return
		case <-timer.C:
		}
		c.buf, _ = g.next(c.buf[:0])
		if !failed {
			if _, err := c.nc.Write(c.buf); err != nil {
				failed = true
			}
		}
		sent <- sentReq{at: at, failed: failed}
	}
	close(sent)
	<-done
}
