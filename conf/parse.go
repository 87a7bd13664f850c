package conf

import (
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"
)

// Parsers of the text forms of key values, and their inverses. Each parser
// returns an error that does not name the key; Load adds it.

type sizeUnit struct {
	suffix string
	mult   int64
}

// sizeUnits returns the suffixes a size may carry, matched
// case-insensitively, as in redis.conf: k, m, g and t are powers of 1000;
// kb, mb, gb and tb, and kib, mib, gib and tib, are powers of 1024; b is
// bytes. Longest suffixes come first so that "mib" is not read as "b".
func sizeUnits() []sizeUnit {
	return []sizeUnit{
		{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
		{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"tb", 1 << 40},
		{"k", 1e3}, {"m", 1e6}, {"g", 1e9}, {"t", 1e12},
		{"b", 1},
	}
}

// parseSize parses a byte size: a non-negative integer with an optional
// unit suffix (see sizeUnits).
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits() {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseUint(t, 10, 63)
	if err != nil || int64(n) > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is not a size in bytes (examples: 1048576, 64mb, 64MiB, 1g)", s)
	}
	return int64(n) * mult, nil
}

// formatSize returns the shortest form of n that parseSize reads back as n,
// preferring binary units: 64<<20 is "64mb".
func formatSize(n int64) string {
	for _, u := range []sizeUnit{{"tb", 1 << 40}, {"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10}} {
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// parseInt parses a decimal integer.
func parseInt(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", s)
	}
	return n, nil
}

// parseDuration parses a Go duration such as "500ms" or "5s".
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (examples: 500ms, 5s, 1m)", s)
	}
	return d, nil
}

// parseYesNo parses a yes/no setting as redis.conf writes it; true and
// false (what a YAML or TOML boolean reads as) are accepted too.
func parseYesNo(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "true":
		return true, nil
	case "no", "false":
		return false, nil
	}
	return false, fmt.Errorf("%q is not one of yes, no", s)
}

// formatYesNo returns the text parseYesNo reads back as b.
func formatYesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// parseEnum checks that s is one of allowed.
func parseEnum(s string, allowed ...string) (string, error) {
	for _, a := range allowed {
		if s == a {
			return s, nil
		}
	}
	return "", fmt.Errorf("%q is not one of %s", s, strings.Join(allowed, ", "))
}

type namedLevel struct {
	name  string
	level slog.Level
}

func logLevels() []namedLevel {
	return []namedLevel{{"debug", slog.LevelDebug}, {"info", slog.LevelInfo}, {"warn", slog.LevelWarn}, {"error", slog.LevelError}}
}

// parseLevel parses a log level name, case-insensitively.
func parseLevel(s string) (slog.Level, error) {
	for _, l := range logLevels() {
		if strings.EqualFold(strings.TrimSpace(s), l.name) {
			return l.level, nil
		}
	}
	return 0, fmt.Errorf("%q is not one of debug, info, warn, error", s)
}

// formatLevel returns the name parseLevel reads back as l.
func formatLevel(l slog.Level) string {
	for _, x := range logLevels() {
		if x.level == l {
			return x.name
		}
	}
	return strings.ToLower(l.String())
}
