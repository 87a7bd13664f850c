package bench

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func reader(s string) *bufio.Reader { return bufio.NewReaderSize(strings.NewReader(s), 4096) }

func TestAppendCommand(t *testing.T) {
	got := appendCommand(nil, []byte("SET"), []byte("k"), []byte(""))
	require.Equal(t, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n", string(got))
}

func TestReadReply(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Reply
	}{
		{"status", "+OK\r\n", Reply{Kind: '+', Str: []byte("OK")}},
		{"error", "-ERR no\r\n", Reply{Kind: '-', Str: []byte("ERR no")}},
		{"integer", ":-42\r\n", Reply{Kind: ':', Int: -42}},
		{"bulk", "$3\r\na\r\n\r\n", Reply{Kind: '$', Str: []byte("a\r\n")}},
		{"empty bulk", "$0\r\n\r\n", Reply{Kind: '$', Str: []byte{}}},
		{"nil bulk", "$-1\r\n", Reply{Kind: '$', Nil: true}},
		{"nil array", "*-1\r\n", Reply{Kind: '*', Nil: true}},
		{"dget", "*2\r\n$3\r\nctx\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n", Reply{Kind: '*', Elems: []Reply{
			{Kind: '$', Str: []byte("ctx")},
			{Kind: '*', Elems: []Reply{{Kind: '$', Str: []byte("a")}, {Kind: '$', Str: []byte("b")}}},
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readReply(reader(tc.in))
			require.NoError(t, err)
			if tc.want.Kind == '*' && !tc.want.Nil && tc.want.Elems == nil {
				tc.want.Elems = []Reply{}
			}
			require.Equal(t, tc.want, got)
			errText, err := skipReply(reader(tc.in))
			require.NoError(t, err)
			if tc.want.IsError() {
				require.Equal(t, string(tc.want.Str), errText)
			} else {
				require.Empty(t, errText)
			}
		})
	}
}

func TestReadReply_Malformed(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"unknown type", "!x\r\n"},
		{"no CR", "+OK\n"},
		{"bad integer", ":x\r\n"},
		{"bad length", "$x\r\n"},
		{"negative length", "$-2\r\n"},
		{"too long", "$99999999999\r\n"},
		{"bulk without CRLF", "$1\r\nab\r\n"},
		{"truncated bulk", "$10\r\nab"},
		{"truncated array", "*2\r\n+a\r\n"},
		{"too deep", strings.Repeat("*1\r\n", maxDepth+2) + "+x\r\n"},
		{"long line", "+" + strings.Repeat("x", 5000) + "\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readReply(reader(tc.in))
			require.Error(t, err)
			_, err = skipReply(reader(tc.in))
			require.Error(t, err)
		})
	}
}

// FuzzReadReply: the reader never panics, skipReply agrees with readReply
// on what is valid and how much it consumes, and a reply read re-encodes to
// the bytes it was read from.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"+OK\r\n", "-ERR x\r\n", ":1\r\n", "$0\r\n\r\n", "$-1\r\n", "*-1\r\n", "*0\r\n",
		"*2\r\n$3\r\nctx\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n", "$3\r\na\r\n\r\n",
		"*1\r\n*1\r\n*1\r\n:5\r\n", "$5\r\nab", "*3\r\n+a\r\n", "!x\r\n", ":99999999999999999999\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r1 := bufio.NewReaderSize(bytes.NewReader(in), 4096)
		got, err1 := readReply(r1)
		r2 := bufio.NewReaderSize(bytes.NewReader(in), 4096)
		_, err2 := skipReply(r2)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("readReply: %v, skipReply: %v", err1, err2)
		}
		if err1 != nil {
			if !errors.Is(err1, ErrProtocol) && !errors.Is(err1, io.EOF) && !errors.Is(err1, io.ErrUnexpectedEOF) {
				t.Fatalf("unexpected error kind: %v", err1)
			}
			return
		}
		if r1.Buffered() != r2.Buffered() {
			t.Fatalf("consumed differently: %d vs %d left", r1.Buffered(), r2.Buffered())
		}
		enc := appendReply(nil, got)
		again, err := readReply(bufio.NewReaderSize(bytes.NewReader(enc), 4096))
		if err != nil {
			t.Fatalf("re-encoded reply %q does not read back: %v", enc, err)
		}
		if !bytes.Equal(appendReply(nil, again), enc) {
			t.Fatalf("round trip changed %q", enc)
		}
	})
}

func BenchmarkSkipReply(b *testing.B) {
	in := appendReply(nil, Reply{Kind: '*', Elems: []Reply{
		{Kind: '$', Str: bytes.Repeat([]byte("c"), 40)},
		{Kind: '*', Elems: []Reply{{Kind: '$', Str: bytes.Repeat([]byte("v"), 100)}}},
	}})
	br := bytes.NewReader(in)
	r := bufio.NewReaderSize(br, 4096)
	b.ReportAllocs()
	for b.Loop() {
		br.Reset(in)
		r.Reset(br)
		if _, err := skipReply(r); err != nil {
			b.Fatal(err)
		}
	}
}
