package peer

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTCPConfig_Validate(t *testing.T) {
	require.NoError(t, DefaultConfig().Validate())
	for _, tc := range []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"listen without port", func(c *Config) { c.Listen = "localhost" }, "peer.listen"},
		{"empty listen", func(c *Config) { c.Listen = "" }, "peer.listen"},
		{"zero dial timeout", func(c *Config) { c.DialTimeout = 0 }, "peer.dial-timeout"},
		{"zero max frame", func(c *Config) { c.MaxFrame = 0 }, "peer.max-frame"},
		{"max frame over u32", func(c *Config) { c.MaxFrame = 1 << 32 }, "peer.max-frame"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.edit(&cfg)
			err := cfg.Validate()
			require.ErrorContains(t, err, tc.field)
			_, err = NewTCP(cfg, "a", newTCPBook().resolve, tcpEcho)
			require.ErrorContains(t, err, tc.field)
		})
	}
	_, err := NewTCP(DefaultConfig(), strings.Repeat("n", 256), newTCPBook().resolve, tcpEcho)
	require.Error(t, err, "node id too long for the handshake")
}

func TestTCPHandshake(t *testing.T) {
	run := func(t *testing.T, server func(io.ReadWriter) error, client func(io.ReadWriter) error) (serr, cerr error) {
		sc, cc := net.Pipe()
		defer sc.Close()
		defer cc.Close()
		done := make(chan error, 1)
		go func() { // awaited below
			err := server(sc)
			_ = sc.Close()
			done <- err
		}()
		cerr = client(cc)
		_ = cc.Close()
		return <-done, cerr
	}
	srv := func(secret, self string) func(io.ReadWriter) error {
		return func(rw io.ReadWriter) error { _, _, err := serverHandshake(rw, self, secret); return err }
	}
	cli := func(secret, self, want string) func(io.ReadWriter) error {
		return func(rw io.ReadWriter) error { _, err := clientHandshake(rw, secret, self, want); return err }
	}
	t.Run("same secret", func(t *testing.T) {
		serr, cerr := run(t, srv("s", "b"), cli("s", "a", "b"))
		require.NoError(t, serr)
		require.NoError(t, cerr)
	})
	t.Run("empty secret on both sides", func(t *testing.T) {
		serr, cerr := run(t, srv("", "b"), cli("", "a", "b"))
		require.NoError(t, serr)
		require.NoError(t, cerr)
	})
	t.Run("different secrets", func(t *testing.T) {
		serr, cerr := run(t, srv("s", "b"), cli("t", "a", "b"))
		require.ErrorIs(t, serr, ErrPeerAuth)
		require.ErrorIs(t, cerr, ErrPeerAuth)
	})
	t.Run("server accepts anything but cannot prove itself", func(t *testing.T) {
		fake := func(rw io.ReadWriter) error {
			hello := append([]byte(authMagic), make([]byte, nonceLen)...)
			if _, err := rw.Write(hello); err != nil {
				return err
			}
			var msg [len(authMagic) + nonceLen + 1]byte
			if _, err := io.ReadFull(rw, msg[:]); err != nil {
				return err
			}
			if _, err := io.ReadFull(rw, make([]byte, int(msg[len(msg)-1])+macLen)); err != nil {
				return err
			}
			_, err := rw.Write(append([]byte{authOK, 1, 'b'}, make([]byte, macLen)...))
			return err
		}
		serr, cerr := run(t, fake, cli("s", "a", "b"))
		require.NoError(t, serr)
		require.ErrorIs(t, cerr, ErrPeerAuth)
	})
	// A node of protocol version 1 (magic "dynkv\x00p1") and this one
	// refuse each other at either end, naming both versions.
	oldHello := func(rw io.ReadWriter) error {
		// Only the magic: net.Pipe does not buffer, and the client answers
		// as soon as it read the version.
		if _, err := rw.Write([]byte(magicPrefix + "1")); err != nil {
			return err
		}
		// The client tells its version before it hangs up.
		told, err := io.ReadAll(rw)
		if err != nil {
			return err
		}
		if string(told) != authMagic {
			return fmt.Errorf("the client sent %q after refusing, want its magic %q", told, authMagic)
		}
		return nil
	}
	wantVersions := fmt.Sprintf("the peer speaks peer protocol version 1, this node speaks version %d", ProtocolVersion)
	t.Run("older server", func(t *testing.T) {
		serr, cerr := run(t, oldHello, cli("s", "a", "b"))
		require.NoError(t, serr)
		var ve *VersionError
		require.ErrorAs(t, cerr, &ve)
		require.Equal(t, VersionError{Local: ProtocolVersion, Remote: 1}, *ve)
		require.EqualError(t, cerr, "peer: "+wantVersions)
	})
	t.Run("older client", func(t *testing.T) {
		var reply []byte
		older := func(rw io.ReadWriter) error {
			if _, err := io.ReadFull(rw, make([]byte, len(authMagic)+nonceLen)); err != nil {
				return err
			}
			// Only the magic: net.Pipe does not buffer, and the server
			// answers as soon as it read the version.
			if _, err := rw.Write([]byte(magicPrefix + "1")); err != nil {
				return err
			}
			reply, _ = io.ReadAll(rw)
			return nil
		}
		serr, cerr := run(t, srv("s", "b"), older)
		require.NoError(t, cerr)
		require.EqualError(t, serr, "peer: "+wantVersions)
		require.Equal(t, []byte{authVersion, '0' + ProtocolVersion}, reply, "the server tells its version, then closes")
	})
	t.Run("newer server", func(t *testing.T) {
		newer := func(rw io.ReadWriter) error {
			if _, err := rw.Write([]byte(magicPrefix + string(rune('0'+ProtocolVersion+1)))); err != nil {
				return err
			}
			_, err := io.ReadAll(rw) // the client's magic, then EOF
			return err
		}
		_, cerr := run(t, newer, cli("s", "a", "b"))
		require.EqualError(t, cerr, fmt.Sprintf("peer: the peer speaks peer protocol version %d, this node speaks version %d", ProtocolVersion+1, ProtocolVersion))
	})
	t.Run("no version", func(t *testing.T) {
		garbled := func(rw io.ReadWriter) error {
			_, err := rw.Write([]byte(magicPrefix + "\x00"))
			return err
		}
		_, cerr := run(t, garbled, cli("s", "a", "b"))
		require.ErrorIs(t, cerr, errHandshake, "not a peer of any version")
	})
	t.Run("wrong node", func(t *testing.T) {
		_, cerr := run(t, srv("s", "c"), cli("s", "a", "b"))
		require.ErrorIs(t, cerr, errHandshake)
	})
	t.Run("not a peer port", func(t *testing.T) {
		redis := func(rw io.ReadWriter) error {
			_, err := rw.Write([]byte("-ERR unknown command 'xyz'\r\n\r\n\r\n\r\n\r\n\r\n"))
			return err
		}
		_, cerr := run(t, redis, cli("s", "a", "b"))
		require.ErrorIs(t, cerr, errHandshake)
	})
}

// FuzzTCPHandshake feeds arbitrary bytes to both sides of the handshake:
// they must fail cleanly (or, for the client, never accept a wrong proof).
func FuzzTCPHandshake(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte(authMagic))
	f.Add(append([]byte(authMagic), make([]byte, nonceLen+1+macLen)...))
	f.Add(append(append([]byte(authMagic), make([]byte, nonceLen)...), 255))
	f.Add(append(append(append([]byte(authMagic), make([]byte, nonceLen)...), authOK, 1, 'b'), make([]byte, macLen)...))
	f.Fuzz(func(t *testing.T, in []byte) {
		rw := struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(in), io.Discard}
		if _, _, err := serverHandshake(rw, "b", "s"); err == nil {
			t.Fatal("server accepted a proof made without the secret")
		}
		rw.Reader = bytes.NewReader(in)
		if _, err := clientHandshake(rw, "s", "a", "b"); err == nil {
			t.Fatal("client accepted a proof made without the secret")
		}
	})
}

// fuzzSession returns the two ends of a connection's encryption, as the
// handshake of a client and a server with secret "fuzz" would make them.
func fuzzSession() (client, server session) {
	nonceS, nonceC := bytes.Repeat([]byte{1}, nonceLen), bytes.Repeat([]byte{2}, nonceLen)
	return newSession("fuzz", nonceS, nonceC, true), newSession("fuzz", nonceS, nonceC, false)
}

// FuzzTCPFrame reads frames from arbitrary bytes — every frame that opens
// must be valid and seal back to the bytes it came from — and round-trips a
// frame built from the inputs, which fails to open once altered or
// replayed.
func FuzzTCPFrame(f *testing.F) {
	c, _ := fuzzSession()
	two := appendFrame(nil, frame{id: 2, status: frameTooLarge}, c.send)
	f.Add([]byte{}, uint64(0), byte(0), []byte{}, uint16(64))
	c, _ = fuzzSession()
	f.Add(appendFrame(nil, frame{id: 1, payload: []byte("hello")}, c.send), uint64(1), frameOK, []byte("hello"), uint16(64))
	f.Add(appendFrame(two, frame{id: 3, payload: []byte{1}}, c.send), uint64(1<<63), frameFailed, []byte{}, uint16(1))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0}, uint64(5), byte(7), []byte("x"), uint16(0))
	f.Add([]byte{0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1, 0, 'a'}, uint64(5), byte(1), []byte("abc"), uint16(10))
	f.Fuzz(func(t *testing.T, in []byte, id uint64, status byte, payload []byte, maxLen uint16) {
		var hdr [frameHeader]byte
		c, s := fuzzSession()
		r := bytes.NewReader(in)
		for {
			off := len(in) - r.Len()
			fr, err := readFrame(r, &hdr, int(maxLen), s.recv, false, nil)
			if err != nil {
				break
			}
			if len(fr.payload) > int(maxLen) || fr.status >= frameStatuses {
				t.Fatalf("readFrame accepted %d bytes, status %d", len(fr.payload), fr.status)
			}
			end := len(in) - r.Len()
			if got := appendFrame(nil, fr, c.send); !bytes.Equal(got, in[off:end]) {
				t.Fatalf("frame %+v seals to %x, read from %x", fr, got, in[off:end])
			}
		}

		want := frame{id: id, status: status % frameStatuses, payload: payload}
		c, s = fuzzSession()
		sealed := appendFrame(nil, want, c.send)
		fr, err := readFrame(bytes.NewReader(sealed), &hdr, len(payload), s.recv, false, nil)
		require.NoError(t, err)
		require.Equal(t, want.id, fr.id)
		require.Equal(t, want.status, fr.status)
		require.True(t, bytes.Equal(want.payload, fr.payload))
		_, err = readFrame(bytes.NewReader(sealed), &hdr, len(payload), s.recv, false, nil)
		require.ErrorIs(t, err, errFrameAuth, "a replayed frame")
		c, s = fuzzSession()
		altered := appendFrame(nil, want, c.send)
		altered[int(id%uint64(len(altered)))] ^= 1 << (status % 8)
		_, err = readFrame(bytes.NewReader(altered), &hdr, len(payload), s.recv, false, nil)
		require.Error(t, err, "an altered frame")
		if len(payload) > 0 {
			c, s = fuzzSession()
			_, err = readFrame(bytes.NewReader(appendFrame(nil, want, c.send)), &hdr, len(payload)-1, s.recv, false, nil)
			require.ErrorIs(t, err, errFrameSize)
		}
	})
}
