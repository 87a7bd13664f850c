package version

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// expSib returns s expiring at expiry (unix ms).
func expSib(s Sibling, expiry int64) Sibling { s.Expiry = expiry; return s }

func TestSibling_Expired(t *testing.T) {
	tests := []struct {
		name string
		s    Sibling
		now  int64
		want bool
	}{
		{name: "no expiry", s: valSib(1, 1, nil, 1, "v"), now: 1 << 50, want: false},
		{name: "before", s: expSib(valSib(1, 1, nil, 1, "v"), 100), now: 99, want: false},
		{name: "at the expiry (Redis: not yet)", s: expSib(valSib(1, 1, nil, 1, "v"), 100), now: 100, want: false},
		{name: "after", s: expSib(valSib(1, 1, nil, 1, "v"), 100), now: 101, want: true},
		{name: "tombstone", s: tombSib(1, 1, nil, 1), now: 1 << 50, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { require.Equal(t, tt.want, tt.s.Expired(tt.now)) })
	}
}

func TestSiblings_At(t *testing.T) {
	forever := valSib(1, 1, nil, 10, "forever")
	ttl := expSib(valSib(2, 1, nil, 20, "ttl"), 100)
	ss := Siblings{forever, ttl}

	t.Run("before the expiry the set is unchanged", func(t *testing.T) {
		at := ss.At(100)
		require.Equal(t, ss, at)
		v, ok := at.Value()
		require.True(t, ok)
		require.Equal(t, "ttl", string(v), "the winner (latest timestamp) with its expiry")
	})
	t.Run("after it the expired sibling is a tombstone with the same dot", func(t *testing.T) {
		at := ss.At(101)
		require.True(t, SameVersions(ss, at), "the same dots")
		require.Equal(t, Sibling{Dot: ttl.Dot, Timestamp: ttl.Timestamp, Tombstone: true}, at[1])
		require.Equal(t, forever, at[0])
		_, ok := at.Value()
		require.False(t, ok, "the winner expired: the key reads as absent, as a deleted winner does")
		require.Len(t, at.Live(), 1, "the other sibling stays for DGET")
		require.Equal(t, "ttl", string(ss[1].Value), "At does not modify its argument")
	})
	t.Run("NextExpiry", func(t *testing.T) {
		require.Equal(t, int64(100), ss.NextExpiry())
		require.Zero(t, ss.At(101).NextExpiry())
		require.Zero(t, Siblings{forever}.NextExpiry())
	})
}

// TestSync_ReclaimedWins: a replica that reclaimed an expired sibling and
// one that still holds its value converge on the tombstone, in either
// order, and an older version the expired one superseded never comes back.
func TestSync_ReclaimedWins(t *testing.T) {
	v1 := Update(nil, 1, nil, 1, []byte("v1"), false)
	v2 := Siblings{expSib(Update(v1, 1, v1.Context(), 2, []byte("v2"), false)[0], 50)}
	reclaimed := v2.At(51)
	require.True(t, reclaimed[0].Tombstone)

	for _, tt := range []struct {
		name string
		a, b Siblings
	}{
		{name: "reclaimed meets the value", a: reclaimed, b: v2},
		{name: "value meets reclaimed", a: v2, b: reclaimed},
		{name: "reclaimed meets the superseded v1", a: reclaimed, b: v1},
		{name: "v1 meets reclaimed", a: v1, b: reclaimed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Sync(tt.a, tt.b)
			require.Equal(t, canonSibs(reclaimed), canonSibs(got))
			_, ok := got.Value()
			require.False(t, ok)
		})
	}
	t.Run("the expired value meets v1 before reclaim", func(t *testing.T) {
		got := Sync(v1, v2)
		require.Equal(t, canonSibs(v2), canonSibs(got), "v2 supersedes v1")
		_, ok := got.At(51).Value()
		require.False(t, ok, "and reads as absent once expired")
	})
}

func TestWriteExpiring(t *testing.T) {
	cur := Update(nil, 1, nil, 1, []byte("a"), false)
	got := WriteExpiring(cur, Dot{1, 2}, cur.Context(), 2, []byte("b"), false, 500)
	require.Len(t, got, 1)
	require.Equal(t, int64(500), got[0].Expiry)
	tomb := WriteExpiring(got, Dot{1, 3}, got.Context(), 3, []byte("x"), true, 500)
	require.Zero(t, tomb[0].Expiry, "a tombstone never expires")
	require.Nil(t, tomb[0].Value)
}

func TestEncodeRecord_FormatByExpiry(t *testing.T) {
	plain := Siblings{valSib(1, 1, nil, 1, "v")}
	require.Equal(t, recordFormatNoExpiry, EncodeRecord(plain)[0], "a set without expiries keeps format 1, as before")
	exp := Siblings{expSib(valSib(1, 1, nil, 1, "v"), 9)}
	enc := EncodeRecord(exp)
	require.Equal(t, RecordFormat, enc[0])
	got, err := DecodeRecord(enc)
	require.NoError(t, err)
	require.Equal(t, int64(9), got[0].Expiry)
	require.Equal(t, recordFormatNoExpiry, EncodeRecord(exp.At(10))[0], "reclaimed: no expiry left")
}
