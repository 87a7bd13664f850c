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

// readAll reads every command from in through a guard and a reader, chunk
// bytes per read of the source, and returns their arguments and the error
// that ended the input (nil for EOF).
func readAll(in []byte, lim guardLimits, authed func() bool, chunk int) ([][]string, error) {
	rd := newReader(newGuard(&chunkReader{b: in, n: max(chunk, 1)}, lim, authed), nil)
	var out [][]string
	for range 10 * (len(in) + 2) {
		cmds, err := rd.ReadCommands()
		for _, c := range cmds {
			var args []string
			for _, a := range c.Args {
				args = append(args, string(a))
			}
			out = append(out, args)
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
	panic("reader made no progress")
}

// redconAll is the reference: redcon's reader over what the guard passes.
func redconAll(t *testing.T, in []byte, lim guardLimits, authed func() bool) ([][]string, error) {
	passed, gerr := runGuard(in, lim, authed, len(in)+1, len(in)+1)
	rd := redcon.NewReader(bytes.NewReader(passed))
	var out [][]string
	for {
		cmds, err := rd.ReadCommands()
		for _, c := range cmds {
			var args []string
			for _, a := range c.Args {
				args = append(args, string(a))
			}
			out = append(out, args)
		}
		if err != nil {
			require.ErrorIs(t, err, io.EOF, "redcon refuses what the guard passed")
			return out, gerr
		}
	}
}

func TestReader(t *testing.T) {
	big := strings.Repeat("b", 3*readBufSize+5)
	lim := guardLimits{maxBulk: 1 << 20, maxRequest: 4 << 20}
	for _, tt := range []struct {
		name string
		in   string
		want [][]string
	}{
		{"one", multibulk("SET", "k", "v"), [][]string{{"SET", "k", "v"}}},
		{"pipeline", multibulk("SET", "k", "v") + multibulk("GET", "k"), [][]string{{"SET", "k", "v"}, {"GET", "k"}}},
		{"empty argument", multibulk("SET", "k", ""), [][]string{{"SET", "k", ""}}},
		{"bigger than the buffer", multibulk("SET", "k", big) + multibulk("PING"), [][]string{{"SET", "k", big}, {"PING"}}},
		{"inline", "SET k \"a b\"\r\n\r\n  \r\nPING\n", [][]string{{"SET", "k", "a b"}, {"PING"}}},
		{"long inline", "ECHO " + strings.Repeat("i", 40<<10) + "\r\n", [][]string{{"ECHO", strings.Repeat("i", 40<<10)}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunk := range []int{1, 2, 5, 4096, 1 << 20} {
				got, err := readAll([]byte(tt.in), lim, yes, chunk)
				require.NoError(t, err, "chunk %d", chunk)
				require.Equal(t, tt.want, got, "chunk %d", chunk)
			}
		})
	}
}

// TestReader_ArgumentsDoNotShare: the backend may keep argument slices, so
// appending to one must not write into another, and no buffer is reused.
func TestReader_ArgumentsDoNotShare(t *testing.T) {
	in := []byte(multibulk("SET", "k", "v") + multibulk("SET", "x", "y"))
	rd := newReader(bytes.NewReader(in), nil)
	cmds, err := rd.ReadCommands()
	require.NoError(t, err)
	require.Len(t, cmds, 2)
	first := cmds[0].Args
	_ = append(first[1], 'Z')
	require.Equal(t, "v", string(first[2]))
	require.Equal(t, cap(first[1]), len(first[1]), "exact size")
}

// TestReader_AccountsExactBytes: a partial request counts what it holds,
// its big argument whole from its length line.
func TestReader_AccountsExactBytes(t *testing.T) {
	e := newDefaultEnv(t)
	tc := e.client()
	pr, pw := io.Pipe()
	rd := newReader(pr, tc.c.mem)
	type result struct {
		cmds []redcon.Command
		err  error
	}
	done := make(chan result, 1)
	go func() {
		cmds, err := rd.ReadCommands()
		done <- result{cmds, err}
	}()
	_, err := io.WriteString(pw, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000000\r\n"+strings.Repeat("v", 1000))
	require.NoError(t, err)
	waitFor(t, func() bool { return tc.c.mem.query.Load() == 3+1+1000000 }, "query bytes of the partial request")
	require.Equal(t, int64(1000004), e.s.mem.total.Load())
	require.Contains(t, clientLine(tc.c, e.clock.Now()), " qbuf=1000004 ")
	_, err = io.WriteString(pw, strings.Repeat("v", 1000000-1000)+"\r\n*1\r\n$4\r\nPI")
	require.NoError(t, err)
	r := <-done
	require.NoError(t, r.err)
	require.Len(t, r.cmds, 1)
	require.Equal(t, int64(1000004+4), tc.c.mem.query.Load(), "the command being run and the unparsed input")
	tc.c.mem.release()
	require.Zero(t, e.s.mem.total.Load())
}

// FuzzReader checks the reader against redcon's reader on arbitrary input
// passed through the guard, read in arbitrary chunks: the same commands,
// and an error exactly where the guard found one.
func FuzzReader(f *testing.F) {
	for _, seed := range []string{
		"", "PING\r\n", multibulk("SET", "k", "v"), "*2\r\n$3\r\nGET\r\n$1", "*1\r\n$0\r\n\r\n", "\r\n\r\n",
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nvv\r\n*", "SET k \"a b\"\r\n", "*1\r\n$4\r\nPINGxx\r\n", "*x\r\n",
		multibulk("SET", "k", strings.Repeat("v", 100)) + multibulk("GET", "k"),
	} {
		f.Add([]byte(seed), uint8(3), true)
		f.Add([]byte(seed), uint8(1), false)
	}
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8, authed bool) {
		lim := guardLimits{maxBulk: 200, maxRequest: 400}
		auth := func() bool { return authed }
		want, werr := redconAll(t, in, lim, auth)
		got, err := readAll(in, lim, auth, int(chunk))
		require.Equal(t, want, got)
		require.Equal(t, werr != nil, err != nil, "redcon: %v, reader: %v", werr, err)
	})
}

// BenchmarkReadBig measures reading a SET of a 1 MiB value arriving in
// 64 KiB reads.
func BenchmarkReadBig(b *testing.B) {
	in := []byte(multibulk("SET", "k", strings.Repeat("v", 1<<20)))
	limits := guardLimits{maxBulk: 64 << 20, maxRequest: 512 << 20}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		rd := newReader(newGuard(&chunkReader{b: in, n: 64 << 10}, limits, yes), nil)
		if cmds, err := rd.ReadCommands(); err != nil || len(cmds) != 1 {
			b.Fatal(err, strconv.Itoa(len(cmds)))
		}
	}
}
