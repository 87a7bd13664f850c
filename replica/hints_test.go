package replica

import (
	"context"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/dynkv/dynkv/version"
	"github.com/stretchr/testify/require"
)

func TestHints_BoundedAndCounted(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	s, err := Open(Config{Dir: "db", FS: fs, Durability: DurabilityNone, MaxHints: 2})
	require.NoError(t, err)
	ss := version.Update(nil, 1, nil, 1, []byte("v"), false)
	require.NoError(t, s.PutHint(ctx, "b", []byte("k1"), ss))
	require.NoError(t, s.PutHint(ctx, "c", []byte("k1"), ss))
	require.ErrorIs(t, s.PutHint(ctx, "b", []byte("k2"), ss), ErrHintsFull)
	more := version.Update(ss, 1, ss.Context(), 2, []byte("w"), false)
	require.NoError(t, s.PutHint(ctx, "b", []byte("k1"), more), "an existing hint may still grow")
	require.Equal(t, int64(2), s.Stats().Hints)

	hs, err := s.Hints(ctx, "b", nil, 10)
	require.NoError(t, err)
	require.Len(t, hs, 1)
	require.NoError(t, s.DeleteHint(ctx, "b", []byte("k1"), ss), "an older delivery leaves the grown hint")
	require.Equal(t, int64(2), s.Stats().Hints)
	require.NoError(t, s.DeleteHint(ctx, "b", []byte("k1"), more))
	require.Equal(t, int64(1), s.Stats().Hints)

	require.NoError(t, s.Close())
	s, err = Open(Config{Dir: "db", FS: fs, Durability: DurabilityNone, MaxHints: 2})
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, int64(1), s.Stats().Hints, "the count is rebuilt at open")
	all, err := s.Hints(ctx, "", nil, 10)
	require.NoError(t, err)
	require.Len(t, all, 1)
	require.Equal(t, "c", all[0].Node)
}
