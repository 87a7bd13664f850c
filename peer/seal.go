package peer

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
)

// Frame encryption. Every frame after the handshake is sealed with
// AES-256-GCM: the payload encrypted, the frame header authenticated as
// additional data. Each direction of a connection has its own key, derived
// with HKDF-SHA256 from the cluster secret, salted with both nonces of the
// handshake (so every connection has fresh keys), and its nonce is the
// count of frames sealed in that direction so far: a direction has exactly
// one writer (the wire's writeLoop) and one reader (the connection's
// readLoop), so both ends count alike without sending the count. A frame
// that is altered, replayed, reordered or dropped fails to open, and the
// connection is closed.

// sealOverhead is what sealing adds to a payload: the GCM tag.
const sealOverhead = 16

// errFrameAuth reports a frame that failed to authenticate.
var errFrameAuth = errors.New("peer: peer frame failed authentication")

// sealer seals or opens the frames of one direction of a connection.
type sealer struct {
	aead  cipher.AEAD
	seq   uint64 // frames sealed or opened so far
	nonce [12]byte
}

func newSealer(key []byte) *sealer {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // the key is always 32 bytes
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &sealer{aead: aead}
}

// next returns the nonce of the next frame.
func (s *sealer) next() []byte {
	binary.BigEndian.PutUint64(s.nonce[4:], s.seq)
	s.seq++
	return s.nonce[:]
}

// seal appends payload sealed under hdr to dst.
func (s *sealer) seal(dst, hdr, payload []byte) []byte {
	return s.aead.Seal(dst, s.next(), payload, hdr)
}

// open opens sealed under hdr in place and returns the payload.
func (s *sealer) open(hdr, sealed []byte) ([]byte, error) {
	p, err := s.aead.Open(sealed[:0], s.next(), sealed, hdr)
	if err != nil {
		return nil, errFrameAuth
	}
	return p, nil
}

// session is the encryption of one end of a connection.
type session struct {
	send, recv *sealer
}

// newSession derives the keys of a connection from the cluster secret and
// the handshake's nonces; client tells which end this is.
func newSession(secret string, nonceS, nonceC []byte, client bool) session {
	salt := append(append([]byte{}, nonceS...), nonceC...)
	key := func(info string) []byte {
		k, err := hkdf.Key(sha256.New, []byte(secret), salt, info, 32)
		if err != nil {
			panic(err) // only for a length HKDF cannot produce
		}
		return k
	}
	c2s, s2c := newSealer(key("dynkv-peer-3 client to server")), newSealer(key("dynkv-peer-3 server to client"))
	if client {
		return session{send: c2s, recv: s2c}
	}
	return session{send: s2c, recv: c2s}
}
