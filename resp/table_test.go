package resp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/coordinator"
	"github.com/dynkv/dynkv/replica"
	"github.com/dynkv/dynkv/version"
)

// TestExec_ArityEveryCommand sends every command and subcommand of the table
// one argument too many (exact arity) or too few (minimum arity) and expects
// Redis's wording with the command's full lowercase name.
func TestExec_ArityEveryCommand(t *testing.T) {
	e := newDefaultEnv(t)
	tc := e.client()
	check := func(c *command, prefix []string) {
		var argc int
		switch {
		case c.arity > 0:
			argc = c.arity + 1
		case -c.arity-1 >= len(prefix):
			argc = -c.arity - 1
		default:
			return // a minimum arity the prefix already meets: no too-few case
		}
		if argc < len(prefix) {
			return
		}
		args := append([]string{}, prefix...)
		for len(args) < argc {
			args = append(args, "x")
		}
		t.Run(c.name+"/"+strings.Join(args, "_"), func(t *testing.T) {
			require.Equal(t, errReply("ERR wrong number of arguments for '"+c.name+"' command"), tc.do(args...))
		})
	}
	for _, c := range e.s.table.sorted {
		check(c, []string{strings.ToUpper(c.name)})
		for _, sc := range c.subs {
			check(sc, []string{c.name, strings.ToUpper(sc.name[len(c.name)+1:])})
		}
	}
}

func TestExec_ArityWording(t *testing.T) {
	e := newDefaultEnv(t)
	tc := e.client()
	for _, tt := range []struct {
		args []string
		name string
	}{
		{[]string{"GET"}, "get"},
		{[]string{"get", "a", "b"}, "get"},
		{[]string{"SET", "k"}, "set"},
		{[]string{"PING", "a", "b"}, "ping"},
		{[]string{"MSET", "a"}, "mset"},
		{[]string{"MSET", "a", "b", "c"}, "mset"},
		{[]string{"CLIENT"}, "client"},
		{[]string{"CLIENT", "SETNAME"}, "client|setname"},
		{[]string{"client", "id", "x"}, "client|id"},
		{[]string{"CONFIG", "SET", "maxclients"}, "config|set"},
		{[]string{"CONFIG", "SET", "maxclients", "1", "timeout"}, "config|set"},
		{[]string{"CONFIG", "RESETSTAT", "x"}, "config|resetstat"},
		{[]string{"COMMAND", "COUNT", "x"}, "command|count"},
		{[]string{"DPUT", "k", "ctx"}, "dput"},
		{[]string{"DDEL", "k"}, "ddel"},
		{[]string{"DGET"}, "dget"},
		{[]string{"SETEX", "k", "1"}, "setex"},
	} {
		t.Run(strings.Join(tt.args, "_"), func(t *testing.T) {
			require.Equal(t, errReply("ERR wrong number of arguments for '"+tt.name+"' command"), tc.do(tt.args...))
		})
	}
}

func TestExec_UnknownCommand(t *testing.T) {
	e := newDefaultEnv(t)
	tc := e.client()
	long := strings.Repeat("x", 200)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"with args", []string{"FOO", "a", "b"}, "ERR unknown command 'FOO', with args beginning with: 'a' 'b' "},
		{"no args", []string{"FOO"}, "ERR unknown command 'FOO', with args beginning with: "},
		{"empty name", []string{""}, "ERR unknown command '', with args beginning with: "},
		{"long arg is cut at 128", []string{"FOO", long, "y"},
			"ERR unknown command 'FOO', with args beginning with: '" + long[:128] + "' "},
		{"args stop after 128 bytes", []string{"FOO", long[:100], long[:100], "z"},
			"ERR unknown command 'FOO', with args beginning with: '" + long[:100] + "' '" + long[:25] + "' "},
		{"long name is cut at 128", []string{long}, "ERR unknown command '" + long[:128] + "', with args beginning with: "},
		{"newlines become spaces", []string{"FOO", "a\r\nb"}, "ERR unknown command 'FOO', with args beginning with: 'a  b' "},
		{"unknown subcommand", []string{"CLIENT", "FOO"}, "ERR unknown subcommand 'FOO'. Try CLIENT HELP."},
		{"unknown config subcommand", []string{"config", "rewrite"}, "ERR unknown subcommand 'rewrite'. Try CONFIG HELP."},
		{"unknown command subcommand", []string{"COMMAND", "GETKEYS", "x"}, "ERR unknown subcommand 'GETKEYS'. Try COMMAND HELP."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, errReply(tt.want), tc.do(tt.args...))
		})
	}
}

func TestExec_CaseInsensitiveLookup(t *testing.T) {
	e := newDefaultEnv(t)
	tc := e.client()
	for _, name := range []string{"ping", "PING", "Ping", "pInG"} {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, "+PONG\r\n", tc.do(name))
		})
	}
	require.Equal(t, intReply(int(tc.c.id)), tc.do("cLiEnT", "iD"))
}

// TestExec_AuthFlow walks a client through requirepass as Redis 7 does:
// arity and unknown-command errors come before NOAUTH, and only AUTH,
// HELLO and QUIT run before authentication.
func TestExec_AuthFlow(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RequirePass = "sekret"
	e := newTestEnv(t, cfg)
	tc := e.client()
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"PING"}, errReply("NOAUTH Authentication required.")},
		{[]string{"SET", "k", "v"}, errReply("NOAUTH Authentication required.")},
		{[]string{"CLIENT", "SETNAME", "x"}, errReply("NOAUTH Authentication required.")},
		{[]string{"GET"}, errReply("ERR wrong number of arguments for 'get' command")},
		{[]string{"FOO"}, errReply("ERR unknown command 'FOO', with args beginning with: ")},
		{[]string{"HELLO", "2"}, errReply(string(errHelloNoAuth))},
		{[]string{"HELLO", "3"}, errReply(string(errHelloNoAuth))},
		{[]string{"AUTH", "wrong"}, errReply("WRONGPASS invalid username-password pair or user is disabled.")},
		{[]string{"AUTH", "bob", "sekret"}, errReply("WRONGPASS invalid username-password pair or user is disabled.")},
		{[]string{"AUTH", "a", "b", "c"}, errReply("ERR syntax error")},
		{[]string{"PING"}, errReply("NOAUTH Authentication required.")},
		{[]string{"AUTH", "sekret"}, okReply},
		{[]string{"PING"}, "+PONG\r\n"},
		{[]string{"AUTH", "wrong"}, errReply("WRONGPASS invalid username-password pair or user is disabled.")},
		{[]string{"PING"}, "+PONG\r\n"}, // a failed AUTH does not log the client out
	}
	for i, st := range steps {
		require.Equal(t, st.want, tc.do(st.args...), "step %d: %v", i, st.args)
	}

	t.Run("auth with username", func(t *testing.T) {
		tc := e.client()
		require.Equal(t, okReply, tc.do("AUTH", "default", "sekret"))
		require.Equal(t, "+PONG\r\n", tc.do("PING"))
	})
	t.Run("hello auth setname", func(t *testing.T) {
		tc := e.client()
		require.Equal(t, errReply(string(errWrongPass)), tc.do("HELLO", "2", "AUTH", "default", "nope"))
		got := tc.do("HELLO", "2", "AUTH", "default", "sekret", "SETNAME", "cart-service")
		require.True(t, strings.HasPrefix(got, "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:2\r\n"), got)
		require.Equal(t, bulk("cart-service"), tc.do("CLIENT", "GETNAME"))
	})
	t.Run("quit before auth", func(t *testing.T) {
		tc := e.client()
		require.Equal(t, okReply, tc.do("QUIT"))
		require.True(t, tc.c.quit)
	})
}

func TestExec_AuthWithoutPassword(t *testing.T) {
	e := newDefaultEnv(t)
	tc := e.client()
	require.Equal(t, errReply(string(errNoPassConfigured)), tc.do("AUTH", "x"))
	require.Equal(t, okReply, tc.do("AUTH", "default", "anything"), "the default user has no password")
	require.Equal(t, errReply(string(errWrongPass)), tc.do("AUTH", "bob", "x"))
}

func TestExec_Hello(t *testing.T) {
	e := newDefaultEnv(t)
	tc := e.client()
	hello := arr(bulk("server"), bulk("redis"), bulk("version"), bulk("7.0.15"), bulk("proto"), intReply(2),
		bulk("id"), intReply(int(tc.c.id)), bulk("mode"), bulk("standalone"), bulk("role"), bulk("master"),
		bulk("modules"), "*0\r\n")
	hello3 := "%7\r\n" + strings.TrimPrefix(strings.Replace(hello, intReply(2), intReply(3), 1), "*14\r\n")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"bare", []string{"HELLO"}, hello},
		{"two", []string{"HELLO", "2"}, hello},
		{"three", []string{"HELLO", "3"}, hello3},
		{"bare keeps three", []string{"HELLO"}, hello3},
		{"three with auth", []string{"HELLO", "3", "AUTH", "default", "x"}, hello3},
		{"four", []string{"HELLO", "4"}, errReply("NOPROTO unsupported protocol version")},
		{"not a number", []string{"HELLO", "x"}, errReply("ERR Protocol version is not an integer or out of range")},
		{"bad option", []string{"HELLO", "2", "FOO"}, errReply("ERR Syntax error in HELLO option 'FOO'")},
		{"auth missing password", []string{"HELLO", "2", "AUTH", "default"}, errReply("ERR Syntax error in HELLO option 'AUTH'")},
		{"bad name", []string{"HELLO", "2", "SETNAME", "a b"}, errReply(string(errClientName))},
		{"setname", []string{"HELLO", "2", "SETNAME", "n1"}, hello},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tc.do(tt.args...))
		})
	}
	require.Equal(t, bulk("n1"), tc.do("CLIENT", "GETNAME"))
}

// panicky is a Backend whose reads panic for one key.
type panicky struct {
	Backend
	key string
}

func (p panicky) Get(ctx context.Context, key []byte, opt coordinator.ReadOptions) (version.Siblings, error) {
	if string(key) == p.key {
		panic("boom")
	}
	return p.Backend.Get(ctx, key, opt)
}

// failing is a Backend whose every call fails with err.
type failing struct {
	Backend
	err error
}

func (f failing) Get(context.Context, []byte, coordinator.ReadOptions) (version.Siblings, error) {
	return nil, f.err
}

func (f failing) Put(context.Context, []byte, coordinator.Write) (version.Siblings, error) {
	return nil, f.err
}

func TestExec_PanicBecomesInternalError(t *testing.T) {
	e := newDefaultEnv(t)
	e.s.backend = panicky{Backend: e.co, key: "bad"}
	tc := e.client()
	require.Equal(t, okReply, tc.do("SET", "good", "v"))
	require.Equal(t, errReply("ERR internal error"), tc.do("GET", "bad"))
	require.Equal(t, errReply("ERR internal error"), tc.do("MGET", "good", "bad", "good"),
		"the partial reply (array header, first value) is discarded")
	require.Equal(t, bulk("v"), tc.do("GET", "good"), "the client keeps working")
}

func TestExec_BackendErrorsDiscardPartialReply(t *testing.T) {
	e := newDefaultEnv(t)
	e.s.backend = failing{Backend: e.co, err: &coordinator.QuorumError{Op: "read", Need: 2, Got: 1}}
	tc := e.client()
	require.Equal(t, errReply("NOREPLICAS not enough replicas answered the read: needed 2, got 1"), tc.do("MGET", "a", "b"))
	require.Equal(t, errReply("NOREPLICAS not enough replicas answered the read: needed 2, got 1"), tc.do("DGET", "a"))
}

func TestReplyError(t *testing.T) {
	e := newDefaultEnv(t)
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"reply error", errSyntax, "ERR syntax error"},
		{"wrapped reply error", errors.Join(errors.New("x"), errNoAuth), "NOAUTH Authentication required."},
		{"arity", arityError("get"), "ERR wrong number of arguments for 'get' command"},
		{"protocol", &protocolError{"invalid bulk length"}, "ERR Protocol error: invalid bulk length"},
		{"invalid context", version.ErrInvalidContext, "ERR invalid context"},
		{"bad quorum", coordinator.ErrBadQuorum, "ERR quorum override out of range: R and W must be between 1 and N"},
		{"bad quorum detail", &quorumError{opt: "W", n: 5, max: 3}, "ERR W must be between 1 and N (3), got 5"},
		{"quorum", &coordinator.QuorumError{Op: "write", Need: 2, Got: 1}, "NOREPLICAS not enough replicas answered the write: needed 2, got 1"},
		{"quorum sentinel", coordinator.ErrQuorum, "NOREPLICAS not enough replicas answered"},
		{"deadline", context.DeadlineExceeded, "TRYAGAIN the operation timed out, retry"},
		{"cancelled", context.Canceled, "ERR server is shutting down"},
		{"store closed", replica.ErrClosed, "ERR server is shutting down"},
		{"disk full", fmt.Errorf("replica: write refused: %w", replica.ErrDiskFull), "ERR disk full: write refused"},
		{"disk i/o", fmt.Errorf("replica: write refused: %w", replica.ErrDiskIO), "ERR disk i/o error: write refused"},
		{"corrupt", version.ErrCorruptRecord, "ERR corrupt record: the key's stored versions failed to verify"},
		{"unknown", errors.New("disk on fire\r\nsecret detail"), "ERR internal error"},
		{"newlines", replyErr("ERR a\r\nb\nc"), "ERR a  b c"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, e.s.replyError(tt.err))
		})
	}
}
