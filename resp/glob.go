package resp

// globMatch reports whether s matches the glob-style pattern p as Redis's
// stringmatchlen does (PSUBSCRIBE, PUBSUB CHANNELS; KEYS and SCAN MATCH):
// '*' any run of bytes, '?' one byte, '[abc]', '[^abc]' and '[a-z]' a byte
// of a set (a '\' inside escapes), '\x' the byte x. It backtracks to the
// last '*' only, so it runs in O(len(p)·len(s)) whatever the pattern.
func globMatch(p, s []byte) bool {
	pi, si := 0, 0
	star, mark := -1, 0 // the last '*' seen in p, and the position in s it matched up to
	for si < len(s) {
		if pi < len(p) {
			switch p[pi] {
			case '*':
				star, mark = pi, si
				pi++
				continue
			case '?':
				pi++
				si++
				continue
			case '[':
				if n, ok := matchClass(p[pi:], s[si]); n > 0 {
					if ok {
						pi += n
						si++
						continue
					}
					break
				}
				if p[pi] == s[si] { // an unterminated class matches '[' itself
					pi++
					si++
					continue
				}
			case '\\':
				if pi+1 < len(p) {
					if p[pi+1] == s[si] {
						pi += 2
						si++
						continue
					}
					break
				}
				if s[si] == '\\' {
					pi++
					si++
					continue
				}
			default:
				if p[pi] == s[si] {
					pi++
					si++
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		mark++
		pi, si = star+1, mark
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// matchClass matches b against the class at the start of p ("[...]"). It
// returns the class's length in p (0 when it has no closing ']') and
// whether b is in it.
func matchClass(p []byte, b byte) (int, bool) {
	i := 1
	not := i < len(p) && p[i] == '^'
	if not {
		i++
	}
	match := false
	for ; i < len(p); i++ {
		switch {
		case p[i] == ']':
			return i + 1, match != not
		case p[i] == '\\' && i+1 < len(p):
			i++
			if p[i] == b {
				match = true
			}
		case i+2 < len(p) && p[i+1] == '-' && p[i+2] != ']':
			lo, hi := p[i], p[i+2]
			if lo > hi {
				lo, hi = hi, lo
			}
			if lo <= b && b <= hi {
				match = true
			}
			i += 2
		case p[i] == b:
			match = true
		}
	}
	return 0, false
}
