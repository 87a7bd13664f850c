package resp

import (
	"bytes"
	"fmt"
	"io"
)

// Framing limits that are not configurable. They follow Redis 7.
const (
	// maxInline is the longest inline command line, Redis's
	// PROTO_INLINE_MAX_SIZE.
	maxInline = 64 << 10
	// maxMultibulk is the most arguments one command may have. Redis allows
	// up to INT_MAX but bounds the request by its 1 GiB query buffer; every
	// argument costs the reader a slice header, so dynkv bounds the count.
	maxMultibulk = 1 << 20
	// maxUnauthMultibulk and maxUnauthBulk bound a command sent before the
	// client has authenticated (when a password is required), as Redis 7.
	maxUnauthMultibulk = 10
	maxUnauthBulk      = 16 << 10
	// maxLenField is the longest length field: "-9223372036854775808".
	maxLenField = 20
)

// guardLimits are the configurable limits a guard enforces.
type guardLimits struct {
	maxBulk    int64 // largest bulk string, bytes (Config.MaxValueSize)
	maxRequest int64 // sum of the bulk strings of one command (Config.MaxRequestSize)
}

// guardState is where the guard is in the RESP framing.
type guardState uint8

const (
	gsStart     guardState = iota // before the first byte of a command
	gsInline                      // inside an inline command line
	gsCount                       // in the digits after '*'
	gsCountLF                     // expecting the '\n' that ends the count line
	gsDollar                      // expecting the '$' of the next bulk string
	gsBulkLen                     // in the digits after '$'
	gsBulkLenLF                   // expecting the '\n' that ends the length line
	gsBody                        // inside a bulk string's payload
	gsBodyCR                      // expecting the '\r' after the payload
	gsBodyLF                      // expecting the '\n' after the payload
)

// guard is an io.Reader over a client's connection that checks the RESP
// framing of every byte as it passes, so that limits are enforced from the
// length headers, before the reader (reader.go) allocates for the
// bytes they announce. It passes well-formed input through unchanged.
//
// On the first violation it passes on the bytes before it, then returns a
// *protocolError from every later Read: the connection replies to the
// commands before the violation, then with the error, then closes.
//
// While the client is not authenticated, a Read returns at most one command
// (it ends at the command's last byte and keeps the rest for the next Read),
// so that the reader hands over, and the server runs, AUTH before the guard
// judges the next command's length headers by the pre-authentication limits.
//
// Accepted framing is what both Redis and redcon accept, with two
// deviations from Redis, both errors rather than silent: a multibulk count
// of zero or less ("*0", "*-1"), which Redis skips, is "invalid multibulk
// length" (redcon's reader rejects it too), and a bulk string's payload must
// end in "\r\n", which Redis does not check but redcon does.
//
// A guard is used by one goroutine.
type guard struct {
	r      io.Reader
	lim    guardLimits
	authed func() bool // whether the client may use the full limits

	pending []byte // read from r but not yet returned
	rerr    error  // error from r, returned once pending is drained
	err     error  // protocol error, sticky

	st     guardState
	num    [maxLenField]byte // digits of the length field being read
	nlen   int               // bytes in num
	inline int               // bytes of the current inline line
	quotes inlineQuotes      // quoting state of the current inline line
	args   int64             // bulk strings left in the current command
	body   int64             // payload bytes left in the current bulk string
	req    int64             // payload bytes of the current command so far
	passed int64             // bytes returned by Read, for INFO
}

func newGuard(r io.Reader, lim guardLimits, authed func() bool) *guard {
	return &guard{r: r, lim: lim, authed: authed}
}

// Read reads from the connection into p, scans what it read, and returns
// the bytes that passed the checks.
func (g *guard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	if len(g.pending) > 0 {
		n = copy(p, g.pending)
		g.pending = g.pending[n:]
	} else {
		if g.rerr != nil {
			return 0, g.rerr
		}
		var err error
		n, err = g.r.Read(p)
		if n == 0 {
			return 0, err
		}
		g.rerr = err
	}
	k, err := g.scan(p[:n])
	g.passed += int64(k)
	if err != nil {
		g.err, g.pending = err, nil
		if k == 0 {
			return 0, err
		}
		return k, nil
	}
	if k < n {
		g.pending = append(bytes.Clone(p[k:n]), g.pending...)
	}
	if len(g.pending) == 0 {
		g.pending = nil
	}
	return k, nil
}

// scan advances the framing state over p and returns how many bytes of p
// are accepted. It stops early, without error, at the end of a command while
// the client is not authenticated.
func (g *guard) scan(p []byte) (int, error) {
	authed := g.authed()
	i := 0
	for i < len(p) {
		switch g.st {
		case gsStart:
			g.args, g.req, g.nlen, g.inline, g.quotes = 0, 0, 0, 0, inlineQuotes{}
			g.st = gsInline
			if p[i] == '*' {
				g.st = gsCount
				i++
			}
			continue
		case gsInline:
			n, err := g.inlineBytes(p[i:])
			i += n
			if err != nil {
				return i, err
			}
		case gsBody:
			take := min(int64(len(p)-i), g.body)
			i += int(take)
			g.body -= take
			if g.body == 0 {
				g.st = gsBodyCR
			}
		default:
			if err := g.framing(p[i], authed); err != nil {
				return i, err
			}
			i++
		}
		if g.st == gsStart && !authed { // a command ended
			return i, nil
		}
	}
	return i, nil
}

// framing takes one byte of a multibulk command's framing: a length field,
// its line end, a '$', or the line end after a payload.
func (g *guard) framing(c byte, authed bool) error {
	switch g.st {
	case gsCount, gsBulkLen:
		return g.digit(c)
	case gsCountLF:
		return g.count(c, authed)
	case gsBulkLenLF:
		return g.bulkLen(c, authed)
	case gsDollar:
		if c != '$' {
			return &protocolError{fmt.Sprintf("expected '$', got '%c'", c)}
		}
		g.st, g.nlen = gsBulkLen, 0
	case gsBodyCR:
		if c != '\r' {
			return errInvalidBulkLength
		}
		g.st = gsBodyLF
	case gsBodyLF:
		if c != '\n' {
			return errInvalidBulkLength
		}
		g.args--
		g.st = gsDollar
		if g.args == 0 {
			g.st = gsStart
		}
	}
	return nil
}

// inlineBytes scans the bytes of an inline command line, up to and
// including its '\n', and returns how many it accepts. It checks the line's
// length and its quoting: a line redcon's reader would reject for its quotes
// is refused before its '\n' passes, so that the commands before it run.
func (g *guard) inlineBytes(p []byte) (int, error) {
	for i, c := range p {
		if c == '\n' {
			g.st = gsStart
			if !g.quotes.end() {
				return i, errUnbalancedQuotes
			}
			return i + 1, nil
		}
		if g.inline == maxInline {
			return i, &protocolError{"too big inline request"}
		}
		g.inline++
		if !g.quotes.step(c) {
			return i, errUnbalancedQuotes
		}
	}
	return len(p), nil
}

// inlineQuotes follows the quoting of an inline command line as redcon's
// reader parses it: arguments are separated by spaces; an argument may be
// quoted with " or ' from its first byte, with backslash escapes inside; a
// closing quote must be followed by a space or the end of the line. A '\r'
// right before the '\n' is not part of the line.
type inlineQuotes struct {
	arg    int  // bytes of the current unquoted argument
	quote  byte // the open quote, or 0
	escape bool // the previous byte was a backslash inside quotes
	closed bool // a quote just closed
	cr     bool // a '\r' whose meaning depends on the next byte
}

// step takes one byte of the line other than '\n' and reports whether the
// line can still be valid.
func (q *inlineQuotes) step(c byte) bool {
	if q.cr {
		q.cr = false
		if !q.byte('\r') {
			return false
		}
	}
	if c == '\r' {
		q.cr = true
		return true
	}
	return q.byte(c)
}

func (q *inlineQuotes) byte(c byte) bool {
	if q.closed {
		q.closed, q.arg = false, 0
		return c == ' '
	}
	if q.quote == 0 {
		switch c {
		case ' ':
			q.arg = 0
		case '"', '\'':
			if q.arg != 0 {
				return false
			}
			q.quote = c
		default:
			q.arg++
		}
		return true
	}
	switch {
	case q.escape:
		q.escape = false
	case c == q.quote:
		q.quote, q.closed = 0, true
	case c == '\\':
		q.escape = true
	}
	return true
}

// end reports whether the line, now complete, is validly quoted.
func (q *inlineQuotes) end() bool { return q.quote == 0 }

var (
	errUnbalancedQuotes  = &protocolError{"unbalanced quotes in request"}
	errInvalidMultibulk  = &protocolError{"invalid multibulk length"}
	errInvalidBulkLength = &protocolError{"invalid bulk length"}
)

// digit takes one byte of a length field (gsCount or gsBulkLen). A byte
// that cannot be part of a length fails at once, before it is passed on.
func (g *guard) digit(c byte) error {
	if c == '\r' {
		g.st++ // to the matching LF state
		return nil
	}
	if g.nlen == len(g.num) || !('0' <= c && c <= '9' || c == '-' && g.nlen == 0) {
		if g.st == gsCount {
			return errInvalidMultibulk
		}
		return errInvalidBulkLength
	}
	g.num[g.nlen] = c
	g.nlen++
	return nil
}

// count checks the multibulk count line once its '\n' arrives.
func (g *guard) count(c byte, authed bool) error {
	n, ok := parseInt(g.num[:g.nlen])
	switch {
	case c != '\n' || !ok || n <= 0 || n > maxMultibulk:
		return errInvalidMultibulk
	case !authed && n > maxUnauthMultibulk:
		return &protocolError{"unauthenticated multibulk length"}
	}
	g.args, g.st = n, gsDollar
	return nil
}

// bulkLen checks a bulk string's length line once its '\n' arrives.
func (g *guard) bulkLen(c byte, authed bool) error {
	n, ok := parseInt(g.num[:g.nlen])
	switch {
	case c != '\n' || !ok || n < 0:
		return errInvalidBulkLength
	case n > g.lim.maxBulk:
		return &protocolError{fmt.Sprintf("invalid bulk length %d: exceeds max-value-size of %d bytes", n, g.lim.maxBulk)}
	case !authed && n > maxUnauthBulk:
		return &protocolError{"unauthenticated bulk length"}
	case g.req+n > g.lim.maxRequest:
		return &protocolError{fmt.Sprintf("request exceeds max-request-size of %d bytes", g.lim.maxRequest)}
	}
	g.req += n
	g.body = n
	g.st = gsBody
	if n == 0 {
		g.st = gsBodyCR
	}
	return nil
}
