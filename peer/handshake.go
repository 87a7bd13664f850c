package peer

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
)

// The handshake. Before any frame, the two ends of a peer connection prove
// to each other that they hold the cluster secret, without sending it:
//
//	server → client: magic, version, nonceS (32 random bytes)
//	client → server: magic, version, nonceC, len(idC) (1 byte), idC, HMAC(secret, nonceS || idC || labelClient)
//	server → client: authOK, len(idS), idS, HMAC(secret, nonceC || idS || labelServer)
//	              or authFailed, and the server closes the connection
//	              or authVersion, version, and the server closes the connection
//
// version is the byte '0'+ProtocolVersion ('1' was the first). A node
// refuses a peer of another version, at either end, with a VersionError
// naming both versions: a client that reads another version in the
// server's hello sends its own magic before it hangs up, and a server that
// reads another version in the client's answers authVersion and its
// version. Nodes of different versions never exchange a frame.
//
// HMAC is HMAC-SHA256; the ids are the node ids (at most 255 bytes). The
// labels differ by direction so that a proof one side gives can never be
// replayed as the other side's. The client also checks that idS is the node
// it meant to reach. Every read is of a fixed or 1-byte-bounded length, and
// the caller sets deadlines.
//
// After it, every frame is sealed with keys derived from the secret and
// both nonces (seal.go): an attacker on the path can neither read nor alter
// nor inject frames. With an empty secret the handshake still runs, but
// anyone can compute the proofs and the keys: it protects nothing (a node
// never runs with one: package node draws a secret when none is set).

// ProtocolVersion is the version of the peer protocol this node speaks:
// the handshake, the frames and every message (Format, the ops, the error
// codes). Every change to any of them bumps it. Version 3 seals every frame
// (seal.go); version 4 forwards SETRANGE and SETBIT (coordinator.OpSetRange,
// OpSetBit); version 5 adds OpScan (the keyspace walk of SCAN, KEYS,
// DBSIZE, RANDOMKEY and FLUSHALL); version 6 carries Pub/Sub messages
// (OpPublish); version 7 carries expiries: records of
// version.RecordFormat 2 in every message, and forwarded writes with an
// expiry, KEEPTTL and the expire ops and conditions (coordinator/forward.go);
// version 8 adds the durable merge and hint (OpMergeDurable, OpHintDurable:
// DW) and forwarded writes with DW.
const ProtocolVersion = 8

// VersionError reports a peer that speaks another version of the protocol.
type VersionError struct {
	Local, Remote int // the versions of this node and of the peer
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("peer: the peer speaks peer protocol version %d, this node speaks version %d", e.Remote, e.Local)
}

const (
	authMagic   = "dynkv\x00p" + string(rune('0'+ProtocolVersion)) // 8 bytes, first on the wire both ways
	magicPrefix = "dynkv\x00p"                                     // the magic without the version
	nonceLen    = 32
	macLen      = sha256.Size
	maxNodeID   = 255
	labelClient = "dynkv-peer-1 client"
	labelServer = "dynkv-peer-1 server"

	authOK      byte = 0
	authFailed  byte = 1
	authVersion byte = 2
)

var (
	// ErrPeerAuth reports a peer connection whose handshake failed: the two
	// nodes do not share cluster.secret. A Call failing with it also
	// matches ErrUnreachable.
	ErrPeerAuth = errors.New("peer: peer authentication failed")

	// errHandshake reports a peer that does not speak the handshake.
	errHandshake = errors.New("peer: bad peer handshake")

	// errRejected reports a server that refused this node's proof; it
	// wraps ErrPeerAuth.
	errRejected = fmt.Errorf("%w: the peer rejected this node's proof (cluster.secret differs)", ErrPeerAuth)
)

// proof is what a node sends to prove it holds secret: HMAC-SHA256 over
// the other side's nonce, its own node id and the label of its direction.
func proof(secret string, nonce []byte, node, label string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(nonce)
	m.Write([]byte(node))
	m.Write([]byte(label))
	return m.Sum(nil)
}

// readMagic fills b, which starts with the magic, from r; it returns
// errHandshake as soon as the magic does not match, so that a peer speaking
// another protocol fails fast rather than at the deadline, and a
// *VersionError for a peer of another protocol version.
func readMagic(r io.Reader, b []byte) error {
	if _, err := io.ReadFull(r, b[:len(authMagic)]); err != nil {
		return err
	}
	if string(b[:len(magicPrefix)]) != magicPrefix {
		return errHandshake
	}
	switch v := b[len(magicPrefix)]; {
	case v < '1':
		return errHandshake // no version of the protocol: not a dynkv peer
	case v != authMagic[len(magicPrefix)]:
		return &VersionError{Local: ProtocolVersion, Remote: int(v) - '0'}
	}
	_, err := io.ReadFull(r, b[len(authMagic):])
	return err
}

// serverHandshake authenticates the dialling peer on rw and proves self to
// it with the first of secrets the peer proved (empty ones ignored, except
// the first: the current secret, during a rotation followed by the
// previous one). It returns the node id the peer claimed (verified when err
// is nil), ErrPeerAuth for a wrong proof, or another error for broken input
// or I/O.
func serverHandshake(rw io.ReadWriter, self string, secrets ...string) (peer string, _ session, err error) {
	var hello [len(authMagic) + nonceLen]byte
	copy(hello[:], authMagic)
	_, _ = rand.Read(hello[len(authMagic):])
	if _, err := rw.Write(hello[:]); err != nil {
		return "", session{}, err
	}
	var msg [len(authMagic) + nonceLen + 1]byte
	if err := readMagic(rw, msg[:]); err != nil {
		if _, ok := err.(*VersionError); ok {
			_, _ = rw.Write([]byte{authVersion, authMagic[len(magicPrefix)]})
		}
		return "", session{}, err
	}
	nonceC := msg[len(authMagic) : len(authMagic)+nonceLen]
	idLen := int(msg[len(msg)-1])
	rest := make([]byte, idLen+macLen)
	if _, err := io.ReadFull(rw, rest); err != nil {
		return "", session{}, err
	}
	peer = string(rest[:idLen])
	secret, proved := "", false
	for i, sec := range secrets {
		if (i == 0 || sec != "") && hmac.Equal(rest[idLen:], proof(sec, hello[len(authMagic):], peer, labelClient)) {
			secret, proved = sec, true
			break
		}
	}
	if !proved {
		_, _ = rw.Write([]byte{authFailed})
		return peer, session{}, ErrPeerAuth
	}
	reply := append([]byte{authOK, byte(len(self))}, self...)
	reply = append(reply, proof(secret, nonceC, self, labelServer)...)
	if _, err = rw.Write(reply); err != nil {
		return peer, session{}, err
	}
	return peer, newSession(secret, hello[len(authMagic):], nonceC, false), nil
}

// clientHandshake proves self to the server on rw and checks the server's
// proof that it is node want. It returns ErrPeerAuth when either proof
// fails, errHandshake when the server does not speak the protocol or is
// another node.
func clientHandshake(rw io.ReadWriter, secret, self, want string) (session, error) {
	var hello [len(authMagic) + nonceLen]byte
	if err := readMagic(rw, hello[:]); err != nil {
		if _, ok := err.(*VersionError); ok {
			// Tell the server this node's version before hanging up, so
			// that it reports the mismatch too.
			_, _ = rw.Write([]byte(authMagic))
		}
		return session{}, err
	}
	msg := make([]byte, 0, len(authMagic)+nonceLen+1+len(self)+macLen)
	msg = append(msg, authMagic...)
	msg = append(msg, make([]byte, nonceLen)...)
	nonceC := msg[len(authMagic):]
	_, _ = rand.Read(nonceC)
	msg = append(msg, byte(len(self)))
	msg = append(msg, self...)
	msg = append(msg, proof(secret, hello[len(authMagic):], self, labelClient)...)
	if _, err := rw.Write(msg); err != nil {
		return session{}, err
	}
	var st [1]byte
	if _, err := io.ReadFull(rw, st[:]); err != nil {
		return session{}, err
	}
	switch st[0] {
	case authOK:
	case authFailed:
		return session{}, errRejected
	case authVersion:
		if _, err := io.ReadFull(rw, st[:]); err != nil {
			return session{}, err
		}
		if st[0] < '1' {
			return session{}, errHandshake
		}
		return session{}, &VersionError{Local: ProtocolVersion, Remote: int(st[0]) - '0'}
	default:
		return session{}, errHandshake
	}
	if _, err := io.ReadFull(rw, st[:]); err != nil {
		return session{}, err
	}
	rest := make([]byte, int(st[0])+macLen)
	if _, err := io.ReadFull(rw, rest); err != nil {
		return session{}, err
	}
	id := string(rest[:st[0]])
	if !hmac.Equal(rest[st[0]:], proof(secret, nonceC, id, labelServer)) {
		return session{}, fmt.Errorf("%w: the peer's proof is wrong (cluster.secret differs)", ErrPeerAuth)
	}
	if id != want {
		return session{}, fmt.Errorf("%w: reached node %q, not %q", errHandshake, id, want)
	}
	return newSession(secret, hello[len(authMagic):], nonceC, true), nil
}
