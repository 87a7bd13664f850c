package resp

import (
	"io"

	"github.com/tidwall/redcon"
)

// readBufSize is the size of a reader's buffer. Commands that arrive whole
// in it are parsed in place; an argument that does not is read into a
// buffer of its own.
const readBufSize = 4 << 10

// reader reads a client's commands from its guard (which has checked the
// framing and the length limits of every byte it passes). redcon's Reader
// grows its buffer by doubling until a whole request fits and then copies
// the request, which made a partial request cost 2.4 to 3.8 times its
// bytes. reader keeps a fixed buffer instead and reads each argument into
// a buffer of exactly its length, allocated when its length line arrives:
// a request costs its arguments' bytes, however it arrives. It accounts
// what it holds as the client's query bytes (memory.go): the unparsed input,
// the arguments of the command being read (a big one counts whole from its
// length line, as Redis's query buffer does), and the arguments of the
// commands it last returned, until the next ReadCommands.
//
// Inline commands (a line not starting with '*') are parsed by redcon, so
// that their quoting rules stay redcon's. A reader is used by one
// goroutine.
type reader struct {
	r   io.Reader
	mem *clientMem // nil: no accounting

	buf        []byte // readBufSize bytes, more only while it holds a long inline line (the guard bounds it)
	start, end int    // the unparsed input is buf[start:end]
	cmds       []redcon.Command

	// The multibulk command being read, which has not arrived whole.
	args  [][]byte // its arguments so far
	nargs int      // arguments it announced; 0 when no command is being read
	arg   []byte   // the argument being read, at its exact length; nil between arguments
	got   int      // bytes of arg read so far
	held  int64    // bytes of args and arg
	ran   int64    // bytes of the arguments of the commands last returned
}

func newReader(r io.Reader, mem *clientMem) *reader {
	return &reader{r: r, mem: mem, buf: make([]byte, readBufSize)}
}

// ReadCommands returns the commands that have arrived: it blocks until at
// least one has. The commands and their arguments are the caller's until
// the next call; the argument bytes are never reused.
func (r *reader) ReadCommands() ([]redcon.Command, error) {
	clear(r.cmds)
	r.cmds, r.ran = r.cmds[:0], 0
	for {
		if err := r.parse(); err != nil {
			return nil, err
		}
		r.account()
		if len(r.cmds) > 0 {
			return r.cmds, nil
		}
		if err := r.fill(); err != nil {
			return nil, err
		}
	}
}

// account reports the bytes the reader holds.
func (r *reader) account() {
	if r.mem != nil {
		r.mem.setQuery(int64(r.end-r.start) + r.held + r.ran)
	}
}

// fill reads more input: into the argument being read when the buffer has
// nothing left for it, else into the buffer.
func (r *reader) fill() error {
	if r.arg != nil && r.got < len(r.arg) && r.start == r.end {
		n, err := r.r.Read(r.arg[r.got:])
		r.got += n
		if n > 0 {
			return nil
		}
		return err
	}
	switch {
	case r.start == r.end:
		r.start, r.end = 0, 0
		if len(r.buf) > readBufSize {
			r.buf = make([]byte, readBufSize) // after a long inline line
		}
	case r.end == len(r.buf) && r.start > 0:
		r.end = copy(r.buf, r.buf[r.start:r.end])
		r.start = 0
	case r.end == len(r.buf): // a long inline line
		b := make([]byte, 2*len(r.buf))
		copy(b, r.buf[r.start:r.end])
		r.buf = b
	}
	n, err := r.r.Read(r.buf[r.end:])
	r.end += n
	if n > 0 {
		return nil
	}
	return err
}

// parse parses the commands in the buffer into r.cmds, and moves the
// arguments of a command that has not arrived whole out of the buffer.
func (r *reader) parse() error {
	for {
		if r.nargs > 0 {
			done, err := r.partial()
			if !done || err != nil {
				return err
			}
			continue
		}
		if r.start == r.end {
			return nil
		}
		if r.buf[r.start] != '*' {
			done, err := r.inline()
			if !done || err != nil {
				return err
			}
			continue
		}
		if ok, err := r.whole(); ok || err != nil {
			if err != nil {
				return err
			}
			continue
		}
		n, next, st := header(r.buf[r.start:r.end], 0, '*')
		switch st {
		case incomplete:
			return nil
		case malformed:
			return errInvalidMultibulk
		}
		r.start += next
		r.nargs, r.args = n, make([][]byte, 0, min(n, 1024))
	}
}

// whole parses the multibulk command at the start of the buffer if all of
// it is there: its arguments share one allocation of their exact total
// size. It consumes nothing and returns false if part of it is missing.
func (r *reader) whole() (bool, error) {
	b := r.buf[r.start:r.end]
	n, i, st := header(b, 0, '*')
	if st != complete {
		return false, nil
	}
	total := 0
	j := i
	for range n {
		size, next, st := header(b, j, '$')
		if st != complete || next+size+2 > len(b) {
			return false, nil
		}
		total += size
		j = next + size + 2
	}
	data := make([]byte, total)
	args := make([][]byte, n)
	j, total = i, 0
	for k := range args {
		size, next, _ := header(b, j, '$')
		if b[next+size] != '\r' || b[next+size+1] != '\n' {
			return false, errInvalidBulkLength
		}
		args[k] = data[total : total+size : total+size]
		copy(args[k], b[next:next+size])
		total += size
		j = next + size + 2
	}
	r.start += j
	r.ran += int64(len(data))
	r.cmds = append(r.cmds, redcon.Command{Args: args})
	return true, nil
}

// partial continues the command that has not arrived whole, with what is
// in the buffer. It reports whether the command is complete.
func (r *reader) partial() (bool, error) {
	for len(r.args) < r.nargs {
		if r.arg == nil {
			size, next, st := header(r.buf[r.start:r.end], 0, '$')
			switch st {
			case incomplete:
				return false, nil
			case malformed:
				return false, errInvalidBulkLength
			}
			r.start += next
			r.arg, r.got = make([]byte, size), 0
			r.held += int64(size)
			r.account() // before the bytes arrive: a big argument counts whole now
		}
		n := copy(r.arg[r.got:], r.buf[r.start:r.end])
		r.got += n
		r.start += n
		switch {
		case r.got < len(r.arg):
			return false, nil // the buffer is empty: fill reads into arg
		case r.start < r.end && r.buf[r.start] != '\r', r.end-r.start >= 2 && r.buf[r.start+1] != '\n':
			return false, errInvalidBulkLength
		case r.end-r.start < 2:
			return false, nil
		}
		r.start += 2
		r.args = append(r.args, r.arg)
		r.arg = nil
	}
	r.cmds = append(r.cmds, redcon.Command{Args: r.args})
	r.ran += r.held
	r.args, r.nargs, r.held = nil, 0, 0
	return true, nil
}

// inline parses an inline command line once its '\n' has arrived. An empty
// line is skipped, as in Redis.
func (r *reader) inline() (bool, error) {
	b := r.buf[r.start:r.end]
	i := 0
	for i < len(b) && b[i] != '\n' {
		i++
	}
	if i == len(b) {
		return false, nil
	}
	line := b[:i+1]
	r.start += i + 1
	if blank(line) {
		return true, nil
	}
	cmd, err := redcon.Parse(line)
	if err != nil {
		return false, errUnbalancedQuotes // the guard refuses every other malformed line first
	}
	cmd.Raw = nil
	for _, a := range cmd.Args {
		r.ran += int64(len(a))
	}
	r.cmds = append(r.cmds, cmd)
	return true, nil
}

// blank reports whether an inline line (with its '\n') has no argument:
// only spaces, then the line end ("\r\n" or "\n"), as redcon splits it.
func blank(line []byte) bool {
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	for _, c := range line {
		if c != ' ' {
			return false
		}
	}
	return true
}

// headerState is how far a length line has arrived.
type headerState uint8

const (
	complete headerState = iota
	incomplete
	malformed
)

// header parses the length line ("*3\r\n", "$5\r\n") that starts at b[i]
// with the byte kind, and returns the length and the index after the line.
func header(b []byte, i int, kind byte) (int, int, headerState) {
	if i >= len(b) {
		return 0, 0, incomplete
	}
	if b[i] != kind {
		return 0, 0, malformed
	}
	n, neg := 0, false
	for j := i + 1; j < len(b); j++ {
		c := b[j]
		switch {
		case '0' <= c && c <= '9' && j-i <= maxLenField:
			n = n*10 + int(c-'0')
		case c == '-' && j == i+1:
			neg = true // the guard refuses a negative length at its line end; until then it is incomplete
		case c == '\r':
			if j+1 == len(b) {
				return 0, 0, incomplete
			}
			if j == i+1 || b[j+1] != '\n' || neg || (kind == '*' && n == 0) {
				return 0, 0, malformed
			}
			return n, j + 2, complete
		default:
			return 0, 0, malformed
		}
	}
	return 0, 0, incomplete
}
