package resp

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/redcon"
)

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[k:]
	return k, nil
}

// runGuard feeds in through a guard, chunk bytes per read of the source and
// at most bufSize bytes per Read of the guard, and returns what passed and
// the error that stopped it (nil for the end of input).
func runGuard(in []byte, lim guardLimits, authed func() bool, chunk, bufSize int) ([]byte, error) {
	g := newGuard(&chunkReader{b: in, n: max(chunk, 1)}, lim, authed)
	var out []byte
	buf := make([]byte, max(bufSize, 1))
	for range 10 * (len(in) + 2) { // every Read but the last returns bytes
		n, err := g.Read(buf)
		out = append(out, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
	panic("guard made no progress")
}

func yes() bool { return true }
func no() bool  { return false }

// multibulk encodes args as a RESP command.
func multibulk(args ...string) string {
	var b strings.Builder
	b.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b.WriteString("$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n")
	}
	return b.String()
}

func TestGuard(t *testing.T) {
	lim := guardLimits{maxBulk: 100, maxRequest: 150}
	x100 := strings.Repeat("x", 100)
	for _, tt := range []struct {
		name   string
		in     string
		authed func() bool
		passed string // what passes; "" with no err means all of in
		err    string
	}{
		{name: "multibulk", in: multibulk("SET", "k", "v") + multibulk("GET", "k")},
		{name: "empty bulk", in: multibulk("ECHO", "")},
		{name: "binary bulk", in: multibulk("SET", "k", "\r\n*3\r\n$\x00")},
		{name: "inline", in: "PING\r\nGET k\nSET k \"a b\"\r\n"},
		{name: "inline quoting", in: "SET 'k' \"a\\\"b\" ''  \"\\\\\"\r\nSET k v\r\r\n"},
		{name: "CR before CR LF is data", in: "SET k \"v\"\r\r\n", passed: "SET k \"v\"\r", err: "unbalanced quotes in request"},
		{name: "unbalanced quote", in: "PING\r\nSET k \"v\r\n", passed: "PING\r\nSET k \"v\r", err: "unbalanced quotes in request"},
		{name: "quote inside argument", in: "SET k a\"b\"\r\n", passed: "SET k a", err: "unbalanced quotes in request"},
		{name: "text after closing quote", in: "SET k \"a\"b\n", passed: "SET k \"a\"", err: "unbalanced quotes in request"},
		{name: "escaped closing quote", in: "SET k \"a\\\"\n", passed: "SET k \"a\\\"", err: "unbalanced quotes in request"},
		{name: "blank lines", in: "\r\n\n\r\nPING\r\n"},
		{name: "inline at the limit", in: strings.Repeat("a", maxInline) + "\n"},
		{name: "largest bulk", in: multibulk(x100)},
		{name: "largest request", in: multibulk(x100, x100[:50])},
		{name: "incomplete is not an error", in: "*2\r\n$3\r\nGET\r\n$1"},
		{name: "count not a number", in: "*abc\r\n", passed: "*", err: "invalid multibulk length"},
		{name: "count zero", in: "*0\r\n", passed: "*0\r", err: "invalid multibulk length"},
		{name: "count negative", in: "*-1\r\n", passed: "*-1\r", err: "invalid multibulk length"},
		{name: "count leading zero", in: "*01\r\n", passed: "*01\r", err: "invalid multibulk length"},
		{name: "count plus", in: "*+1\r\n", passed: "*", err: "invalid multibulk length"},
		{name: "count empty", in: "*\r\n", passed: "*\r", err: "invalid multibulk length"},
		{name: "count without CR", in: "*1\n$4\r\nPING\r\n", passed: "*1", err: "invalid multibulk length"},
		{name: "count CR without LF", in: "*1\r$4\r\n", passed: "*1\r", err: "invalid multibulk length"},
		{name: "count too long", in: "*" + strings.Repeat("1", 21) + "\r\n", passed: "*" + strings.Repeat("1", 20), err: "invalid multibulk length"},
		{name: "count over the maximum", in: "*1048577\r\n", passed: "*1048577\r", err: "invalid multibulk length"},
		{name: "not a bulk", in: "*1\r\n+3\r\n", passed: "*1\r\n", err: "expected '$', got '+'"},
		{name: "bulk not a number", in: "*1\r\n$x\r\n", passed: "*1\r\n$", err: "invalid bulk length"},
		{name: "bulk negative", in: "*1\r\n$-1\r\n", passed: "*1\r\n$-1\r", err: "invalid bulk length"},
		{name: "bulk empty length", in: "*1\r\n$\r\n", passed: "*1\r\n$\r", err: "invalid bulk length"},
		{name: "bulk leading zero", in: "*1\r\n$04\r\nPING\r\n", passed: "*1\r\n$04\r", err: "invalid bulk length"},
		{name: "bulk too big", in: "*1\r\n$101\r\n", passed: "*1\r\n$101\r",
			err: "invalid bulk length 101: exceeds max-value-size of 100 bytes"},
		{name: "bulk huge", in: "*1\r\n$99999999999999999999\r\n", passed: "*1\r\n$99999999999999999999\r", err: "invalid bulk length"},
		{name: "request too big", in: "*2\r\n$100\r\n" + x100 + "\r\n$51\r\n", passed: "*2\r\n$100\r\n" + x100 + "\r\n$51\r",
			err: "request exceeds max-request-size of 150 bytes"},
		{name: "request limit is per command", in: multibulk(x100) + multibulk(x100)},
		{name: "payload longer than announced", in: "*1\r\n$4\r\nPINGxx\r\n", passed: "*1\r\n$4\r\nPING", err: "invalid bulk length"},
		{name: "payload without LF", in: "*1\r\n$4\r\nPING\rx", passed: "*1\r\n$4\r\nPING\r", err: "invalid bulk length"},
		{name: "commands before the error pass", in: "PING\r\n" + multibulk("GET", "k") + "*x", passed: "PING\r\n" + multibulk("GET", "k") + "*",
			err: "invalid multibulk length"},
		{name: "inline too long", in: strings.Repeat("a", maxInline+1), passed: strings.Repeat("a", maxInline), err: "too big inline request"},
		{name: "inline too long with newline", in: "PING\n" + strings.Repeat("a", maxInline+1) + "\n", passed: "PING\n" + strings.Repeat("a", maxInline),
			err: "too big inline request"},
		{name: "unauthenticated small", in: multibulk("AUTH", "pw") + "PING\r\n", authed: no},
		{name: "unauthenticated multibulk", in: "*11\r\n", authed: no, passed: "*11\r", err: "unauthenticated multibulk length"},
		{name: "unauthenticated ten args", in: multibulk("1", "2", "3", "4", "5", "6", "7", "8", "9", "10"), authed: no},
		{name: "unauthenticated bulk", in: "*1\r\n$16385\r\n", authed: no, passed: "*1\r\n$16385\r", err: "unauthenticated bulk length"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			authed, l := tt.authed, lim
			if authed == nil {
				authed = yes
			}
			if strings.HasPrefix(tt.name, "unauthenticated") {
				l = guardLimits{maxBulk: 1 << 20, maxRequest: 1 << 20}
			}
			want := tt.passed
			if want == "" && tt.err == "" {
				want = tt.in
			}
			for _, chunk := range []int{1, 3, 7, 4096} {
				for _, buf := range []int{1, 5, 4096} {
					out, err := runGuard([]byte(tt.in), l, authed, chunk, buf)
					require.Equal(t, want, string(out), "chunk %d buf %d", chunk, buf)
					if tt.err == "" {
						require.NoError(t, err)
						continue
					}
					var pe *protocolError
					require.ErrorAs(t, err, &pe)
					require.Equal(t, tt.err, pe.msg)
				}
			}
		})
	}
}

func TestGuard_UnauthenticatedReadsOneCommandAtATime(t *testing.T) {
	authed := false
	in := multibulk("AUTH", "pw") + "PING\r\n" + multibulk("SET", "k", strings.Repeat("v", 20000))
	g := newGuard(bytes.NewReader([]byte(in)), guardLimits{maxBulk: 1 << 20, maxRequest: 1 << 20}, func() bool { return authed })
	buf := make([]byte, 1<<16)
	n, err := g.Read(buf)
	require.NoError(t, err)
	require.Equal(t, multibulk("AUTH", "pw"), string(buf[:n]), "stops at the end of the first command")
	n, err = g.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "PING\r\n", string(buf[:n]))
	authed = true // AUTH ran
	n, err = g.Read(buf)
	require.NoError(t, err)
	require.Equal(t, multibulk("SET", "k", strings.Repeat("v", 20000)), string(buf[:n]), "the full limits apply after AUTH")
	_, err = g.Read(buf)
	require.ErrorIs(t, err, io.EOF)
}

func TestGuard_ErrorIsSticky(t *testing.T) {
	g := newGuard(strings.NewReader("*x\r\nPING\r\n"), guardLimits{maxBulk: 10, maxRequest: 10}, yes)
	buf := make([]byte, 64)
	n, err := g.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "*", string(buf[:n]), "the bytes before the violation pass first")
	n, err = g.Read(buf)
	require.Equal(t, 0, n)
	require.Error(t, err)
	for range 3 {
		n, err2 := g.Read(buf)
		require.Equal(t, 0, n)
		require.Equal(t, err, err2)
	}
}

// checkGuardOutput checks the properties every guard output has: it is a
// prefix of the input, and redcon's reader parses it without error.
func checkGuardOutput(t *testing.T, in, out []byte) {
	require.True(t, bytes.HasPrefix(in, out), "the guard passes bytes unchanged")
	rd := redcon.NewReader(bytes.NewReader(out))
	for {
		_, err := rd.ReadCommands()
		if err != nil {
			require.ErrorIs(t, err, io.EOF, "redcon rejects what the guard passed: %q", out)
			return
		}
	}
}

// FuzzGuard feeds arbitrary bytes through the guard, in arbitrary chunks,
// authenticated or not. It must not panic, must pass a prefix of the input
// unchanged, and what it passes must parse.
func FuzzGuard(f *testing.F) {
	for _, seed := range []string{
		"", "PING\r\n", "*1\r\n$4\r\nPING\r\n", multibulk("SET", "k", "v"), "*abc\r\n", "*0\r\n", "*-1\r\n",
		"*1\r\n$-1\r\n", "*1\r\n$4\r\nPINGxx\r\n", "\"unbalanced\r\n", "*2\r\n$3\r\nGET\r\n$1", "*1\r\n$99\r\n",
		"*11\r\n", "*1\r\n$16385\r\n", "\r\n\r\n", "*1\n", "$4\r\nPING\r\n", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nvv\r\n*",
		"*1\r\n$0\r\n\r\n", "*20\r\n", strings.Repeat("a", 300),
	} {
		f.Add([]byte(seed), uint8(3), uint8(7), true)
		f.Add([]byte(seed), uint8(1), uint8(255), false)
	}
	f.Fuzz(func(t *testing.T, in []byte, chunk, bufSize uint8, authed bool) {
		lim := guardLimits{maxBulk: 64, maxRequest: 128}
		auth := func() bool { return authed }
		out, err := runGuard(in, lim, auth, int(chunk), int(bufSize))
		checkGuardOutput(t, in, out)
		if err != nil {
			var pe *protocolError
			require.ErrorAs(t, err, &pe)
		}
	})
}

// FuzzGuardWellFormed encodes arbitrary arguments as RESP commands and
// checks that the guard passes them through whole and unchanged.
func FuzzGuardWellFormed(f *testing.F) {
	f.Add([]byte("SET k v"), uint8(1))
	f.Add([]byte("GET\x00k\r\n"), uint8(5))
	f.Add([]byte(""), uint8(0))
	f.Add([]byte("MSET a 1 b 2 c 3"), uint8(255))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		args := strings.Split(string(data), " ")
		in := []byte(multibulk(args...) + multibulk("PING") + multibulk(args...))
		lim := guardLimits{maxBulk: int64(len(data)) + 8, maxRequest: int64(len(data)) + 8}
		out, err := runGuard(in, lim, yes, int(chunk), int(chunk)+1)
		require.NoError(t, err)
		require.True(t, bytes.Equal(in, out), "the guard changed or cut well-formed input")
		rd, n := redcon.NewReader(bytes.NewReader(out)), 0
		for {
			cmds, err := rd.ReadCommands()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			n += len(cmds)
		}
		require.Equal(t, 3, n)
	})
}

// FuzzGuardInline checks that the guard judges the quoting of an inline
// command exactly as redcon's reader does.
func FuzzGuardInline(f *testing.F) {
	for _, seed := range []string{
		"SET k v", "SET k \"a b\"", "SET k \"a", "SET k a\"b", "SET 'k' \"\\\"\" x", "\"a\"b", "'a' 'b'",
		"\"a\\\"", "SET k \"v\"\r", "\r\r", "\"\"", "a \"\\n\\r\\t\"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsRune(line, '\n') || len(line) > maxInline || strings.HasPrefix(line, "*") {
			return
		}
		in := []byte("PING\r\n" + line + "\n")
		_, err := redcon.NewReader(bytes.NewReader(in)).ReadCommands()
		rejected := err != nil && !errors.Is(err, io.EOF)
		_, gerr := runGuard(in, guardLimits{maxBulk: 1, maxRequest: 1}, yes, 7, 64)
		require.Equal(t, rejected, gerr != nil, "redcon: %v, guard: %v", err, gerr)
	})
}

// TestMaxKeySize: a command naming a key longer than max-key-size is
// refused before it runs and changes nothing, wherever the key stands;
// a key at the limit works.
func TestMaxKeySize(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxKeySize = 16
	e := newTestEnv(t, cfg)
	tc := e.client()
	atLimit, over := strings.Repeat("k", 16), strings.Repeat("k", 17)
	want := errReply("ERR key too large: 17 bytes, keys may be at most 16 bytes (max-key-size)")
	require.Equal(t, okReply, tc.do("SET", atLimit, "v"))
	require.Equal(t, "$1\r\nv\r\n", tc.do("GET", atLimit))
	for _, args := range [][]string{
		{"SET", over, "v"},
		{"GET", over},
		{"MSET", "a", "1", over, "2"},
		{"MGET", "a", over},
		{"DEL", "a", over},
		{"APPEND", over, "x"},
		{"DPUT", over, "", "v"},
		{"DGET", over},
	} {
		require.Equal(t, want, tc.do(args...), "%v", args)
	}
	require.Equal(t, "*2\r\n$-1\r\n$-1\r\n", tc.do("MGET", "a", "b"), "the refused MSET wrote nothing")
	require.Equal(t, ":1\r\n", tc.do("DBSIZE"))
}
