package replica

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
)

// The peer protocol: what nodes ask of each other's stores. A Transport
// carries opaque request and response bytes; this file defines them. Both
// start with a format byte; every length is checked against the bytes
// present, so a peer that speaks nonsense gets an error response and changes
// nothing.

const peerFormat byte = 1

// Op is a peer request type.
type Op byte

const (
	// OpGet reads a key's siblings. With Hint set, the reply also includes
	// what the node holds as hints for that node (a fallback read).
	OpGet Op = 1
	// OpMerge syncs the request's siblings into the key's and acknowledges
	// once durable.
	OpMerge Op = 2
	// OpHint stores the siblings as a hint for node Hint, to be handed to it
	// when it is healthy again.
	OpHint Op = 3
)

// Request is one peer request.
type Request struct {
	Op       Op
	Key      []byte
	Hint     string   // OpHint, OpGet: the node the data is meant for
	Siblings Siblings // OpMerge, OpHint
}

// Response is the reply to a Request.
type Response struct {
	Siblings Siblings // OpGet
	Err      error    // nil, or one of the sentinels in peerCodes
}

// peerCodes is the two-way table of errors a response can carry.
var peerCodes = []struct {
	code byte
	err  error
}{
	{1, ErrClosed},
	{2, ErrCorruptRecord},
	{3, ErrBadRequest},
	{4, context.DeadlineExceeded},
	{5, context.Canceled},
	{6, ErrRemote},
	{7, ErrHintsFull},
}

// ErrBadRequest is returned to a peer whose request does not decode.
var ErrBadRequest = errors.New("replica: bad peer request")

// ErrRemote stands for an error of the remote store that has no code.
var ErrRemote = errors.New("replica: remote error")

func codeOf(err error) byte {
	for _, c := range peerCodes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return 6
}

func errOf(code byte) error {
	for _, c := range peerCodes {
		if c.code == code {
			return c.err
		}
	}
	return ErrRemote
}

// EncodeRequest returns the wire form of r.
func EncodeRequest(r Request) []byte {
	b := []byte{peerFormat, byte(r.Op)}
	b = binary.AppendUvarint(b, uint64(len(r.Key)))
	b = append(b, r.Key...)
	b = binary.AppendUvarint(b, uint64(len(r.Hint)))
	b = append(b, r.Hint...)
	if r.Op == OpMerge || r.Op == OpHint {
		b = append(b, EncodeRecord(r.Siblings)...)
	}
	return b
}

// DecodeRequest parses a request. Keys and values alias b.
func DecodeRequest(b []byte) (Request, error) {
	if len(b) < 2 || b[0] != peerFormat {
		return Request{}, ErrBadRequest
	}
	r := Request{Op: Op(b[1])}
	d := decoder{b: b[2:]}
	r.Key = d.bytes()
	r.Hint = string(d.bytes())
	if d.bad {
		return Request{}, ErrBadRequest
	}
	switch r.Op {
	case OpGet:
		if len(d.b) != 0 {
			return Request{}, ErrBadRequest
		}
	case OpMerge, OpHint:
		ss, err := DecodeRecord(d.b)
		if err != nil || (r.Op == OpHint && r.Hint == "") {
			return Request{}, ErrBadRequest
		}
		r.Siblings = ss
	default:
		return Request{}, ErrBadRequest
	}
	return r, nil
}

// EncodeResponse returns the wire form of r.
func EncodeResponse(r Response) []byte {
	if r.Err != nil {
		return []byte{peerFormat, codeOf(r.Err)}
	}
	return append([]byte{peerFormat, 0}, EncodeRecord(r.Siblings)...)
}

// DecodeResponse parses a response; a response carrying an error returns
// it as Response.Err. Values alias b.
func DecodeResponse(b []byte) (Response, error) {
	if len(b) < 2 || b[0] != peerFormat {
		return Response{}, fmt.Errorf("replica: bad peer response")
	}
	if b[1] != 0 {
		if len(b) != 2 {
			return Response{}, fmt.Errorf("replica: bad peer response")
		}
		return Response{Err: errOf(b[1])}, nil
	}
	ss, err := DecodeRecord(b[2:])
	if err != nil {
		return Response{}, fmt.Errorf("replica: bad peer response: %w", err)
	}
	return Response{Siblings: ss}, nil
}
