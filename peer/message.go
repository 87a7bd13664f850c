package peer

import (
	"encoding/binary"
	"fmt"

	"github.com/dynkv/dynkv/errdefs"
	"github.com/dynkv/dynkv/hashslot"
	"github.com/dynkv/dynkv/internal/codec"
	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/version"
)

// The peer protocol: what nodes ask of each other's stores. A Transport
// carries opaque request and response bytes; this file defines them. Both
// start with a format byte; every length is checked against the bytes
// present, so a peer that speaks nonsense gets an error response and changes
// nothing.

// Response bodies other than a record start with one of these bytes, which
// no record starts with.
const (
	bodyHashes byte = 0xf1
	bodyKeys   byte = 0xf2
	bodyScan   byte = 0xf3
)

// MaxMessageOverhead is the most a request or response adds to its key and
// its record: format, op, the lengths of the key and the hint, and the
// hint (a node id). A frame limit of a record's bound, the key's bound
// and this carries every store op (conf.Config.PeerConfig).
const MaxMessageOverhead = 2 + 2*binary.MaxVarintLen64 + maxNodeID

// MaxScanLimit bounds the Limit of an OpScan request.
const MaxScanLimit = 4096

// KeyRecord is one key and its siblings, in OpScan's replies.
type KeyRecord struct {
	Key      []byte
	Siblings version.Siblings
}

// Request is one peer request.
type Request struct {
	Op       Op
	Key      []byte
	Hint     string           // OpHint, OpGet: the node the data is meant for
	Siblings version.Siblings // OpMerge, OpHint, OpCollect
	Lo, Hi   int              // OpTree: the leaves compared
	Span     int              // OpTree: the span of the nodes asked for
	Nodes    []int            // OpTree: node indexes; OpLeafKeys: leaves
	From     uint64           // OpScan: the position to start at
	Last     int              // OpScan: the last slot of the range
	Limit    int              // OpScan: the keys wanted, at most MaxScanLimit
	// Durable (OpMerge, OpHint): acknowledge only once fsynced; on the wire
	// OpMergeDurable or OpHintDurable.
	Durable bool
}

// Response is the reply to a Request.
type Response struct {
	Siblings version.Siblings // OpGet, OpGetHint, OpCollect
	Hashes   []uint64         // OpTree; non-nil in its replies
	Keys     []merkle.KeyHash // OpLeafKeys; non-nil in its replies
	Scan     *ScanResult      // OpScan; non-nil in its replies
	Err      error            // nil, or one of the sentinels in codes (codes.go)
}

// ScanResult is the reply to OpScan.
type ScanResult struct {
	Records []KeyRecord
	Next    uint64 // the position of the first key not returned
	Done    bool   // no key is left in the range
}

// EncodeRequest returns the wire form of r.
func EncodeRequest(r Request) []byte {
	op := r.Op
	switch {
	case r.Durable && op == OpMerge:
		op = OpMergeDurable
	case r.Durable && op == OpHint:
		op = OpHintDurable
	}
	b := []byte{Format, byte(op)}
	b = binary.AppendUvarint(b, uint64(len(r.Key)))
	b = append(b, r.Key...)
	b = binary.AppendUvarint(b, uint64(len(r.Hint)))
	b = append(b, r.Hint...)
	switch r.Op {
	case OpMerge, OpHint, OpCollect:
		b = append(b, version.EncodeRecord(r.Siblings)...)
	case OpTree:
		b = binary.AppendUvarint(b, uint64(r.Lo))
		b = binary.AppendUvarint(b, uint64(r.Hi))
		b = binary.AppendUvarint(b, uint64(r.Span))
		b = appendInts(b, r.Nodes)
	case OpLeafKeys:
		b = appendInts(b, r.Nodes)
	case OpScan:
		b = binary.AppendUvarint(b, r.From)
		b = binary.AppendUvarint(b, uint64(r.Last))
		b = binary.AppendUvarint(b, uint64(r.Limit))
	}
	return b
}

func appendInts(b []byte, v []int) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	for _, x := range v {
		b = binary.AppendUvarint(b, uint64(x))
	}
	return b
}

// ints reads from d what appendInts wrote: at most limit values, each below Leaves.
func ints(d *codec.Decoder, limit int) []int {
	n := d.Count(limit, 1)
	if d.Bad {
		return nil
	}
	v := make([]int, n)
	for i := range v {
		x := d.Uvarint()
		if x > merkle.Leaves {
			d.Bad = true
			return nil
		}
		v[i] = int(x)
	}
	return v
}

// small reads from d a uvarint that is at most Leaves*Fanout (a span that
// covers every leaf).
func small(d *codec.Decoder) int {
	x := d.Uvarint()
	if x > merkle.Leaves*merkle.Fanout {
		d.Bad = true
		return 0
	}
	return int(x)
}

// DecodeRequest parses a request. Keys and values alias b.
func DecodeRequest(b []byte) (Request, error) {
	if len(b) < 2 || b[0] != Format {
		return Request{}, errdefs.ErrBadRequest
	}
	r := Request{Op: Op(b[1])}
	switch r.Op {
	case OpMergeDurable:
		r.Op, r.Durable = OpMerge, true
	case OpHintDurable:
		r.Op, r.Durable = OpHint, true
	}
	d := codec.Decoder{B: b[2:]}
	r.Key = d.Bytes()
	r.Hint = string(d.Bytes())
	if d.Bad {
		return Request{}, errdefs.ErrBadRequest
	}
	switch r.Op {
	case OpGet:
		if len(d.B) != 0 {
			return Request{}, errdefs.ErrBadRequest
		}
	case OpGetHint:
		if len(d.B) != 0 || r.Hint == "" {
			return Request{}, errdefs.ErrBadRequest
		}
	case OpMerge, OpHint, OpCollect:
		ss, err := version.DecodeRecord(d.B)
		if err != nil || (r.Op == OpHint && r.Hint == "") {
			return Request{}, errdefs.ErrBadRequest
		}
		r.Siblings = ss
	case OpTree:
		r.Lo, r.Hi, r.Span = small(&d), small(&d), small(&d)
		r.Nodes = ints(&d, merkle.MaxNodes)
		if d.Bad || len(d.B) != 0 {
			return Request{}, errdefs.ErrBadRequest
		}
	case OpLeafKeys:
		r.Nodes = ints(&d, merkle.MaxLeafKeys)
		if d.Bad || len(d.B) != 0 {
			return Request{}, errdefs.ErrBadRequest
		}
	case OpScan:
		r.From = d.Uvarint()
		last, limit := d.Uvarint(), d.Uvarint()
		if d.Bad || len(d.B) != 0 || len(r.Key) != 0 || r.Hint != "" || last >= hashslot.Count || limit < 1 || limit > MaxScanLimit {
			return Request{}, errdefs.ErrBadRequest
		}
		r.Last, r.Limit = int(last), int(limit)
	default:
		return Request{}, errdefs.ErrBadRequest
	}
	return r, nil
}

// EncodeResponse returns the wire form of r.
func EncodeResponse(r Response) []byte {
	if r.Err != nil {
		return []byte{Format, Code(r.Err)}
	}
	b := []byte{Format, 0}
	switch {
	case r.Hashes != nil:
		b = append(b, bodyHashes)
		b = binary.AppendUvarint(b, uint64(len(r.Hashes)))
		for _, h := range r.Hashes {
			b = binary.BigEndian.AppendUint64(b, h)
		}
		return b
	case r.Scan != nil:
		b = append(b, bodyScan)
		b = binary.AppendUvarint(b, r.Scan.Next)
		done := byte(0)
		if r.Scan.Done {
			done = 1
		}
		b = append(b, done)
		b = binary.AppendUvarint(b, uint64(len(r.Scan.Records)))
		for _, k := range r.Scan.Records {
			b = binary.AppendUvarint(b, uint64(len(k.Key)))
			b = append(b, k.Key...)
			rec := version.EncodeRecord(k.Siblings)
			b = binary.AppendUvarint(b, uint64(len(rec)))
			b = append(b, rec...)
		}
		return b
	case r.Keys != nil:
		b = append(b, bodyKeys)
		b = binary.AppendUvarint(b, uint64(len(r.Keys)))
		for _, k := range r.Keys {
			b = binary.AppendUvarint(b, uint64(len(k.Key)))
			b = append(b, k.Key...)
			b = binary.BigEndian.AppendUint64(b, k.Hash)
		}
		return b
	}
	return append(b, version.EncodeRecord(r.Siblings)...)
}

// decodeBody parses the body of a successful response other than a record.
func decodeBody(b []byte) (Response, error) {
	d := codec.Decoder{B: b[1:]}
	var r Response
	switch b[0] {
	case bodyHashes:
		r.Hashes = make([]uint64, d.Count(merkle.MaxNodes, 8))
		for i := range r.Hashes {
			r.Hashes[i] = d.U64()
		}
	case bodyKeys:
		r.Keys = make([]merkle.KeyHash, d.Count(len(d.B), 9))
		for i := range r.Keys {
			r.Keys[i] = merkle.KeyHash{Key: d.Bytes(), Hash: d.U64()}
			if r.Keys[i].Key == nil {
				r.Keys[i].Key = []byte{}
			}
		}
	case bodyScan:
		r.Scan = decodeScan(&d)
	}
	if d.Bad || len(d.B) != 0 {
		return Response{}, fmt.Errorf("peer: bad peer response")
	}
	return r, nil
}

// decodeScan reads the body of an OpScan reply.
func decodeScan(d *codec.Decoder) *ScanResult {
	sr := &ScanResult{Next: d.Uvarint()}
	switch d.Byte() {
	case 0:
	case 1:
		sr.Done = true
	default:
		d.Bad = true
	}
	// A record is at least its key's length, its own length and the
	// record's header: 3 bytes.
	sr.Records = make([]KeyRecord, d.Count(len(d.B), 3))
	for i := range sr.Records {
		key := d.Bytes()
		rec := d.Bytes()
		if d.Bad {
			return sr
		}
		ss, err := version.DecodeRecord(rec)
		if err != nil {
			d.Bad = true
			return sr
		}
		if key == nil {
			key = []byte{}
		}
		sr.Records[i] = KeyRecord{Key: key, Siblings: ss}
	}
	return sr
}

// DecodeResponse parses a response; a response carrying an error returns
// it as Response.Err. Values alias b.
func DecodeResponse(b []byte) (Response, error) {
	if len(b) < 2 || b[0] != Format {
		return Response{}, fmt.Errorf("peer: bad peer response")
	}
	if b[1] != 0 {
		if len(b) != 2 {
			return Response{}, fmt.Errorf("peer: bad peer response")
		}
		return Response{Err: Err(b[1])}, nil
	}
	if len(b) > 2 && (b[2] == bodyHashes || b[2] == bodyKeys || b[2] == bodyScan) {
		return decodeBody(b[2:])
	}
	ss, err := version.DecodeRecord(b[2:])
	if err != nil {
		return Response{}, fmt.Errorf("peer: bad peer response: %w", err)
	}
	return Response{Siblings: ss}, nil
}
