package resp

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGlobMatch: the cases of Redis's own tests (keyspace.tcl, util.c's
// stringmatchlen_fuzz_test and the documentation of KEYS) and the odd
// patterns whose behaviour Redis defines by its code.
func TestGlobMatch(t *testing.T) {
	for _, tt := range []struct {
		pattern, str string
		want         bool
	}{
		{"*", "", false}, // as stringmatchlen; KEYS and SCAN treat "*" alone as "all" first
		{"**", "", false},
		{"*", "anything", true},
		{"", "", true},
		{"", "a", false},
		{"a", "", false},
		{"h?llo", "hello", true},
		{"h?llo", "hllo", false},
		{"h*llo", "hllo", true},
		{"h*llo", "heeeello", true},
		{"h[ae]llo", "hello", true},
		{"h[ae]llo", "hallo", true},
		{"h[ae]llo", "hillo", false},
		{"h[^e]llo", "hallo", true},
		{"h[^e]llo", "hello", false},
		{"h[a-b]llo", "hallo", true},
		{"h[a-b]llo", "hbllo", true},
		{"h[a-b]llo", "hcllo", false},
		{"h[b-a]llo", "hallo", true}, // reversed range
		{"h\\*llo", "h*llo", true},
		{"h\\*llo", "hello", false},
		{"foo*", "foobar", true},
		{"*bar", "foobar", true},
		{"*o*b*", "foobar", true},
		{"a*", "b", false},
		{"*a", "ba", true},
		{"**", "x", true},
		{"a**", "a", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "ab", false},
		{"[abc", "a", true}, // a set without ']' runs to the end
		{"[abc", "d", false},
		{"[", "[", false},
		{"[]", "]", false},
		{"[\\]]", "]", true},
		{"[a-]", "-", false}, // the range a..], as in Redis
		{"[a-]", "^", true},
		{"\\", "\\", true},
		{"a\\", "a\\", true},
		{"key:[0-9]", "key:5", true},
		{"key:[0-9]", "key:x", false},
		{"*?", "", false},
		{"?*", "a", true},
		{"[\x80-\xff]", "\x90", true},
		{"[\x01-\xff]", "a", false}, // as C's signed char: 0xff is -1
	} {
		t.Run(tt.pattern+"/"+tt.str, func(t *testing.T) {
			require.Equal(t, tt.want, globMatch([]byte(tt.pattern), []byte(tt.str)))
		})
	}
}

// TestGlobMatch_AbusivePattern: a pattern of many stars against a long
// string ends at once (Redis's skipLongerMatches), never panics.
func TestGlobMatch_AbusivePattern(t *testing.T) {
	pat := []byte("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b")
	str := make([]byte, 10000)
	for i := range str {
		str[i] = 'a'
	}
	require.False(t, globMatch(pat, str))
}

func FuzzGlobMatch(f *testing.F) {
	f.Add([]byte("h[a-b]*\\"), []byte("hallo"))
	f.Add([]byte("[^"), []byte("x"))
	f.Fuzz(func(t *testing.T, pat, str []byte) {
		_ = globMatch(pat, str)
	})
}
