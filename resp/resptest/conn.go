package resptest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Conn is a raw RESP client connection: it sends bytes as given and reads
// replies as raw bytes, for tests of exact protocol behaviour.
type Conn struct {
	t  testing.TB
	nc net.Conn
	r  *bufio.Reader
}

// Dial connects to addr. The connection is closed when the test ends.
func Dial(t testing.TB, addr string) *Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, Timeout)
	if err != nil {
		t.Fatalf("resptest: dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return &Conn{t: t, nc: nc, r: bufio.NewReader(nc)}
}

// Send writes raw bytes.
func (c *Conn) Send(raw string) {
	c.t.Helper()
	_ = c.nc.SetWriteDeadline(time.Now().Add(Timeout))
	if _, err := io.WriteString(c.nc, raw); err != nil {
		c.t.Fatalf("resptest: send: %v", err)
	}
}

// Do sends args as one multibulk command and returns the raw reply.
func (c *Conn) Do(args ...string) string {
	c.t.Helper()
	c.Send(Command(args...))
	return c.Reply()
}

// Reply reads one complete reply and returns its raw bytes.
func (c *Conn) Reply() string {
	c.t.Helper()
	r, err := c.TryReply()
	if err != nil {
		c.t.Fatalf("resptest: read reply: %v", err)
	}
	return r
}

// TryReply reads one complete reply, or returns the error that prevented
// it (io.EOF once the server has closed the connection).
func (c *Conn) TryReply() (string, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(Timeout))
	b, err := ReadReply(c.r)
	return string(b), err
}

// WaitClosed reads until the server closes the connection and fails the
// test if it sends anything more or does not close within Timeout.
func (c *Conn) WaitClosed() {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(Timeout))
	b, err := io.ReadAll(c.r)
	if len(b) > 0 {
		c.t.Fatalf("resptest: unexpected bytes before close: %q", b)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("resptest: server did not close the connection")
	}
}

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Command encodes args as a RESP multibulk command.
func Command(args ...string) string {
	var b strings.Builder
	b.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b.WriteString("$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n")
	}
	return b.String()
}

// ReadReply reads one complete RESP2 reply from r and returns its raw
// bytes.
func ReadReply(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("resptest: bad reply line %q", line)
	}
	n, convErr := strconv.Atoi(string(line[1 : len(line)-2]))
	switch line[0] {
	case '+', '-', ':':
		return line, nil
	case '$':
		if convErr != nil {
			return nil, fmt.Errorf("resptest: bad bulk length %q", line)
		}
		if n < 0 {
			return line, nil
		}
		body := make([]byte, n+2)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, err
		}
		return append(line, body...), nil
	case '*':
		if convErr != nil {
			return nil, fmt.Errorf("resptest: bad array length %q", line)
		}
		out := line
		for range max(n, 0) {
			item, err := ReadReply(r)
			if err != nil {
				return nil, err
			}
			out = append(out, item...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("resptest: bad reply type %q", line)
}
