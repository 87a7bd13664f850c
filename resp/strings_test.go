package resp

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSet_Options(t *testing.T) {
	syntax := errReply("ERR syntax error")
	notInt := errReply("ERR value is not an integer or out of range")
	for _, tt := range []struct {
		name  string
		setup []string // run first, when not nil
		args  []string
		want  string
		after string // GET k afterwards
	}{
		{name: "plain", args: []string{"SET", "k", "v"}, want: okReply, after: bulk("v")},
		{name: "nx absent", args: []string{"SET", "k", "v", "NX"}, want: okReply, after: bulk("v")},
		{name: "nx present", setup: []string{"SET", "k", "old"}, args: []string{"SET", "k", "v", "nx"}, want: nilReply, after: bulk("old")},
		{name: "xx absent", args: []string{"SET", "k", "v", "XX"}, want: nilReply, after: nilReply},
		{name: "xx present", setup: []string{"SET", "k", "old"}, args: []string{"SET", "k", "v", "XX"}, want: okReply, after: bulk("v")},
		{name: "get absent", args: []string{"SET", "k", "v", "GET"}, want: nilReply, after: bulk("v")},
		{name: "get present", setup: []string{"SET", "k", "old"}, args: []string{"SET", "k", "v", "GET"}, want: bulk("old"), after: bulk("v")},
		{name: "nx get present", setup: []string{"SET", "k", "old"}, args: []string{"SET", "k", "v", "NX", "GET"}, want: bulk("old"), after: bulk("old")},
		{name: "nx get absent", args: []string{"SET", "k", "v", "GET", "NX"}, want: nilReply, after: bulk("v")},
		{name: "xx get absent", args: []string{"SET", "k", "v", "XX", "GET"}, want: nilReply, after: nilReply},
		{name: "nx xx", args: []string{"SET", "k", "v", "NX", "XX"}, want: syntax, after: nilReply},
		{name: "xx nx", args: []string{"SET", "k", "v", "XX", "NX"}, want: syntax, after: nilReply},
		{name: "unknown option", args: []string{"SET", "k", "v", "FOO"}, want: syntax, after: nilReply},
		{name: "ex", args: []string{"SET", "k", "v", "EX", "10"}, want: okReply, after: bulk("v")},
		{name: "px", args: []string{"SET", "k", "v", "px", "100"}, want: okReply, after: bulk("v")},
		{name: "exat in the past deletes", setup: []string{"SET", "k", "old"}, args: []string{"SET", "k", "v", "EXAT", "1"}, want: okReply, after: nilReply},
		{name: "pxat in the past get", setup: []string{"SET", "k", "old"}, args: []string{"SET", "k", "v", "PXAT", "1", "GET"}, want: bulk("old"), after: nilReply},
		{name: "keepttl", args: []string{"SET", "k", "v", "KEEPTTL"}, want: okReply, after: bulk("v")},
		{name: "ex with nx", args: []string{"SET", "k", "v", "NX", "EX", "10"}, want: okReply, after: bulk("v")},
		{name: "ex missing", args: []string{"SET", "k", "v", "EX"}, want: syntax, after: nilReply},
		{name: "ex not integer", args: []string{"SET", "k", "v", "EX", "abc"}, want: notInt, after: nilReply},
		{name: "ex plus sign", args: []string{"SET", "k", "v", "EX", "+1"}, want: notInt, after: nilReply},
		{name: "ex zero", args: []string{"SET", "k", "v", "EX", "0"}, want: errReply("ERR invalid expire time in 'set' command"), after: nilReply},
		{name: "px negative", args: []string{"SET", "k", "v", "PX", "-1"}, want: errReply("ERR invalid expire time in 'set' command"), after: nilReply},
		{name: "px overflow after now", args: []string{"SET", "k", "v", "PX", "9223372036854775807"}, want: errReply("ERR invalid expire time in 'set' command"), after: nilReply},
		{name: "ex overflow", args: []string{"SET", "k", "v", "EX", "9223372036854775807"}, want: errReply("ERR invalid expire time in 'set' command"), after: nilReply},
		{name: "ex and px", args: []string{"SET", "k", "v", "EX", "1", "PX", "1"}, want: syntax, after: nilReply},
		{name: "ex and exat", args: []string{"SET", "k", "v", "EX", "1", "EXAT", "1"}, want: syntax, after: nilReply},
		{name: "ex twice", args: []string{"SET", "k", "v", "EX", "1", "EX", "2"}, want: okReply, after: bulk("v")},
		{name: "keepttl and ex", args: []string{"SET", "k", "v", "KEEPTTL", "EX", "1"}, want: syntax, after: nilReply},
		{name: "ex and keepttl", args: []string{"SET", "k", "v", "EX", "1", "KEEPTTL"}, want: syntax, after: nilReply},
		{name: "setex", args: []string{"SETEX", "k", "10", "v"}, want: okReply, after: bulk("v")},
		{name: "setex zero", args: []string{"SETEX", "k", "0", "v"}, want: errReply("ERR invalid expire time in 'setex' command"), after: nilReply},
		{name: "setex not integer", args: []string{"SETEX", "k", "x", "v"}, want: notInt, after: nilReply},
		{name: "psetex", args: []string{"PSETEX", "k", "100", "v"}, want: okReply, after: bulk("v")},
		{name: "psetex negative", args: []string{"PSETEX", "k", "-5", "v"}, want: errReply("ERR invalid expire time in 'psetex' command"), after: nilReply},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tc := newDefaultEnv(t).client()
			if tt.setup != nil {
				require.Equal(t, okReply, tc.do(tt.setup...))
			}
			require.Equal(t, tt.want, tc.do(tt.args...))
			require.Equal(t, tt.after, tc.do("GET", "k"))
		})
	}
}

func TestStringCommands(t *testing.T) {
	e := newDefaultEnv(t)
	tc := e.client()
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"GET", "k"}, nilReply},
		{[]string{"SETNX", "k", "a"}, intReply(1)},
		{[]string{"SETNX", "k", "b"}, intReply(0)},
		{[]string{"GET", "k"}, bulk("a")},
		{[]string{"GETSET", "k", "b"}, bulk("a")},
		{[]string{"GETSET", "new", "x"}, nilReply},
		{[]string{"APPEND", "k", "cd"}, intReply(3)},
		{[]string{"APPEND", "fresh", "xyz"}, intReply(3)},
		{[]string{"GET", "k"}, bulk("bcd")},
		{[]string{"STRLEN", "k"}, intReply(3)},
		{[]string{"STRLEN", "nope"}, intReply(0)},
		{[]string{"MSET", "a", "1", "b", "2"}, okReply},
		{[]string{"MGET", "a", "nope", "b", "a"}, arr(bulk("1"), nilReply, bulk("2"), bulk("1"))},
		{[]string{"EXISTS", "a", "a", "nope", "b"}, intReply(3)},
		{[]string{"DEL", "a", "nope", "a"}, intReply(1)},
		{[]string{"UNLINK", "b"}, intReply(1)},
		{[]string{"EXISTS", "a", "b"}, intReply(0)},
		{[]string{"GET", "a"}, nilReply},
		{[]string{"SET", "", "empty key"}, okReply},
		{[]string{"GET", ""}, bulk("empty key")},
		{[]string{"SET", "bin", "a\x00\r\nb"}, okReply},
		{[]string{"GET", "bin"}, bulk("a\x00\r\nb")},
		{[]string{"ECHO", "hi"}, bulk("hi")},
		{[]string{"PING", "hi"}, bulk("hi")},
		{[]string{"SELECT", "0"}, okReply},
		{[]string{"SELECT", "1"}, errReply("ERR DB index is out of range")},
		{[]string{"SELECT", "x"}, errReply("ERR value is not an integer or out of range")},
		{[]string{"SELECT", "99999999999"}, errReply("ERR value is out of range, value must between -2147483648 and 2147483647")},
	}
	for i, st := range steps {
		require.Equal(t, st.want, tc.do(st.args...), "step %d: %v", i, st.args)
	}
}

func TestDel_WritesOnlyWhenSomethingIsLive(t *testing.T) {
	e := newDefaultEnv(t)
	tc := e.client()
	writes := e.store.Stats().Writes
	require.Equal(t, intReply(0), tc.do("DEL", "absent"))
	require.Equal(t, writes, e.store.Stats().Writes, "DEL of an absent key writes nothing")

	require.Equal(t, okReply, tc.do("SET", "k", "v"))
	require.Equal(t, intReply(1), tc.do("DEL", "k"))
	require.Equal(t, writes+2, e.store.Stats().Writes)
	require.Equal(t, intReply(0), tc.do("DEL", "k"), "a tombstone is not live")
	require.Equal(t, writes+2, e.store.Stats().Writes)
	require.Equal(t, int64(0), e.store.Stats().Keys)
}

// TestDel_ClearsSiblingsBehindATombstone: when a concurrent delete wins the
// last-writer pick, plain reads see no value, but a live sibling remains;
// DEL removes it without counting the key.
func TestDel_ClearsSiblingsBehindATombstone(t *testing.T) {
	e := newDefaultEnv(t)
	tc := e.client()
	require.Equal(t, okReply, tc.do("DPUT", "k", "", "v"))
	e.clock.Advance(time.Second)
	require.Equal(t, okReply, tc.do("DDEL", "k", ""), "concurrent with the DPUT: a sibling")
	_, vals := tc.dget("k")
	require.Equal(t, []string{"v"}, vals)
	require.Equal(t, nilReply, tc.do("GET", "k"), "the tombstone wins")
	require.Equal(t, intReply(0), tc.do("DEL", "k"))
	_, vals = tc.dget("k")
	require.Empty(t, vals)
	require.Equal(t, intReply(0), tc.do("DEL", "k"))
}

func TestAppend_RespectsMaxValueSize(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxValueSize = 8
	tc := newTestEnv(t, cfg).client()
	require.Equal(t, intReply(5), tc.do("APPEND", "k", "12345"))
	require.Equal(t, errReply("ERR string exceeds maximum allowed size (proto-max-bulk-len)"), tc.do("APPEND", "k", "6789"))
	require.Equal(t, intReply(8), tc.do("APPEND", "k", "678"))
	require.Equal(t, bulk("12345678"), tc.do("GET", "k"))
}

func TestParseInt(t *testing.T) {
	for _, tt := range []struct {
		in string
		n  int64
		ok bool
	}{
		{"0", 0, true}, {"1", 1, true}, {"-1", -1, true}, {"123", 123, true},
		{"9223372036854775807", 1<<63 - 1, true}, {"-9223372036854775808", -1 << 63, true},
		{"9223372036854775808", 0, false}, {"-9223372036854775809", 0, false},
		{"99999999999999999999", 0, false}, {"", 0, false}, {"-", 0, false}, {"+1", 0, false},
		{"01", 0, false}, {"-0", 0, false}, {" 1", 0, false}, {"1 ", 0, false}, {"1a", 0, false},
		{strings.Repeat("1", 30), 0, false},
	} {
		t.Run(tt.in, func(t *testing.T) {
			n, ok := parseInt([]byte(tt.in))
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.n, n)
		})
	}
}
