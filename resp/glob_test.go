package resp

import "testing"

func TestGlobMatch(t *testing.T) {
	for _, tt := range []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"*", "anything", true}, {"h?llo", "hello", true}, {"h?llo", "hllo", false},
		{"h*llo", "heeeello", true}, {"h*llo", "hello world", false}, {"h[ae]llo", "hallo", true},
		{"h[ae]llo", "hillo", false}, {"h[^e]llo", "hallo", true}, {"h[^e]llo", "hello", false},
		{"h[a-b]llo", "hbllo", true}, {"h[a-b]llo", "hcllo", false}, {"h[b-a]llo", "hallo", true},
		{`h\*llo`, "h*llo", true}, {`h\*llo`, "hello", false}, {"news.*", "news.tech", true},
		{"news.*", "new.tech", false}, {"*a*b*c*", "xxaxxbxxcxx", true}, {"*a*b*c*", "xxaxxcxxbxx", false},
		{"a*", "b", false}, {"", "", true}, {"", "a", false}, {"[abc", "[abc", true}, {"[a\\]]", "]", true},
		{"a**b", "axxb", true}, {"*.txt", "a.b.txt", true}, {"user:[0-9]*", "user:7abc", true},
	} {
		if got := globMatch([]byte(tt.p), []byte(tt.s)); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.p, tt.s, got, tt.want)
		}
	}
}

// TestGlobMatch_LinearOnStars: a pattern of many stars against a long
// non-matching string answers at once (the naive recursion is exponential).
func TestGlobMatch_LinearOnStars(t *testing.T) {
	p := []byte("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b")
	s := make([]byte, 4096)
	for i := range s {
		s[i] = 'a'
	}
	if globMatch(p, s) {
		t.Fatal("matched")
	}
}

func FuzzGlobMatch(f *testing.F) {
	f.Add([]byte("h[^e-z]l*o"), []byte("hallo"))
	f.Add([]byte(`\[*`), []byte("[x"))
	f.Fuzz(func(t *testing.T, p, s []byte) {
		if len(p) > 256 || len(s) > 4096 {
			return
		}
		globMatch(p, s)
		if !globMatch([]byte("*"), s) {
			t.Fatal("* must match everything")
		}
	})
}
