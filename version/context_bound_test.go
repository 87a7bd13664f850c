package version

import (
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKeyContext_BoundToKey(t *testing.T) {
	k := DeriveContextKey("s")
	v := VV{{Actor: 3, Counter: 10}}
	enc := k.Encode([]byte("a"), v)
	got, err := k.Decode([]byte("a"), enc)
	require.NoError(t, err)
	require.Equal(t, Equal, got.Compare(v))
	_, err = k.Decode([]byte("b"), enc)
	require.ErrorIs(t, err, ErrInvalidContext, "a context read from another key")
	_, err = k.Decode([]byte("a"), EncodeContext(v))
	require.ErrorIs(t, err, ErrInvalidContext, "an unbound context")
	empty, err := k.Decode([]byte("a"), nil)
	require.NoError(t, err)
	require.Empty(t, empty)
}

// The limits hold for contexts the key itself signed: a node never hands
// out such a context, and a client cannot make one.
func TestKeyContext_Limits(t *testing.T) {
	k := DeriveContextKey("s")
	_, err := k.Decode([]byte("k"), k.Encode([]byte("k"), VV{{Actor: 1, Counter: MaxCounter}}))
	require.ErrorIs(t, err, ErrInvalidContext, "a counter that could overflow")
	wide := make(VV, MaxContextEntries+1)
	for i := range wide {
		wide[i] = Entry{Actor: Actor(i + 1), Counter: 1}
	}
	_, err = k.Decode([]byte("k"), k.Encode([]byte("k"), wide))
	require.ErrorIs(t, err, ErrInvalidContext, "too many entries")
	_, err = k.Decode([]byte("k"), k.Encode([]byte("k"), wide[:MaxContextEntries]))
	require.NoError(t, err)
}

// TestKeyContext_Unforgeable: a context made or altered without the key
// is refused, whatever it claims; one of another secret is stale.
func TestKeyContext_Unforgeable(t *testing.T) {
	k := DeriveContextKey("cluster secret")
	key := []byte("cart:42")
	good := k.Encode(key, VV{{Actor: 7, Counter: 2}})
	text := func(raw []byte) []byte { return []byte(base64.RawURLEncoding.EncodeToString(raw)) }
	raw, err := base64.RawURLEncoding.DecodeString(string(good))
	require.NoError(t, err)

	// The forgeries of the issue: cover a sibling never read, claim a
	// huge counter, name made-up actors — each with a made-up MAC.
	forge := func(v VV) []byte {
		b := append([]byte{keyContextFormat}, raw[1:5]...) // the right key id
		b = appendVV(b, v)
		return text(append(b, make([]byte, macLen)...))
	}
	many := make(VV, 6*256)
	for i := range many {
		many[i] = Entry{Actor: Actor(1000 + i), Counter: 1}
	}
	for name, ctx := range map[string][]byte{
		"covers a sibling never read": forge(VV{{Actor: 7, Counter: 9}}),
		"a huge counter":              forge(VV{{Actor: 7, Counter: MaxCounter - 1}}),
		"made-up actors":              forge(many[:MaxContextEntries]),
		"signed by another key":       DeriveContextKey("guess").Encode(key, VV{{Actor: 7, Counter: 9}}),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := k.Decode(key, ctx)
			if name == "signed by another key" {
				require.ErrorIs(t, err, ErrStaleContext)
				return
			}
			require.ErrorIs(t, err, ErrInvalidContext)
		})
	}
	for i := range raw {
		altered := append([]byte{}, raw...)
		altered[i] ^= 0x40
		_, err := k.Decode(key, text(altered))
		require.Error(t, err, "byte %d altered", i)
	}
	// A context of the unsigned format before contexts were signed.
	old := []byte{oldKeyContextFormat}
	old = binary.BigEndian.AppendUint32(old, crc32.Checksum(key, castagnoli))
	old = appendVV(old, VV{{Actor: 7, Counter: 2}})
	old = binary.BigEndian.AppendUint32(old, crc32.Checksum(old, castagnoli))
	_, err = k.Decode(key, text(old))
	require.ErrorIs(t, err, ErrStaleContext)
	// The same secret gives the same key on every node.
	got, err := DeriveContextKey("cluster secret").Decode(key, good)
	require.NoError(t, err)
	require.Equal(t, VV{{Actor: 7, Counter: 2}}, got)
}

// FuzzDecodeKeyContext: Decode never panics and accepts only what the key
// signed for that user key.
func FuzzDecodeKeyContext(f *testing.F) {
	k := DeriveContextKey("fuzz")
	f.Add([]byte("k"), k.Encode([]byte("k"), VV{{Actor: 1, Counter: 2}}))
	f.Add([]byte("k"), []byte("garbage"))
	f.Add([]byte(""), k.Encode(nil, nil))
	f.Fuzz(func(t *testing.T, key, b []byte) {
		v, err := k.Decode(key, b)
		if err != nil || len(b) == 0 {
			return
		}
		raw, err := base64.RawURLEncoding.DecodeString(string(b))
		require.NoError(t, err)
		signed, err := base64.RawURLEncoding.DecodeString(string(k.Encode(key, v)))
		require.NoError(t, err)
		require.Equal(t, signed, raw, "accepted a context the key did not sign")
	})
}
