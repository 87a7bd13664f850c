package resp

import (
	"io"

	"github.com/tidwall/redcon"
)

// maxIdleBuffer is the largest reply buffer a connection keeps between
// flushes; a bigger one (after a large MGET) is released.
const maxIdleBuffer = 256 << 10

// writer buffers the replies to one client in RESP2 encoding. Nothing
// reaches the client before flush, so the replies to a whole pipeline leave
// in one write. A writer is used by one goroutine.
type writer struct {
	w   io.Writer
	b   []byte
	err error // first write error; later flushes return it
}

func newWriter(w io.Writer) *writer { return &writer{w: w} }

func (w *writer) ok()                 { w.b = append(w.b, "+OK\r\n"...) }
func (w *writer) status(s string)     { w.b = redcon.AppendString(w.b, s) }
func (w *writer) errorReply(s string) { w.b = redcon.AppendError(w.b, s) }
func (w *writer) bulk(b []byte)       { w.b = redcon.AppendBulk(w.b, b) }
func (w *writer) bulkString(s string) { w.b = redcon.AppendBulkString(w.b, s) }
func (w *writer) integer(n int64)     { w.b = redcon.AppendInt(w.b, n) }
func (w *writer) array(n int)         { w.b = redcon.AppendArray(w.b, n) }
func (w *writer) null()               { w.b = redcon.AppendNull(w.b) }
func (w *writer) nullArray()          { w.b = append(w.b, "*-1\r\n"...) }
func (w *writer) bulkOrNull(b []byte, ok bool) {
	if !ok {
		w.null()
		return
	}
	w.bulk(b)
}

// mark returns the position a failed command's partial reply is truncated to.
func (w *writer) mark() int { return len(w.b) }

// truncate discards everything written after mark m.
func (w *writer) truncate(m int) { w.b = w.b[:m] }

// appendFrom appends the replies buffered in o.
func (w *writer) appendFrom(o *writer) { w.b = append(w.b, o.b...) }

// release empties the buffer, keeping it for reuse unless it has grown
// past maxIdleBuffer.
func (w *writer) release() {
	if cap(w.b) > maxIdleBuffer {
		w.b = nil
	} else {
		w.b = w.b[:0]
	}
}

// flush sends the buffered replies and returns the number of bytes sent. It
// blocks until the client's socket has taken them.
func (w *writer) flush() (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if len(w.b) == 0 {
		return 0, nil
	}
	n, err := w.w.Write(w.b)
	w.err = err
	w.release()
	return n, err
}
