package coordinator_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/version"
)

// TestCoordinator_LongHistoryNeverRefusesWrites: a key written through more
// actors than a record may name (a node draws a new actor after every
// unclean restart and every handoff) still takes SET and DEL, its
// versions stay within MaxPastEntries, and a sibling written concurrently
// (with an old context) is kept, not dropped by the bound.
func TestCoordinator_LongHistoryNeverRefusesWrites(t *testing.T) {
	ctx := context.Background()
	c, st, _ := newCoordinator(t, coordinator.DefaultConfig())
	key := []byte("session:1")
	set := func(v string) {
		t.Helper()
		_, err := c.Put(ctx, key, coordinator.Write{Supersede: true, Value: coordinator.Value([]byte(v))})
		require.NoError(t, err)
	}
	for i := range version.MaxVVEntries + 100 {
		set("v")
		if i == 10 {
			// A client reads now and writes back much later.
			read, err := c.Get(ctx, key, coordinator.ReadOptions{})
			require.NoError(t, err)
			defer func(old version.VV) {
				_, err := c.Put(ctx, key, coordinator.Write{Context: old, Value: coordinator.Value([]byte("late"))})
				require.NoError(t, err)
				ss, err := c.Get(ctx, key, coordinator.ReadOptions{})
				require.NoError(t, err)
				require.ElementsMatch(t, []string{"late", "last"}, values(ss), "a concurrent write stays a sibling")
				for _, s := range ss {
					require.LessOrEqual(t, len(s.Past), version.MaxPastEntries)
				}
			}(read.Context())
		}
		require.NoError(t, st.RotateActor(ctx))
	}
	ss, err := c.Get(ctx, key, coordinator.ReadOptions{})
	require.NoError(t, err)
	require.Len(t, ss, 1)
	require.LessOrEqual(t, len(ss[0].Past), version.MaxPastEntries)
	_, err = c.Put(ctx, key, coordinator.Write{Supersede: true, Value: coordinator.Tombstone()})
	require.NoError(t, err, "DEL")
	set("last")
}
