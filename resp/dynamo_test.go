package resp

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/version"
)

// TestDynamo_ShoppingCart is the worked example of docs/design.md.
func TestDynamo_ShoppingCart(t *testing.T) {
	e := newDefaultEnv(t)
	a, b := e.client(), e.client()
	const key = "cart:42"

	ctx0, vals := a.dget(key)
	require.Empty(t, vals)
	require.Equal(t, string(version.EncodeKeyContext([]byte("cart:42"), nil)), ctx0, "a missing key has the empty context")
	ctx0b, _ := b.dget(key)
	require.Equal(t, ctx0, ctx0b)

	require.Equal(t, okReply, a.do("DPUT", key, ctx0, "apple"))
	e.clock.Advance(time.Second)
	require.Equal(t, okReply, b.do("DPUT", key, ctx0, "pear"), "concurrent with A's write: both kept")

	ctx2, vals := a.dget(key)
	require.ElementsMatch(t, []string{"apple", "pear"}, vals)
	require.Equal(t, bulk("pear"), a.do("GET", key), "with siblings, GET picks the last writer")

	require.Equal(t, okReply, a.do("DPUT", key, ctx2, "apple,pear"), "ctx2 covers both siblings: they collapse")
	ctx3, vals := a.dget(key)
	require.Equal(t, []string{"apple,pear"}, vals)
	require.NotEqual(t, ctx2, ctx3)
	require.Equal(t, bulk("apple,pear"), a.do("GET", key))

	writes := e.store.Stats().Writes
	require.Equal(t, errReply("ERR invalid context"), a.do("DPUT", key, "garbage", "x"))
	otherCtx, _ := a.dget("cart:43")
	require.Equal(t, errReply("ERR invalid context"), a.do("DPUT", key, otherCtx, "x"), "a context is bound to its key")
	require.Equal(t, writes, e.store.Stats().Writes, "nothing was written")
	ctx, vals := a.dget(key)
	require.Equal(t, ctx3, ctx, "nothing changed")
	require.Equal(t, []string{"apple,pear"}, vals)
}

// TestDynamo_GetPicksDeterministically checks that GET on siblings returns
// what version.Siblings.Value picks: the latest timestamp, whatever the
// order of the writes.
func TestDynamo_GetPicksDeterministically(t *testing.T) {
	e := newDefaultEnv(t)
	tc := e.client()
	e.clock.Advance(time.Second)
	require.Equal(t, okReply, tc.do("DPUT", "k", "", "later"))
	e.clock.Advance(-time.Minute) // an earlier timestamp arrives second
	require.Equal(t, okReply, tc.do("DPUT", "k", "", "earlier"))
	_, vals := tc.dget("k")
	require.ElementsMatch(t, []string{"later", "earlier"}, vals)

	ss, err := e.co.Get(t.Context(), []byte("k"), coordinator.ReadOptions{})
	require.NoError(t, err)
	v, ok := ss.Value()
	require.True(t, ok)
	require.Equal(t, "later", string(v))
	require.Equal(t, bulk("later"), tc.do("GET", "k"))
	require.Equal(t, intReply(1), tc.do("EXISTS", "k"))
	require.Equal(t, intReply(5), tc.do("STRLEN", "k"))

	require.Equal(t, okReply, tc.do("SET", "k", "plain"), "SET supersedes every sibling")
	_, vals = tc.dget("k")
	require.Equal(t, []string{"plain"}, vals)
}

func TestDynamo_DeleteWithContext(t *testing.T) {
	e := newDefaultEnv(t)
	tc := e.client()
	require.Equal(t, okReply, tc.do("SET", "k", "v"))
	ctx, _ := tc.dget("k")
	require.Equal(t, okReply, tc.do("DDEL", "k", ctx))
	ctxAfter, vals := tc.dget("k")
	require.Empty(t, vals, "the tombstone is not a value")
	require.NotEqual(t, ctx, ctxAfter, "the context includes the tombstone's clock")
	require.Equal(t, nilReply, tc.do("GET", "k"))
	require.Equal(t, errReply("ERR invalid context"), tc.do("DDEL", "k", "!!"))

	// A delete concurrent with a write (an older context) keeps the write.
	require.Equal(t, okReply, tc.do("DPUT", "k", ctxAfter, "v2"))
	require.Equal(t, okReply, tc.do("DDEL", "k", ctxAfter))
	_, vals = tc.dget("k")
	require.Equal(t, []string{"v2"}, vals)
}

func TestDynamo_QuorumOverrides(t *testing.T) {
	e := newDefaultEnv(t) // N=3
	tc := e.client()
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"dget r1", []string{"DGET", "k", "R", "1"}, arr(bulk(string(version.EncodeKeyContext([]byte("k"), nil))), "*0\r\n")},
		{"dget r3 lowercase", []string{"DGET", "k", "r", "3"}, arr(bulk(string(version.EncodeKeyContext([]byte("k"), nil))), "*0\r\n")},
		{"dget r0", []string{"DGET", "k", "R", "0"}, errReply("ERR R must be between 1 and N (3), got 0")},
		{"dget r4", []string{"DGET", "k", "R", "4"}, errReply("ERR R must be between 1 and N (3), got 4")},
		{"dget r negative", []string{"DGET", "k", "R", "-1"}, errReply("ERR R must be between 1 and N (3), got -1")},
		{"dget r not integer", []string{"DGET", "k", "R", "x"}, errReply("ERR value is not an integer or out of range")},
		{"dget w", []string{"DGET", "k", "W", "1"}, errReply("ERR syntax error")},
		{"dget r missing", []string{"DGET", "k", "R"}, errReply("ERR syntax error")},
		{"dget extra", []string{"DGET", "k", "R", "1", "x"}, errReply("ERR syntax error")},
		{"dput w1", []string{"DPUT", "k", "", "v", "W", "1"}, okReply},
		{"dput w4", []string{"DPUT", "k", "", "v", "W", "4"}, errReply("ERR W must be between 1 and N (3), got 4")},
		{"dput w huge", []string{"DPUT", "k", "", "v", "W", "99999999999"}, errReply("ERR W must be between 1 and N (3), got 99999999999")},
		{"dput r", []string{"DPUT", "k", "", "v", "R", "1"}, errReply("ERR syntax error")},
		{"ddel w2", []string{"DDEL", "k", "", "W", "2"}, okReply},
		{"ddel w0", []string{"DDEL", "k", "", "W", "0"}, errReply("ERR W must be between 1 and N (3), got 0")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tc.do(tt.args...))
		})
	}
}
