package resp

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/version"
)

// putHook is a Backend whose Put of one key runs a hook first; a hook
// error fails the Put with nothing written.
type putHook struct {
	Backend
	key  string
	hook func() error
}

func (p putHook) Put(ctx context.Context, key []byte, w coordinator.Write) (version.Siblings, error) {
	if string(key) == p.key {
		if err := p.hook(); err != nil {
			return nil, err
		}
	}
	return p.Backend.Put(ctx, key, w)
}

func hookedEnv(t *testing.T, key string, hook func(e *testEnv) error) (*testEnv, *testClient) {
	t.Helper()
	e := newDefaultEnv(t)
	s, err := New(testConfig(e), putHook{Backend: e.co, key: key, hook: func() error { return hook(e) }}, e.store, testLogger(t))
	require.NoError(t, err)
	he := &testEnv{t: t, s: s, co: e.co, store: e.store, clock: e.clock}
	return he, he.client()
}

// TestRename_NeverLosesTheSource: a RENAME whose destination write fails
// leaves the source as it was; a write to the source between RENAME's
// read and its delete survives the delete, and plain reads see it.
func TestRename_NeverLosesTheSource(t *testing.T) {
	t.Run("destination write fails", func(t *testing.T) {
		_, c := hookedEnv(t, "dst", func(*testEnv) error { return &coordinator.QuorumError{Op: "write", Need: 2, Got: 1} })
		require.Equal(t, okReply, c.do("SET", "src", "v"))
		require.Contains(t, c.do("RENAME", "src", "dst"), "-NOREPLICAS")
		require.Equal(t, bulk("v"), c.do("GET", "src"))
		require.Equal(t, nilReply, c.do("GET", "dst"))
		require.Contains(t, c.do("RENAMENX", "src", "dst"), "-NOREPLICAS")
		require.Equal(t, bulk("v"), c.do("GET", "src"))
	})
	t.Run("source written meanwhile", func(t *testing.T) {
		var other *testClient
		e, c := hookedEnv(t, "dst", func(e *testEnv) error {
			e.clock.Advance(time.Millisecond)
			if got := other.do("SET", "src", "newer"); got != okReply {
				return errors.New(got)
			}
			return nil
		})
		other = newTestEnvOver(t, e).client()
		require.Equal(t, okReply, c.do("SET", "src", "v"))
		require.Equal(t, okReply, c.do("RENAME", "src", "dst"))
		require.Equal(t, bulk("v"), c.do("GET", "dst"))
		require.Equal(t, bulk("newer"), c.do("GET", "src"), "the write after RENAME's read survives")
		_, vals := c.dget("src")
		require.Equal(t, []string{"newer"}, vals)
	})
}

// newTestEnvOver returns an environment with a plain server over e's
// coordinator and store.
func newTestEnvOver(t *testing.T, e *testEnv) *testEnv {
	t.Helper()
	s, err := New(testConfig(e), e.co, e.store, testLogger(t))
	require.NoError(t, err)
	return &testEnv{t: t, s: s, co: e.co, store: e.store, clock: e.clock}
}

// testConfig is the configuration newTestEnv gives its server.
func testConfig(e *testEnv) Config {
	cfg := DefaultConfig()
	cfg.Clock = e.clock.Now
	return cfg
}
