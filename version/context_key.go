package version

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"

	"github.com/dynkv/dynkv/internal/codec"
)

// Contexts handed to clients are unforgeable: a ContextKey, derived from
// the cluster secret and so the same on every node, signs each one with a
// MAC over the key it was read from and its entries. A client can hand a
// context back, not make one: a forged or altered context (one that would
// cover a sibling the client never read, claim a huge counter, or name
// made-up actors) is refused with ErrInvalidContext, and one issued under
// another secret (after a rotation) with ErrStaleContext.
//
//	base64url( 3 | key id (u32) | version vector | MAC (16 bytes) )
//
// The MAC is HMAC-SHA256 under the key, truncated to 128 bits, over
// everything before it and the user key (length-prefixed). The key id
// names the key (a hash of it), so that a context of another secret is told
// from a forged one.

// macLen is the length of a context's MAC.
const macLen = 16

// ContextKey signs and checks the contexts handed to clients. The zero
// value is not usable: make one with DeriveContextKey or RandomContextKey.
// A ContextKey is a value, safe for concurrent use.
type ContextKey struct {
	mac [32]byte
	id  uint32
}

// DeriveContextKey returns the context key of a cluster whose secret is
// secret: every node of the cluster derives the same one.
func DeriveContextKey(secret string) ContextKey {
	k, err := hkdf.Key(sha256.New, []byte(secret), nil, "dynkv-context-mac", 32)
	if err != nil {
		panic(err) // only for a length HKDF cannot produce
	}
	var ck ContextKey
	copy(ck.mac[:], k)
	id := sha256.Sum256(append([]byte("dynkv-context-key-id:"), k...))
	ck.id = binary.BigEndian.Uint32(id[:4])
	return ck
}

// RandomContextKey returns a key of its own, for a server that has no
// cluster secret: its contexts are valid for as long as it runs.
func RandomContextKey() ContextKey {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return DeriveContextKey(string(b[:]))
}

// IsZero reports whether k is the zero value (no key).
func (k ContextKey) IsZero() bool { return k == ContextKey{} }

// sum returns the MAC of body, the context's bytes before it, for key.
func (k ContextKey) sum(key, body []byte) []byte {
	m := hmac.New(sha256.New, k.mac[:])
	m.Write(binary.AppendUvarint(nil, uint64(len(key))))
	m.Write(key)
	m.Write(body)
	return m.Sum(nil)[:macLen]
}

// Encode returns the context handed to clients for v read from key: the
// printable, signed form.
func (k ContextKey) Encode(key []byte, v VV) []byte {
	raw := []byte{keyContextFormat}
	raw = binary.BigEndian.AppendUint32(raw, k.id)
	raw = appendVV(raw, v)
	raw = append(raw, k.sum(key, raw)...)
	out := make([]byte, base64.RawURLEncoding.EncodedLen(len(raw)))
	base64.RawURLEncoding.Encode(out, raw)
	return out
}

// Decode checks and parses a context Encode made for key. The empty string
// is the empty context ("no prior read"). A context of another cluster
// secret or of a dynkv whose contexts were not signed returns
// ErrStaleContext; one of another key, altered, forged, or that does not
// decode exactly, ErrInvalidContext.
func (k ContextKey) Decode(key, b []byte) (VV, error) {
	if len(b) == 0 {
		return nil, nil
	}
	raw := make([]byte, base64.RawURLEncoding.DecodedLen(len(b)))
	n, err := base64.RawURLEncoding.Decode(raw, b)
	if err != nil || n < 1 {
		return nil, ErrInvalidContext
	}
	raw = raw[:n]
	switch {
	case raw[0] == oldKeyContextFormat:
		return nil, ErrStaleContext
	case raw[0] != keyContextFormat || len(raw) < 1+4+macLen:
		return nil, ErrInvalidContext
	case binary.BigEndian.Uint32(raw[1:5]) != k.id:
		return nil, ErrStaleContext
	}
	body, mac := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	if !hmac.Equal(mac, k.sum(key, body)) {
		return nil, ErrInvalidContext
	}
	d := codec.Decoder{B: body[5:]}
	v := readVV(&d)
	if d.Bad || len(d.B) != 0 || len(v) > MaxContextEntries {
		return nil, ErrInvalidContext
	}
	for _, e := range v {
		if e.Counter >= MaxCounter {
			return nil, ErrInvalidContext
		}
	}
	return v, nil
}
