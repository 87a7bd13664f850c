package resp

// globMatch reports whether str matches the glob-style pattern as Redis's
// stringmatchlen (util.c) matches it, case-sensitively, for KEYS and SCAN
// MATCH: '*' any run of bytes, '?' one byte, '[abc]', '[^abc]' and
// '[a-z]' one byte of a set, '\' escapes the next byte. Unbalanced or odd
// patterns behave as in Redis (a '[' without ']' takes the rest of the
// pattern as its set; a range's bytes compare as C's signed char).
func globMatch(pattern, str []byte) bool {
	skip := false
	return globMatchAt(pattern, str, &skip, 0)
}

// globMatchAt is stringmatchlen_impl: skipLonger is its early exit once a
// '*' found no match for the rest of the pattern, nesting its guard
// against abusive patterns.
func globMatchAt(pat, str []byte, skipLonger *bool, nesting int) bool {
	if nesting > 1000 {
		return false
	}
	at := func(b []byte, i int) byte { // C's NUL beyond the end
		if i < len(b) {
			return b[i]
		}
		return 0
	}
	p, s := 0, 0
	for p < len(pat) && s < len(str) {
		switch pat[p] {
		case '*':
			for p < len(pat) && at(pat, p+1) == '*' {
				p++
			}
			if len(pat)-p == 1 {
				return true
			}
			for s < len(str) {
				if globMatchAt(pat[p+1:], str[s:], skipLonger, nesting+1) {
					return true
				}
				if *skipLonger {
					return false
				}
				s++
			}
			*skipLonger = true
			return false
		case '?':
			s++
		case '[':
			p++
			not := at(pat, p) == '^'
			if not {
				p++
			}
			match := false
		set:
			for {
				switch {
				case at(pat, p) == '\\' && len(pat)-p >= 2:
					p++
					if pat[p] == str[s] {
						match = true
					}
				case at(pat, p) == ']':
					break set
				case p >= len(pat):
					p-- // the set runs to the end of the pattern
					break set
				case len(pat)-p >= 3 && pat[p+1] == '-':
					start, end, c := int8(pat[p]), int8(pat[p+2]), int8(str[s])
					if start > end {
						start, end = end, start
					}
					p += 2
					if c >= start && c <= end {
						match = true
					}
				default:
					if pat[p] == str[s] {
						match = true
					}
				}
				p++
			}
			if not {
				match = !match
			}
			if !match {
				return false
			}
			s++
		case '\\':
			if len(pat)-p >= 2 {
				p++
			}
			fallthrough
		default:
			if pat[p] != str[s] {
				return false
			}
			s++
		}
		p++
		if s == len(str) {
			for at(pat, p) == '*' {
				p++
			}
			break
		}
	}
	return p >= len(pat) && s == len(str)
}
