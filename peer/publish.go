package peer

import (
	"encoding/binary"
)

// Publish is a Pub/Sub message sent to every other node for its
// subscribers (OpPublish): PUBLISH's, or SPUBLISH's (Shard).
type Publish struct {
	Shard   bool
	Channel []byte
	Message []byte
}

// EncodePublish returns the request of p.
func EncodePublish(p Publish) []byte {
	b := make([]byte, 0, 3+binary.MaxVarintLen64+len(p.Channel)+len(p.Message))
	b = append(b, Format, byte(OpPublish))
	if p.Shard {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(p.Channel)))
	b = append(b, p.Channel...)
	return append(b, p.Message...)
}

// DecodePublish parses a request EncodePublish made. The channel and the
// message alias req.
func DecodePublish(req []byte) (Publish, error) {
	if OpOf(req) != OpPublish || len(req) < 3 || req[2] > 1 {
		return Publish{}, ErrBadRequest
	}
	n, k := binary.Uvarint(req[3:])
	if k <= 0 || n > uint64(len(req)-3-k) {
		return Publish{}, ErrBadRequest
	}
	rest := req[3+k:]
	return Publish{Shard: req[2] == 1, Channel: rest[:n], Message: rest[n:]}, nil
}

// EncodePublished returns the reply to a Publish: how many of the node's
// clients received it.
func EncodePublished(n int64) []byte {
	return binary.AppendUvarint([]byte{Format, 0}, uint64(max(n, 0)))
}

// DecodePublished parses EncodePublished's reply.
func DecodePublished(b []byte) (int64, error) {
	if len(b) < 3 || b[0] != Format || b[1] != 0 {
		return 0, ErrBadRequest
	}
	n, k := binary.Uvarint(b[2:])
	if k <= 0 || k != len(b)-2 || n > 1<<40 {
		return 0, ErrBadRequest
	}
	return int64(n), nil
}
