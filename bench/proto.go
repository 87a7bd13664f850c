package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// The load generator's RESP2: requests are written as arrays of bulk
// strings, replies read by readReply (kept) or skipReply (discarded). Both
// readers bound what they accept, so a hostile or broken server cannot make
// the client allocate without limit or recurse without end.

const (
	maxBulk  = 64 << 20 // largest bulk string accepted, bytes (dynkv's max-value-size)
	maxElems = 1 << 20  // most elements of one array
	maxDepth = 16       // deepest nesting of arrays
)

// Reply is one RESP2 reply as readReply returns it.
type Reply struct {
	Kind  byte    // '+' status, '-' error, ':' integer, '$' bulk, '*' array
	Str   []byte  // text of a status, error or bulk string
	Int   int64   // value of an integer
	Elems []Reply // elements of an array
	Nil   bool    // a nil bulk string or nil array
}

// IsError reports whether r is an error reply.
func (r Reply) IsError() bool { return r.Kind == '-' }

// appendCommand appends args as a RESP array of bulk strings to b.
func appendCommand(b []byte, args ...[]byte) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

// appendReply appends r in RESP2 to b: the encoder of the fuzz test's round
// trip, and of fake servers in tests.
func appendReply(b []byte, r Reply) []byte {
	switch r.Kind {
	case '+', '-':
		b = append(b, r.Kind)
		b = append(b, r.Str...)
	case ':':
		b = append(b, ':')
		b = strconv.AppendInt(b, r.Int, 10)
	case '$':
		if r.Nil {
			return append(b, "$-1\r\n"...)
		}
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(r.Str)), 10)
		b = append(b, '\r', '\n')
		b = append(b, r.Str...)
	case '*':
		if r.Nil {
			return append(b, "*-1\r\n"...)
		}
		b = append(b, '*')
		b = strconv.AppendInt(b, int64(len(r.Elems)), 10)
		b = append(b, '\r', '\n')
		for _, e := range r.Elems {
			b = appendReply(b, e)
		}
		return b
	}
	return append(b, '\r', '\n')
}

// readLine returns the next line without its CRLF. The slice is valid
// until the next read from r.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, fmt.Errorf("%w: line longer than %d bytes", ErrProtocol, r.Size())
	}
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("%w: line not ended by CRLF", ErrProtocol)
	}
	return line[:len(line)-2], nil
}

// parseLen parses the length of a bulk string or array: -1 (nil) up to
// limit.
func parseLen(b []byte, limit int) (int, error) {
	n, err := strconv.Atoi(string(b))
	if err != nil || n < -1 || n > limit {
		return 0, fmt.Errorf("%w: bad length %q", ErrProtocol, b)
	}
	return n, nil
}

// readReply reads one reply. The reply owns its memory.
func readReply(r *bufio.Reader) (Reply, error) { return readReplyDepth(r, 0) }

func readReplyDepth(r *bufio.Reader, depth int) (Reply, error) {
	if depth > maxDepth {
		return Reply{}, fmt.Errorf("%w: arrays nested deeper than %d", ErrProtocol, maxDepth)
	}
	line, err := readLine(r)
	if err != nil {
		return Reply{}, err
	}
	kind, rest := line[0], line[1:]
	switch kind {
	case '+', '-':
		if bytes.IndexByte(rest, '\r') >= 0 {
			return Reply{}, fmt.Errorf("%w: CR in a status line", ErrProtocol)
		}
		return Reply{Kind: kind, Str: bytes.Clone(rest)}, nil
	case ':':
		n, err := strconv.ParseInt(string(rest), 10, 64)
		if err != nil {
			return Reply{}, fmt.Errorf("%w: bad integer %q", ErrProtocol, rest)
		}
		return Reply{Kind: ':', Int: n}, nil
	case '$':
		n, err := parseLen(rest, maxBulk)
		if err != nil || n < 0 {
			return Reply{Kind: '$', Nil: true}, err
		}
		// Grown as the bytes arrive: a length alone allocates little.
		var bb bytes.Buffer
		bb.Grow(min(n+2, 64<<10))
		if _, err := io.CopyN(&bb, r, int64(n+2)); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return Reply{}, err
		}
		buf := bb.Bytes()
		if buf[n] != '\r' || buf[n+1] != '\n' {
			return Reply{}, fmt.Errorf("%w: bulk string not ended by CRLF", ErrProtocol)
		}
		return Reply{Kind: '$', Str: buf[:n:n]}, nil
	case '*':
		n, err := parseLen(rest, maxElems)
		if err != nil || n < 0 {
			return Reply{Kind: '*', Nil: true}, err
		}
		out := Reply{Kind: '*', Elems: make([]Reply, 0, min(n, 1024))}
		for range n {
			e, err := readReplyDepth(r, depth+1)
			if err != nil {
				return Reply{}, err
			}
			out.Elems = append(out.Elems, e)
		}
		return out, nil
	}
	return Reply{}, fmt.Errorf("%w: unknown reply type %q", ErrProtocol, kind)
}

// skipReply reads one reply and discards it. It returns the text of an
// error reply (allocated only then), or "".
func skipReply(r *bufio.Reader) (errText string, err error) {
	return errText, skipDepth(r, 0, &errText)
}

func skipDepth(r *bufio.Reader, depth int, errText *string) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: arrays nested deeper than %d", ErrProtocol, maxDepth)
	}
	line, err := readLine(r)
	if err != nil {
		return err
	}
	switch line[0] {
	case '+', '-':
		if bytes.IndexByte(line[1:], '\r') >= 0 {
			return fmt.Errorf("%w: CR in a status line", ErrProtocol)
		}
		if line[0] == '-' && depth == 0 {
			*errText = string(line[1:])
		}
		return nil
	case ':':
		if _, err := strconv.ParseInt(string(line[1:]), 10, 64); err != nil {
			return fmt.Errorf("%w: bad integer %q", ErrProtocol, line[1:])
		}
		return nil
	case '$':
		n, err := parseLen(line[1:], maxBulk)
		if err != nil || n < 0 {
			return err
		}
		if _, err := r.Discard(n); err != nil {
			return err
		}
		crlf, err := r.Peek(2)
		if err != nil {
			return err
		}
		if crlf[0] != '\r' || crlf[1] != '\n' {
			return fmt.Errorf("%w: bulk string not ended by CRLF", ErrProtocol)
		}
		_, err = r.Discard(2)
		return err
	case '*':
		n, err := parseLen(line[1:], maxElems)
		if err != nil {
			return err
		}
		for range n {
			if err := skipDepth(r, depth+1, errText); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%w: unknown reply type %q", ErrProtocol, line[0])
}
