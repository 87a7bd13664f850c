package peer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Frames. After the handshake (handshake.go) both directions of a peer
// connection carry frames:
//
//	[u32 payload length][u64 request id][u8 status][sealed payload]
//
// integers big-endian. The sealed payload is the payload encrypted and the
// 16-byte tag that authenticates it and the header (seal.go); the length is
// the payload's, before sealing. The dialling side sends requests (status
// 0); the accepting side answers each with one frame of the same id, in any
// order. The payload is an EncodeRequest or EncodeResponse, opaque to the
// transport.

const frameHeader = 4 + 8 + 1

// Frame statuses. A request always carries frameOK.
const (
	frameOK       byte = 0 // the payload is the response
	frameTooLarge byte = 1 // the response exceeded the server's MaxFrame; no payload
	frameFailed   byte = 2 // the handler panicked; no payload
	frameStatuses      = 3
)

// readStart is the most a frame's buffer holds before its bytes arrive:
// the buffer then doubles as they do (readPayload), so a peer announcing a
// large frame must send it before the node holds it.
const readStart = 64 << 10

var (
	// errFrameSize reports a frame longer than the receiver's MaxFrame.
	errFrameSize = errors.New("peer: peer frame exceeds max frame size")
	// errFrameStatus reports a frame with an unknown status.
	errFrameStatus = errors.New("peer: peer frame with unknown status")
	// errFrameSlow reports a frame whose body did not arrive within
	// Config.FrameTimeout of its header.
	errFrameSlow = errors.New("peer: peer frame too slow")
	// errReceiveAborted reports a reader that stopped waiting for the
	// receive budget because its connection failed.
	errReceiveAborted = errors.New("peer: wait for receive budget aborted")
)

// frame is one request or response.
type frame struct {
	id      uint64
	status  byte
	payload []byte
	buf     *[]byte // if set, payload's buffer, put back in framePool once written
}

// framePool recycles the buffers that hold copies of outgoing requests.
var framePool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooled is the largest buffer framePool keeps.
const maxPooled = 64 << 10

// pooledCopy returns a frame whose payload is a copy of b in a buffer from
// framePool.
func pooledCopy(id uint64, b []byte) frame {
	if len(b) > maxPooled {
		return frame{id: id, payload: bytes.Clone(b)}
	}
	buf := framePool.Get().(*[]byte)
	*buf = append((*buf)[:0], b...)
	return frame{id: id, payload: *buf, buf: buf}
}

// release puts f's buffer back in framePool; f must not be used after.
func (f frame) release() {
	if f.buf != nil && cap(*f.buf) <= maxPooled {
		framePool.Put(f.buf)
	}
}

// appendFrame appends the wire form of f, sealed by s, to dst.
func appendFrame(dst []byte, f frame, s *sealer) []byte {
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(f.payload)))
	dst = binary.BigEndian.AppendUint64(dst, f.id)
	dst = append(dst, f.status)
	hdr := dst[start:]
	return s.seal(dst, hdr, f.payload)
}

// writeFrame writes f, sealed by s, to bw: sealed in bw's free buffer
// space when it fits (no copy), else in a new buffer.
func writeFrame(bw *bufio.Writer, f frame, s *sealer) error {
	if frameHeader+len(f.payload)+sealOverhead > bw.Available() {
		if err := bw.Flush(); err != nil {
			return err
		}
	}
	_, err := bw.Write(appendFrame(bw.AvailableBuffer(), f, s))
	return err
}

// recvLimit bounds what one connection's reader holds: the transport's
// receive budget (budget.go), and the deadline of a frame's body.
type recvLimit struct {
	budget  *budget
	done    <-chan struct{} // closed when the connection fails: ends a wait for the budget
	nc      deadliner       // the connection: its read deadline bounds a frame's body
	timeout time.Duration   // Config.FrameTimeout
}

// deadliner is the part of a net.Conn recvLimit uses.
type deadliner interface{ SetReadDeadline(time.Time) error }

// readFrame reads one frame from r and opens it with s; hdr is scratch
// space. A frame whose length exceeds maxLen returns errFrameSize before
// anything is allocated for it, one with an unknown status (or, with
// request, any status but frameOK) errFrameStatus, one that fails to open
// errFrameAuth. With lim, the frame's length is reserved from lim.budget
// before its body is read (waiting for it, or errReceiveAborted once
// lim.done is closed) and released when readFrame returns, and the body
// must arrive within lim.timeout (else errFrameSlow). A clean end between
// frames returns io.EOF, an end inside one io.ErrUnexpectedEOF. The payload
// is newly allocated and owned by the caller. It never panics.
func readFrame(r io.Reader, hdr *[frameHeader]byte, maxLen int, s *sealer, request bool, lim *recvLimit) (frame, error) {
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return frame{}, err
	}
	n := int64(binary.BigEndian.Uint32(hdr[0:4]))
	f := frame{id: binary.BigEndian.Uint64(hdr[4:12]), status: hdr[12]}
	switch {
	case n > int64(maxLen):
		return frame{}, fmt.Errorf("%w: %d > %d bytes", errFrameSize, n, maxLen)
	case f.status >= frameStatuses:
		return frame{}, fmt.Errorf("%w %d", errFrameStatus, f.status)
	case request && f.status != frameOK:
		return frame{}, fmt.Errorf("%w %d in a request", errFrameStatus, f.status)
	}
	size := int(n) + sealOverhead
	var held *atomic.Int64
	deadline := false // set on lim.nc
	if lim != nil {
		if !lim.budget.reserve(lim.done, int64(size)) {
			return frame{}, errReceiveAborted
		}
		defer lim.budget.release(int64(size))
		held = &lim.budget.held
		// A body already buffered (most frames: the small ones) needs no
		// deadline; setting one costs a timer per frame.
		if br, ok := r.(interface{ Buffered() int }); !ok || br.Buffered() < size {
			if err := lim.nc.SetReadDeadline(time.Now().Add(lim.timeout)); err != nil {
				return frame{}, err
			}
			deadline = true
		}
	}
	sealed, err := readPayload(r, size, held)
	if err != nil {
		var ne net.Error
		switch {
		case err == io.EOF:
			err = io.ErrUnexpectedEOF
		case deadline && errors.As(err, &ne) && ne.Timeout():
			err = fmt.Errorf("%w: %d of %d bytes not received within %s", errFrameSlow, size-len(sealed), size, lim.timeout)
		}
		return frame{}, err
	}
	if deadline {
		if err := lim.nc.SetReadDeadline(time.Time{}); err != nil {
			return frame{}, err
		}
	}
	if f.payload, err = s.open(hdr[:], sealed); err != nil {
		return frame{}, err
	}
	if len(f.payload) == 0 {
		f.payload = nil
	}
	return f, nil
}

// readPayload reads exactly n bytes into a buffer that starts at readStart
// bytes (or n if smaller) and doubles, up to n, each time the bytes fill
// it: it never holds more than twice the bytes received, or readStart.
// held, when not nil, counts the buffer's capacity while readPayload runs.
// On error it returns the bytes it read.
func readPayload(r io.Reader, n int, held *atomic.Int64) ([]byte, error) {
	var dummy atomic.Int64
	if held == nil {
		held = &dummy
	}
	b := make([]byte, 0, min(n, readStart))
	held.Add(int64(cap(b)))
	defer func() { held.Add(-int64(cap(b))) }()
	for len(b) < n {
		if len(b) == cap(b) {
			nb := make([]byte, len(b), min(n, 2*cap(b)))
			held.Add(int64(cap(nb)))
			copy(nb, b)
			held.Add(-int64(cap(b)))
			b = nb
		}
		m, err := io.ReadFull(r, b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err != nil {
			return b, err
		}
	}
	return b, nil
}

// wire is the half of a peer connection both sides share: the socket, the
// queue of outgoing frames and its single writer, and the failure state.
// The writer drains every frame queued and flushes only when the queue is
// empty, so concurrent requests (or responses) leave in one write syscall.
type wire struct {
	nc   net.Conn
	seal *sealer // seals the outgoing frames; used by writeLoop only
	log  *slog.Logger
	out  chan frame    // frames for the writer; never closed
	done chan struct{} // closed by fail
	once sync.Once
	err  error // why the wire failed; written before done is closed
}

// wireQueue is the length of a wire's queue: senders block (or give up on
// their ctx) beyond it.
const wireQueue = 256

// wireBuffer is the size of a wire's read and write buffers.
const wireBuffer = 64 << 10

func newWire(nc net.Conn, seal *sealer, log *slog.Logger) wire {
	return wire{nc: nc, seal: seal, log: log, out: make(chan frame, wireQueue), done: make(chan struct{})}
}

// fail marks the wire failed with err and closes the socket, which ends its
// reader; the writer ends on done. Only the first call has an effect.
func (w *wire) fail(err error) {
	w.once.Do(func() {
		w.err = err
		close(w.done)
		_ = w.nc.Close()
	})
}

// failed returns the error the wire failed with, or nil.
func (w *wire) failed() error {
	select {
	case <-w.done:
		return w.err
	default:
		return nil
	}
}

// send queues f for the writer. It blocks while the queue is full, until
// done (ctxDone) or the wire fails (its error). The writer owns f.payload
// once send returns nil.
func (w *wire) send(ctxDone <-chan struct{}, f frame) error {
	select {
	case w.out <- f:
		return nil
	case <-ctxDone:
		return errCtxDone
	case <-w.done:
		return w.err
	}
}

// errCtxDone is send's report that its ctx ended; callers return ctx.Err().
var errCtxDone = errors.New("peer: context done")

// writeLoop is the wire's only writer. It runs until the wire fails.
//
// It writes every frame queued into its buffer and flushes when the queue
// is empty. Before flushing it yields the processor up to
// writeYields times while that brings more frames: the handlers and
// callers that are about to send then run first and share the syscall.
// Measured on 2 cores with 64 callers, this takes a loopback round trip
// from about 16 to 8 µs.
func (w *wire) writeLoop() {
	bw := bufio.NewWriterSize(w.nc, wireBuffer)
	for {
		var f frame
		select {
		case f = <-w.out:
		case <-w.done:
			return
		}
		for yields := 0; ; {
			err := writeFrame(bw, f, w.seal)
			f.release() // sealed into bw's buffer, or written out
			if err != nil {
				w.fail(fmt.Errorf("peer: peer write: %w", err))
				return
			}
			var more bool
			if f, more = w.poll(); !more && yields < writeYields {
				yields++
				runtime.Gosched()
				f, more = w.poll()
			}
			if !more {
				break
			}
		}
		if err := bw.Flush(); err != nil {
			w.fail(fmt.Errorf("peer: peer write: %w", err))
			return
		}
	}
}

// writeYields bounds the yields of writeLoop before one flush.
const writeYields = 1

// poll returns the next queued frame, if there is one.
func (w *wire) poll() (frame, bool) {
	select {
	case f := <-w.out:
		return f, true
	default:
		return frame{}, false
	}
}

// logEnd logs why a connection ended: a peer that broke the protocol (or
// was too slow) at warn, at most as often as lim lets through, an ordinary
// close at debug.
func (w *wire) logEnd(lim *logLimit, err error, attrs ...any) {
	attrs = append(attrs, "remote", w.nc.RemoteAddr().String(), "err", err)
	if errors.Is(err, errFrameSize) || errors.Is(err, errFrameStatus) || errors.Is(err, errFrameAuth) ||
		errors.Is(err, errFrameSlow) || errors.Is(err, io.ErrUnexpectedEOF) {
		if ok, n := lim.allow(); ok {
			w.log.Warn("peer connection closed: bad frame", append(attrs, "suppressed", n)...)
		}
		return
	}
	w.log.Debug("peer connection closed", attrs...)
}
