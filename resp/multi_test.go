package resp

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/version"
)

// racingBackend lets a test write a key right after a read of it returns,
// as another client could between EXEC's check and the transaction's write.
type racingBackend struct {
	Backend
	after atomic.Pointer[func(key []byte)] // run once, after the next Get
}

func (b *racingBackend) Get(ctx context.Context, key []byte, opt coordinator.ReadOptions) (version.Siblings, error) {
	ss, err := b.Backend.Get(ctx, key, opt)
	if f := b.after.Swap(nil); f != nil {
		(*f)(key)
	}
	return ss, err
}

// TestMulti_WriteRacingExecBecomesSibling: a write that comes in after
// EXEC checked the watched key and before the transaction writes it is not
// lost: the transaction's write supersedes only what WATCH saw, and the
// two are siblings. Without WATCH, a plain SET supersedes everything.
func TestMulti_WriteRacingExecBecomesSibling(t *testing.T) {
	e := newDefaultEnv(t)
	rb := &racingBackend{Backend: e.co}
	s, err := New(DefaultConfig(), rb, e.store, testLogger(t))
	require.NoError(t, err)
	e.s = s
	a, b := e.client(), e.client()
	require.Equal(t, okReply, a.do("SET", "cart", "v1"))

	require.Equal(t, okReply, a.do("WATCH", "cart"))
	require.Equal(t, okReply, a.do("MULTI"))
	require.Equal(t, "+QUEUED\r\n", a.do("SET", "cart", "mine"))
	race := func([]byte) {
		require.Equal(t, okReply, b.do("SET", "cart", "racer"))
	}
	rb.after.Store(&race)
	require.Equal(t, "*1\r\n+OK\r\n", a.do("EXEC"))
	_, vals := a.dget("cart")
	require.ElementsMatch(t, []string{"mine", "racer"}, vals, "the racing write is a sibling, not lost")

	// The control: the same race against a transaction without WATCH.
	require.Equal(t, okReply, a.do("SET", "cart", "v1"))
	require.Equal(t, okReply, a.do("MULTI"))
	require.Equal(t, "+QUEUED\r\n", a.do("GET", "cart"))
	require.Equal(t, "+QUEUED\r\n", a.do("SET", "cart", "mine"))
	rb.after.Store(&race)
	require.Equal(t, "*2\r\n$2\r\nv1\r\n+OK\r\n", a.do("EXEC"))
	_, vals = a.dget("cart")
	require.Equal(t, []string{"mine"}, vals, "a plain SET supersedes everything")
}
