package itest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestGoRedis_Handshake checks go-redis's connection handshake under its
// default options (HELLO 3, then
// CLIENT SETINFO) and under RESP2, and the handshake commands themselves.
func TestGoRedis_Handshake(t *testing.T) {
	n := startNode(t, t.TempDir())
	ctx := testContext(t)
	for _, proto := range []int{0, 2, 3} {
		t.Run(fmt.Sprintf("protocol %d", proto), func(t *testing.T) {
			rdb := redis.NewClient(&redis.Options{Addr: n.addr, Protocol: proto})
			t.Cleanup(func() { _ = rdb.Close() })
			require.NoError(t, rdb.Ping(ctx).Err())
			require.NoError(t, rdb.Set(ctx, "handshake", "ok", 0).Err())
			require.Equal(t, "ok", rdb.Get(ctx, "handshake").Val())
		})
	}

	rdb := n.client()
	hello, err := rdb.Do(ctx, "HELLO", "2").Result()
	require.NoError(t, err)
	require.NotEmpty(t, hello)
	// RESP3 is served: HELLO 3 answers a map.
	hello3, err := rdb.Do(ctx, "HELLO", "3").Result()
	require.NoError(t, err)
	require.Equal(t, int64(3), hello3.(map[any]any)["proto"])
	require.NoError(t, rdb.Do(ctx, "CLIENT", "SETINFO", "LIB-NAME", "go-redis").Err())
	require.NoError(t, rdb.Do(ctx, "CLIENT", "SETINFO", "LIB-VER", "9.23.0").Err())
}

func TestGoRedis_PlainCommands(t *testing.T) {
	n := startNode(t, t.TempDir())
	rdb := n.client()
	ctx := testContext(t)

	require.NoError(t, rdb.Set(ctx, "greeting", "hello", 0).Err())
	got, err := rdb.Get(ctx, "greeting").Result()
	require.NoError(t, err)
	require.Equal(t, "hello", got)

	_, err = rdb.Get(ctx, "missing").Result()
	require.ErrorIs(t, err, redis.Nil)

	require.NoError(t, rdb.MSet(ctx, "a", "1", "b", "2", "c", "3").Err())
	vals, err := rdb.MGet(ctx, "a", "missing", "b", "c").Result()
	require.NoError(t, err)
	require.Equal(t, []any{"1", nil, "2", "3"}, vals)

	del, err := rdb.Del(ctx, "a", "b", "missing").Result()
	require.NoError(t, err)
	require.Equal(t, int64(2), del)
	vals, err = rdb.MGet(ctx, "a", "b", "c").Result()
	require.NoError(t, err)
	require.Equal(t, []any{nil, nil, "3"}, vals)

	binary := string([]byte{0, 1, 2, '\r', '\n', 0xff})
	require.NoError(t, rdb.Set(ctx, "bin", binary, 0).Err())
	got, err = rdb.Get(ctx, "bin").Result()
	require.NoError(t, err)
	require.Equal(t, binary, got)
}

// TestGoRedis_Siblings runs the shopping-cart example of docs/design.md: two
// clients write concurrently from the same context, both writes are kept
// as siblings, and a write with the context that covers both collapses
// them.
func TestGoRedis_Siblings(t *testing.T) {
	n := startNode(t, t.TempDir())
	a, b := n.client(), n.client()
	ctx := testContext(t)
	const key = "cart:42"

	ctxA, vals := dget(ctx, t, a, key)
	require.Empty(t, vals)
	ctxB, vals := dget(ctx, t, b, key)
	require.Empty(t, vals)

	require.Equal(t, "OK", dput(ctx, t, a, key, ctxA, "apple"))
	require.Equal(t, "OK", dput(ctx, t, b, key, ctxB, "pear"))

	ctx2, vals := dget(ctx, t, a, key)
	require.ElementsMatch(t, []string{"apple", "pear"}, vals)

	require.Equal(t, "OK", dput(ctx, t, a, key, ctx2, "apple,pear"))
	_, vals = dget(ctx, t, a, key)
	require.Equal(t, []string{"apple,pear"}, vals)

	got, err := a.Get(ctx, key).Result()
	require.NoError(t, err)
	require.Equal(t, "apple,pear", got)

	err = a.Do(ctx, "DPUT", key, "garbage", "x").Err()
	require.Error(t, err)
	require.Contains(t, err.Error(), "ERR invalid context")
}

// TestGoRedis_PlainGetPicksSibling checks that GET on a key with siblings
// returns one of them, the same one every time.
func TestGoRedis_PlainGetPicksSibling(t *testing.T) {
	n := startNode(t, t.TempDir())
	rdb := n.client()
	ctx := testContext(t)
	c0, _ := dget(ctx, t, rdb, "k")
	require.Equal(t, "OK", dput(ctx, t, rdb, "k", c0, "x"))
	require.Equal(t, "OK", dput(ctx, t, rdb, "k", c0, "y"))
	first, err := rdb.Get(ctx, "k").Result()
	require.NoError(t, err)
	require.Contains(t, []string{"x", "y"}, first)
	for range 5 {
		again, err := rdb.Get(ctx, "k").Result()
		require.NoError(t, err)
		require.Equal(t, first, again)
	}
}

// dget runs DGET key and returns the context, which must be printable
// base64url, and the sibling values.
func dget(ctx context.Context, t *testing.T, rdb *redis.Client, key string) (string, []string) {
	t.Helper()
	res, err := rdb.Do(ctx, "DGET", key).Slice()
	require.NoError(t, err)
	require.Len(t, res, 2, "DGET replies [context, [values...]]")
	c, ok := res[0].(string)
	require.True(t, ok, "context is a bulk string, got %T", res[0])
	require.Regexp(t, `^[A-Za-z0-9_-]*$`, c, "context is printable base64url")
	raw, ok := res[1].([]any)
	require.True(t, ok, "values are an array, got %T", res[1])
	vals := make([]string, 0, len(raw))
	for _, v := range raw {
		s, ok := v.(string)
		require.True(t, ok, "value is a bulk string, got %T", v)
		vals = append(vals, s)
	}
	return c, vals
}

func dput(ctx context.Context, t *testing.T, rdb *redis.Client, key, c, value string) string {
	t.Helper()
	res, err := rdb.Do(ctx, "DPUT", key, c, value).Text()
	require.NoError(t, err)
	return res
}

// TestGoRedis_Transactions: go-redis's TxPipelined (MULTI/EXEC) and its
// optimistic-locking recipe (Watch, a changed key aborting with TxFailedErr)
// against the binary, with default options.
func TestGoRedis_Transactions(t *testing.T) {
	n := startNode(t, t.TempDir())
	ctx := testContext(t)
	rdb := n.client()
	cmds, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "tx:a", "1", 0)
		p.Append(ctx, "tx:a", "2")
		p.Get(ctx, "tx:a")
		return nil
	})
	require.NoError(t, err)
	require.Len(t, cmds, 3)
	require.Equal(t, "12", cmds[2].(*redis.StringCmd).Val())

	other := n.client()
	err = rdb.Watch(ctx, func(tx *redis.Tx) error {
		v, err := tx.Get(ctx, "tx:a").Result()
		if err != nil {
			return err
		}
		require.NoError(t, other.Set(ctx, "tx:a", "changed", 0).Err()) // in between
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "tx:a", v+"3", 0)
			return nil
		})
		return err
	}, "tx:a")
	require.ErrorIs(t, err, redis.TxFailedErr)
	require.Equal(t, "changed", rdb.Get(ctx, "tx:a").Val(), "the aborted transaction wrote nothing")

	err = rdb.Watch(ctx, func(tx *redis.Tx) error {
		v, err := tx.Get(ctx, "tx:a").Result()
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "tx:a", v+"!", 0)
			return nil
		})
		return err
	}, "tx:a")
	require.NoError(t, err)
	require.Equal(t, "changed!", rdb.Get(ctx, "tx:a").Val())
}
