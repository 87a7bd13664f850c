package resp

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTable_ConcurrentKey checks which commands may overlap in a pipeline:
// plain data commands naming exactly one key, and nothing else.
func TestTable_ConcurrentKey(t *testing.T) {
	tb := newTable()
	for _, tt := range []struct {
		cmd string
		key string // "" when the command is a barrier
	}{
		{"GET k", "k"},
		{"get k", "k"},
		{"SET k v", "k"},
		{"SET k v NX GET", "k"},
		{"SET k v EX 10", "k"},
		{"EXPIRE k 10", "k"},
		{"TTL k", "k"},
		{"GETEX k PERSIST", "k"},
		{"SETNX k v", "k"},
		{"GETSET k v", "k"},
		{"STRLEN k", "k"},
		{"APPEND k v", "k"},
		{"EXISTS k", "k"},
		{"DEL k", "k"},
		{"UNLINK k", "k"},
		{"DGET k", "k"},
		{"DGET k R 1", "k"},
		{"DPUT k c v", "k"},
		{"DDEL k c", "k"},
		{"EXISTS k k", ""},
		{"DEL a b", ""},
		{"UNLINK a b", ""},
		{"MGET k", ""},
		{"MSET k v", ""},
		{"SETEX k 1 v", "k"},
		{"GET", ""},
		{"GET k extra", ""},
		{"SET k", ""},
		{"DBSIZE", ""},
		{"INFO", ""},
		{"PING", ""},
		{"ECHO k", ""},
		{"SELECT 0", ""},
		{"AUTH pw", ""},
		{"HELLO 2", ""},
		{"CLIENT SETNAME k", ""},
		{"CONFIG SET maxclients 10", ""},
		{"RING KEY k", ""},
		{"QUIT", ""},
		{"NOPE k", ""},
	} {
		t.Run(tt.cmd, func(t *testing.T) {
			var args [][]byte
			for _, a := range strings.Fields(tt.cmd) {
				args = append(args, []byte(a))
			}
			cmd, key := tb.concurrentKey(args)
			if tt.key == "" {
				require.Nil(t, cmd)
				return
			}
			require.NotNil(t, cmd)
			require.Equal(t, tt.key, string(key))
		})
	}
	var names []string
	for _, c := range tb.sorted {
		if c.concurrent {
			names = append(names, c.name)
			require.Equal(t, 1, c.keys.first, "%s: its key is args[1]", c.name)
		}
		for _, sc := range c.subs {
			require.False(t, sc.concurrent, sc.name)
		}
	}
	require.Equal(t, []string{"append", "bitcount", "bitpos", "ddel", "del", "dget", "dput", "exists", "expire", "expireat", "expiretime", "get", "getbit", "getdel", "getex", "getrange", "getset", "persist", "pexpire", "pexpireat", "pexpiretime", "psetex", "pttl", "set", "setbit", "setex", "setnx", "setrange", "strlen", "substr", "ttl", "type", "unlink"},
		slices.Sorted(slices.Values(names)))
}

func TestKeySpec_Count(t *testing.T) {
	for _, tt := range []struct {
		name string
		k    keySpec
		argc int
		want int
	}{
		{"none", noKeys, 3, 0},
		{"one", oneKey, 2, 1},
		{"one, more args", oneKey, 5, 1},
		{"all of one", allKeys, 2, 1},
		{"all of three", allKeys, 4, 3},
		{"pairs of one", everyPair, 3, 1},
		{"pairs of two", everyPair, 5, 2},
		{"too few args", oneKey, 1, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.k.count(tt.argc))
		})
	}
}

// TestWorkers_RetireAndReuse dispatches tasks one after another to a pool
// whose workers retire almost at once, so that dispatches race with
// retirements: every task runs, and the pool ends with no worker.
func TestWorkers_RetireAndReuse(t *testing.T) {
	for _, idle := range []time.Duration{time.Nanosecond, time.Microsecond, time.Hour} {
		t.Run(idle.String(), func(t *testing.T) {
			e := newDefaultEnv(t)
			tc := e.client()
			p := &workers{s: e.s, idleAfter: idle}
			for i := range 300 {
				task := &task{args: [][]byte{[]byte("SET"), []byte("k"), []byte(strconv.Itoa(i))}, done: make(chan struct{}),
					sess: &session{id: tc.c.id, ctx: tc.c.ctx, w: newWriter(nil), authed: true}}
				p.dispatch(task)
				<-task.done
				require.Equal(t, okReply, string(task.sess.w.b))
				require.LessOrEqual(t, p.count(), 1, "one task at a time needs one worker")
			}
			if idle < time.Hour {
				require.Eventually(t, func() bool { return p.count() == 0 }, 10*time.Second, time.Millisecond, "idle workers retire")
			}
			p.close()
			require.Zero(t, p.count())
			require.Equal(t, bulk("299"), tc.do("GET", "k"))
		})
	}
}
