package resp

import (
	"context"
	"encoding/base64"
	"encoding/binary"
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
	require.Equal(t, string(e.s.cfg.ContextKey.Encode([]byte("cart:42"), nil)), ctx0, "a missing key has the empty context")
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
		{"dget r1", []string{"DGET", "k", "R", "1"}, arr(bulk(string(e.s.cfg.ContextKey.Encode([]byte("k"), nil))), "*0\r\n")},
		{"dget r3 lowercase", []string{"DGET", "k", "r", "3"}, arr(bulk(string(e.s.cfg.ContextKey.Encode([]byte("k"), nil))), "*0\r\n")},
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

// TestDynamo_ForgedContextsRefused is the probe of issue 12: a client that
// builds a context to cover another client's sibling it never read (to
// delete it), or to claim a huge counter or made-up actors, is refused and
// changes nothing; a context of another cluster secret is stale.
func TestDynamo_ForgedContextsRefused(t *testing.T) {
	e := newDefaultEnv(t)
	a, b := e.client(), e.client()
	const key = "cart:42"
	ctx0, _ := a.dget(key)
	require.Equal(t, okReply, a.do("DPUT", key, ctx0, "apple"))
	require.Equal(t, okReply, b.do("DPUT", key, ctx0, "pear"))
	seen, vals := a.dget(key)
	require.ElementsMatch(t, []string{"apple", "pear"}, vals)

	// What a forger would claim: the join of every sibling's clock (it
	// covers both), a counter near the limit, 6 x 256 actors.
	ss, err := e.co.Get(context.Background(), []byte(key), coordinator.ReadOptions{})
	require.NoError(t, err)
	covering := ss.Context()
	huge := version.VV{{Actor: ss[0].Dot.Actor, Counter: version.MaxCounter - 1}}
	many := make(version.VV, version.MaxContextEntries)
	for i := range many {
		many[i] = version.Entry{Actor: version.Actor(1000 + i), Counter: 1}
	}
	raw, err := base64.RawURLEncoding.DecodeString(seen)
	require.NoError(t, err)
	forge := func(v version.VV) string {
		b := append([]byte{raw[0]}, raw[1:5]...) // format and the server's key id
		b = binary.AppendUvarint(b, uint64(len(v)))
		for _, en := range v {
			b = binary.BigEndian.AppendUint64(b, uint64(en.Actor))
			b = binary.AppendUvarint(b, en.Counter)
		}
		return base64.RawURLEncoding.EncodeToString(append(b, make([]byte, 16)...))
	}
	for _, ctx := range []string{forge(covering), forge(huge), forge(many)} {
		require.Equal(t, errReply("ERR invalid context"), b.do("DDEL", key, ctx))
		require.Equal(t, errReply("ERR invalid context"), b.do("DPUT", key, ctx, "only mine"))
	}
	other := version.DeriveContextKey("another cluster").Encode([]byte(key), covering)
	require.Equal(t, errReply("ERR stale context: it was issued under another cluster secret; read the key again with DGET"),
		b.do("DDEL", key, string(other)))

	_, vals = a.dget(key)
	require.ElementsMatch(t, []string{"apple", "pear"}, vals, "nothing changed")
	require.Equal(t, okReply, a.do("DPUT", key, seen, "apple,pear"), "the context the server handed out works")
	_, vals = a.dget(key)
	require.Equal(t, []string{"apple,pear"}, vals)
}

// TestDynamo_ContextsDuringSecretRotation: while the cluster secret is
// rotated (cluster.accepted-secret set), a context signed under the other
// secret is accepted; once the rotation is over it is stale, and a context
// of neither secret never is.
func TestDynamo_ContextsDuringSecretRotation(t *testing.T) {
	const key = "cart:7"
	old, next := version.DeriveContextKey("old secret"), version.DeriveContextKey("new secret")
	cfg := DefaultConfig()
	cfg.ContextKey, cfg.AcceptedContextKey = next, old
	rotating := newTestEnv(t, cfg)
	c := rotating.client()
	require.Equal(t, okReply, c.do("SET", key, "apple"))
	ss, err := rotating.co.Get(context.Background(), []byte(key), coordinator.ReadOptions{})
	require.NoError(t, err)
	fromOld := string(old.Encode([]byte(key), ss.Context()))
	stranger := string(version.DeriveContextKey("a guess").Encode([]byte(key), ss.Context()))

	require.Equal(t, errReply("ERR stale context: it was issued under another cluster secret; read the key again with DGET"),
		c.do("DPUT", key, stranger, "x"))
	require.Equal(t, okReply, c.do("DPUT", key, fromOld, "apple,pear"), "a context of the previous secret")
	_, vals := c.dget(key)
	require.Equal(t, []string{"apple,pear"}, vals, "it replaced what it covered")

	cfg.AcceptedContextKey = version.ContextKey{}
	after := newTestEnv(t, cfg).client()
	require.Equal(t, okReply, after.do("SET", key, "apple"))
	require.Equal(t, errReply("ERR stale context: it was issued under another cluster secret; read the key again with DGET"),
		after.do("DPUT", key, fromOld, "x"), "after the rotation")
}
