package resp

import (
	"errors"
	"io"
	"strconv"

	"github.com/tidwall/redcon"
)

// maxIdleBuffer is the largest reply buffer a connection keeps between
// flushes; a bigger one (after a large MGET) is released.
const maxIdleBuffer = 256 << 10

// errReplyCut ends a client whose reply had begun to leave when its command
// failed: the error cannot be its reply any more.
var errReplyCut = errors.New("resp: command failed after part of its reply was sent")

// writer buffers the replies to one client, in RESP2 encoding or, after
// HELLO 3, RESP3 (resp3): nulls, maps, sets and verbatim strings then take
// their RESP3 types, and RESP2 gets what Redis sends it instead (a null
// bulk string or array, flat arrays, bulk strings). Nothing
// reaches the client before flush, so the replies to a whole pipeline leave
// in one write, except what a streaming command sends as it goes
// (streamBulk). A writer is used by one goroutine.
type writer struct {
	w     io.Writer
	b     []byte
	sent  int   // bytes flushed so far: a mark below it cannot be truncated to
	err   error // first write error; later flushes return it
	resp3 bool  // the client speaks RESP3 (HELLO 3)
}

func newWriter(w io.Writer) *writer { return &writer{w: w} }

func (w *writer) ok()                 { w.b = append(w.b, "+OK\r\n"...) }
func (w *writer) status(s string)     { w.b = redcon.AppendString(w.b, s) }
func (w *writer) errorReply(s string) { w.b = redcon.AppendError(w.b, s) }
func (w *writer) bulk(b []byte)       { w.b = redcon.AppendBulk(w.b, b) }
func (w *writer) bulkString(s string) { w.b = redcon.AppendBulkString(w.b, s) }
func (w *writer) integer(n int64)     { w.b = redcon.AppendInt(w.b, n) }
func (w *writer) array(n int)         { w.b = redcon.AppendArray(w.b, n) }

// null writes a null: RESP3's, or RESP2's null bulk string.
func (w *writer) null() {
	if w.resp3 {
		w.b = append(w.b, "_\r\n"...)
		return
	}
	w.b = redcon.AppendNull(w.b)
}

// nullArray writes a null: RESP3's, or RESP2's null array (EXEC aborted).
func (w *writer) nullArray() {
	if w.resp3 {
		w.b = append(w.b, "_\r\n"...)
		return
	}
	w.b = append(w.b, "*-1\r\n"...)
}

// pushLen starts a push message of n elements (Pub/Sub): RESP3's, or a
// RESP2 array.
func (w *writer) pushLen(n int) { w.aggregate('>', n, n) }

// mapLen starts a map of n pairs: RESP3's, or a RESP2 array of 2n.
func (w *writer) mapLen(n int) { w.aggregate('%', n, 2*n) }

// setLen starts a set of n elements: RESP3's, or a RESP2 array.
func (w *writer) setLen(n int) { w.aggregate('~', n, n) }

// aggregate starts a RESP3 aggregate of type kind and length n, or, in
// RESP2, the array of n2 elements Redis sends instead.
func (w *writer) aggregate(kind byte, n, n2 int) {
	if !w.resp3 {
		w.array(n2)
		return
	}
	w.b = append(w.b, kind)
	w.b = strconv.AppendInt(w.b, int64(n), 10)
	w.b = append(w.b, '\r', '\n')
}

// verbatim writes text (INFO, CLIENT LIST, CLUSTER NODES): a RESP3
// verbatim string of format txt, or a RESP2 bulk string.
func (w *writer) verbatim(text string) {
	if !w.resp3 {
		w.bulkString(text)
		return
	}
	w.b = append(w.b, '=')
	w.b = strconv.AppendInt(w.b, int64(len(text)+4), 10)
	w.b = append(w.b, "\r\ntxt:"...)
	w.b = append(w.b, text...)
	w.b = append(w.b, '\r', '\n')
}

func (w *writer) bulkOrNull(b []byte, ok bool) {
	if !ok {
		w.null()
		return
	}
	w.bulk(b)
}

// mark returns the position a failed command's partial reply is truncated to.
func (w *writer) mark() int { return w.sent + len(w.b) }

// truncate discards everything written after mark m. If part of it has
// been sent already, it cannot: it fails the writer with errReplyCut, so
// that the connection ends, and returns false.
func (w *writer) truncate(m int) bool {
	if m < w.sent {
		w.b = w.b[:0]
		if w.err == nil {
			w.err = errReplyCut
		}
		return false
	}
	w.b = w.b[:m-w.sent]
	return true
}

// sentSince reports whether part of what was written after mark m has
// been sent.
func (w *writer) sentSince(m int) bool { return m < w.sent }

// buffered returns the number of bytes waiting for flush.
func (w *writer) buffered() int { return len(w.b) }

// streamBulk writes v as a bulk reply, or a null one if !ok, for a command
// whose reply is streamed (MGET): once the buffer has reached
// flushThreshold it is sent, and a value of flushThreshold bytes or more is
// sent from v itself, without a copy, so that a reply of many values never
// becomes memory. It blocks while the client's socket does not take the
// bytes. Without a destination (a task's writer) it only buffers.
func (w *writer) streamBulk(v []byte, ok bool) error {
	if w.w == nil || !ok || len(v) < flushThreshold {
		w.bulkOrNull(v, ok)
		if w.w == nil || len(w.b) < flushThreshold {
			return nil
		}
		_, err := w.flush()
		return err
	}
	w.b = append(w.b, '$')
	w.b = strconv.AppendInt(w.b, int64(len(v)), 10)
	w.b = append(w.b, '\r', '\n')
	if _, err := w.flush(); err != nil {
		return err
	}
	if _, err := w.send(v); err != nil {
		return err
	}
	w.b = append(w.b, '\r', '\n')
	return nil
}

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
	n, err := w.send(w.b)
	w.release()
	return n, err
}

// send writes p to the destination, counting it as sent.
func (w *writer) send(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.w.Write(p)
	w.sent += n
	w.err = err
	return n, err
}
