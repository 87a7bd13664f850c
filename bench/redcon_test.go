package bench

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// startRedcon serves the minimal redcon server on a loopback port for the
// test and stops it at the end, checking that it returned nil.
func startRedcon(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeRedcon(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("ServeRedcon did not return after its context was cancelled")
		}
	})
	return ln.Addr().String()
}

func TestServeRedcon_Commands(t *testing.T) {
	addr := startRedcon(t)
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	defer c.Close()

	t.Run("ping", func(t *testing.T) {
		require.Equal(t, "PONG", c.Ping(ctx).Val())
	})
	t.Run("set get", func(t *testing.T) {
		require.NoError(t, c.Set(ctx, "k", "v1", 0).Err())
		require.Equal(t, "v1", c.Get(ctx, "k").Val())
		require.NoError(t, c.Set(ctx, "k", "v2", 0).Err())
		require.Equal(t, "v2", c.Get(ctx, "k").Val())
		require.ErrorIs(t, c.Get(ctx, "missing").Err(), redis.Nil)
	})
	t.Run("mset mget del", func(t *testing.T) {
		require.NoError(t, c.MSet(ctx, "a", "1", "b", "2").Err())
		require.Equal(t, []any{"1", "2", nil}, c.MGet(ctx, "a", "b", "c").Val())
		require.Equal(t, int64(2), c.Del(ctx, "a", "b", "c").Val())
		require.ErrorIs(t, c.Get(ctx, "a").Err(), redis.Nil)
	})
	t.Run("pipeline", func(t *testing.T) {
		p := c.Pipeline()
		set, get := p.Set(ctx, "p", "x", 0), p.Get(ctx, "p")
		_, err := p.Exec(ctx)
		require.NoError(t, err)
		require.Equal(t, "OK", set.Val())
		require.Equal(t, "x", get.Val())
	})
	t.Run("config get", func(t *testing.T) {
		// What redis-benchmark asks at its start, and redis-server's
		// answer to a parameter it does not know.
		require.Equal(t, map[string]string{"appendonly": "no"}, c.ConfigGet(ctx, "appendonly").Val())
		require.Equal(t, map[string]string{"save": ""}, c.ConfigGet(ctx, "save").Val())
		require.Empty(t, c.ConfigGet(ctx, "nonsense").Val())
	})
	t.Run("unknown command", func(t *testing.T) {
		require.ErrorContains(t, c.Do(ctx, "DGET", "k").Err(), "ERR unknown command")
		require.ErrorContains(t, c.Do(ctx, "SET", "k").Err(), "ERR unknown command or wrong number of arguments")
	})
}
