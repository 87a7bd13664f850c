package coordinator_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/replica"
	"github.com/dynkv/dynkv/version"
)

// fakeClock is a clock that tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func newCoordinator(t *testing.T, cfg coordinator.Config) (*coordinator.Coordinator, *replica.Store, *fakeClock) {
	t.Helper()
	st, err := replica.Open(replica.Config{Dir: "db", FS: vfs.NewMem(), Durability: replica.DurabilityNone})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	c, err := coordinator.New(cfg, st, clk.now, nil)
	require.NoError(t, err)
	return c, st, clk
}

func values(ss version.Siblings) []string {
	var out []string
	for _, s := range ss.Live() {
		out = append(out, string(s.Value))
	}
	return out
}

func TestCoordinator_SiblingsFromConcurrentContexts(t *testing.T) {
	ctx := context.Background()
	c, _, clk := newCoordinator(t, coordinator.DefaultConfig())
	key := []byte("cart:42")

	read, err := c.Get(ctx, key, coordinator.ReadOptions{})
	require.NoError(t, err)
	require.Empty(t, read)
	ctx0 := read.Context()

	_, err = c.Put(ctx, key, coordinator.Write{Context: ctx0, Value: coordinator.Value([]byte("apple"))})
	require.NoError(t, err)
	clk.t = clk.t.Add(time.Second)
	_, err = c.Put(ctx, key, coordinator.Write{Context: ctx0, Value: coordinator.Value([]byte("pear"))})
	require.NoError(t, err)

	read, err = c.Get(ctx, key, coordinator.ReadOptions{})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"apple", "pear"}, values(read))
	v, ok := read.Value()
	require.True(t, ok)
	require.Equal(t, "pear", string(v), "plain read picks the later write")

	_, err = c.Put(ctx, key, coordinator.Write{Context: read.Context(), Value: coordinator.Value([]byte("apple,pear"))})
	require.NoError(t, err)
	read, err = c.Get(ctx, key, coordinator.ReadOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{"apple,pear"}, values(read))
	require.Equal(t, int64(1), c.Stats().SiblingReads)
}

func TestCoordinator_SupersedeReplacesEverything(t *testing.T) {
	ctx := context.Background()
	c, st, _ := newCoordinator(t, coordinator.DefaultConfig())
	key := []byte("k")
	for _, v := range []string{"a", "b", "c"} {
		_, err := c.Put(ctx, key, coordinator.Write{Value: coordinator.Value([]byte(v))}) // empty context: siblings
		require.NoError(t, err)
	}
	prev, err := c.Put(ctx, key, coordinator.Write{Supersede: true, Value: coordinator.Value([]byte("z"))})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"a", "b", "c"}, values(prev))
	got, err := st.Get(ctx, key)
	require.NoError(t, err)
	require.Equal(t, []string{"z"}, values(got))

	_, err = c.Put(ctx, key, coordinator.Write{Supersede: true, Value: coordinator.Tombstone()})
	require.NoError(t, err)
	got, err = c.Get(ctx, key, coordinator.ReadOptions{})
	require.NoError(t, err)
	_, ok := got.Value()
	require.False(t, ok, "deleted key reads as absent")
	require.Len(t, got, 1, "the delete is a tombstone until anti-entropy collects it")
	require.Equal(t, int64(0), st.Stats().Keys)
}

func TestCoordinator_ValueErrorWritesNothing(t *testing.T) {
	ctx := context.Background()
	c, st, _ := newCoordinator(t, coordinator.DefaultConfig())
	errExists := errors.New("exists")
	before := st.Stats().Writes
	_, err := c.Put(ctx, []byte("k"), coordinator.Write{Supersede: true, Value: func(version.Siblings) ([]byte, bool, error) {
		return nil, false, errExists
	}})
	require.ErrorIs(t, err, errExists)
	require.Equal(t, before, st.Stats().Writes)
	require.Equal(t, int64(0), c.Stats().Writes)
}

func TestCoordinator_QuorumOverrides(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newCoordinator(t, coordinator.Config{N: 3, R: 2, W: 2, Timeout: time.Second})
	for _, tc := range []struct {
		name string
		q    int
		err  error
	}{
		{name: "default", q: 0},
		{name: "one", q: 1},
		{name: "all", q: 3},
		{name: "above n", q: 4, err: coordinator.ErrBadQuorum},
		{name: "negative", q: -1, err: coordinator.ErrBadQuorum},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Get(ctx, []byte("k"), coordinator.ReadOptions{R: tc.q})
			require.ErrorIs(t, err, tc.err)
			_, err = c.Put(ctx, []byte("k"), coordinator.Write{W: tc.q, Supersede: true, Value: coordinator.Value([]byte("v"))})
			require.ErrorIs(t, err, tc.err)
		})
	}
	require.Equal(t, 1, c.Stats().Replicas, "a one-node cluster caps R and W to its one replica")
}

func TestConfig_Validate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  coordinator.Config
		want string
	}{
		{name: "n", cfg: coordinator.Config{N: 0, R: 1, W: 1, Timeout: time.Second}, want: "n:"},
		{name: "r", cfg: coordinator.Config{N: 3, R: 4, W: 1, Timeout: time.Second}, want: "r:"},
		{name: "w", cfg: coordinator.Config{N: 3, R: 1, W: 0, Timeout: time.Second}, want: "w:"},
		{name: "timeout", cfg: coordinator.Config{N: 3, R: 1, W: 1}, want: "timeout:"},
		{name: "max siblings size", cfg: coordinator.Config{N: 3, R: 1, W: 1, Timeout: time.Second, MaxSiblingsSize: -1}, want: "max-siblings-size:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorContains(t, tc.cfg.Validate(), tc.want)
		})
	}
	require.NoError(t, coordinator.DefaultConfig().Validate())
}

func TestCoordinator_CancelledContext(t *testing.T) {
	c, _, _ := newCoordinator(t, coordinator.DefaultConfig())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Put(ctx, []byte("k"), coordinator.Write{Supersede: true, Value: coordinator.Value([]byte("v"))})
	require.ErrorIs(t, err, context.Canceled)
	_, err = c.Get(ctx, []byte("k"), coordinator.ReadOptions{})
	require.ErrorIs(t, err, context.Canceled)
}

// TestCoordinator_SiblingsSizeBound: a write that would leave a key's
// siblings over MaxSiblingsSize is refused with nothing written, while a
// merge of an acknowledged version from another replica always succeeds;
// a write whose context covers the siblings resolves them, and a plain SET
// never fails because of the bound.
func TestCoordinator_SiblingsSizeBound(t *testing.T) {
	ctx := context.Background()
	cfg := coordinator.DefaultConfig()
	cfg.MaxSiblingsSize = 300 // two siblings of 100 bytes and their versions, not three
	c, st, _ := newCoordinator(t, cfg)
	key := []byte("cart:1")
	val := func(b byte) []byte { return bytes.Repeat([]byte{b}, 100) }

	for _, b := range []byte{'a', 'b'} {
		_, err := c.Put(ctx, key, coordinator.Write{Data: val(b)}) // the empty context: a sibling
		require.NoError(t, err)
	}
	before := st.Stats().Writes
	_, err := c.Put(ctx, key, coordinator.Write{Data: val('c')})
	require.ErrorIs(t, err, version.ErrTooManyVersions)
	require.ErrorContains(t, err, "max-siblings-size (300)")
	require.Equal(t, before, st.Stats().Writes, "nothing written")
	got, err := st.Get(ctx, key)
	require.NoError(t, err)
	require.Len(t, got, 2)

	// Another coordinator's acknowledged write arrives by merge: kept,
	// even though the key now holds more than the bound.
	theirs := version.Siblings{{Dot: version.Dot{Actor: 999, Counter: 1}, Timestamp: 1, Value: val('z')}}
	merged, err := st.Merge(ctx, key, theirs)
	require.NoError(t, err)
	require.Len(t, merged, 3)
	require.Greater(t, int64(merged.RecordSize()), cfg.MaxSiblingsSize)

	// Covering one sibling still leaves too much; covering all resolves.
	_, err = c.Put(ctx, key, coordinator.Write{Context: merged[:1].Context(), Data: val('d')})
	require.ErrorIs(t, err, version.ErrTooManyVersions)
	_, err = c.Put(ctx, key, coordinator.Write{Context: merged.Context(), Data: val('e')})
	require.NoError(t, err)
	got, err = st.Get(ctx, key)
	require.NoError(t, err)
	require.Equal(t, []string{string(val('e'))}, values(got))

	// A plain SET supersedes everything, whatever the key holds.
	fat, err := st.Merge(ctx, key, version.Siblings{
		{Dot: version.Dot{Actor: 997, Counter: 1}, Timestamp: 1, Value: val('x')},
		{Dot: version.Dot{Actor: 998, Counter: 1}, Timestamp: 1, Value: val('y')},
	})
	require.NoError(t, err)
	require.Len(t, fat, 3)
	_, err = c.Put(ctx, key, coordinator.Write{Supersede: true, Data: val('s')})
	require.NoError(t, err)
	got, err = st.Get(ctx, key)
	require.NoError(t, err)
	require.Equal(t, []string{string(val('s'))}, values(got))
}
