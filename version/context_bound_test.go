package version

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKeyContext_BoundToKey(t *testing.T) {
	v := VV{{Actor: 3, Counter: 10}}
	enc := EncodeKeyContext([]byte("a"), v)
	got, err := DecodeKeyContext([]byte("a"), enc)
	require.NoError(t, err)
	require.Equal(t, Equal, got.Compare(v))
	_, err = DecodeKeyContext([]byte("b"), enc)
	require.ErrorIs(t, err, ErrInvalidContext, "a context read from another key")
	_, err = DecodeKeyContext([]byte("a"), EncodeContext(v))
	require.ErrorIs(t, err, ErrInvalidContext, "an unbound context")
	empty, err := DecodeKeyContext([]byte("a"), nil)
	require.NoError(t, err)
	require.Empty(t, empty)
}

func TestKeyContext_Limits(t *testing.T) {
	_, err := DecodeKeyContext([]byte("k"), EncodeKeyContext([]byte("k"), VV{{Actor: 1, Counter: MaxCounter}}))
	require.ErrorIs(t, err, ErrInvalidContext, "a counter that could overflow")
	wide := make(VV, MaxContextEntries+1)
	for i := range wide {
		wide[i] = Entry{Actor: Actor(i + 1), Counter: 1}
	}
	_, err = DecodeKeyContext([]byte("k"), EncodeKeyContext([]byte("k"), wide))
	require.ErrorIs(t, err, ErrInvalidContext, "too many entries")
	_, err = DecodeKeyContext([]byte("k"), EncodeKeyContext([]byte("k"), wide[:MaxContextEntries]))
	require.NoError(t, err)
}
