package resp

// parseInt parses b as Redis's string2ll does: an optional '-' and decimal
// digits, without a '+', spaces or leading zeros ("0" itself is fine), within
// the range of int64.
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	d := b
	if neg {
		d = b[1:]
	}
	switch {
	case len(d) == 0 || len(d) > 19:
		return 0, false
	case d[0] == '0':
		return 0, len(d) == 1 && !neg
	}
	var v uint64 // 19 digits never overflow a uint64
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return int64(-v), true // -v wraps; 1<<63 becomes MinInt64
	}
	if v > 1<<63-1 {
		return 0, false
	}
	return int64(v), true
}

// equalFold reports whether b equals s ignoring ASCII case. s must be
// lowercase ASCII or uppercase ASCII; b may be anything.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// appendLower appends b to dst in ASCII lowercase.
func appendLower(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, lower(c))
	}
	return dst
}

// validAttr reports whether v may be a client name or library attribute:
// printable ASCII without spaces, as Redis requires.
func validAttr(v []byte) bool {
	for _, c := range v {
		if c < '!' || c > '~' {
			return false
		}
	}
	return true
}
