package resp

import (
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCommandInfo_SideBySide: for every command dynkv and redis-server
// both have, COMMAND INFO gives the same arity, flags and key positions
// (first, last, step), which cluster clients route by. dynkv's own
// commands (DGET, DPUT, DDEL, RING) have no counterpart.
func TestCommandInfo_SideBySide(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		requireOracle(t, err)
		return
	}
	rc := dialOracle(t, startRedisServer(t, bin, []string{"--port", "0", "--save", "", "--appendonly", "no"}))
	tb := newTable()
	compared := 0
	for _, cmd := range tb.sorted {
		for _, c := range append([]*command{cmd}, cmd.subs...) {
			name := strings.ReplaceAll(c.name, "|", " ")
			raw, err := rc.do([]string{"COMMAND", "INFO", strings.Split(c.name, "|")[0]})
			require.NoError(t, err)
			want, ok := commandFields(t, raw, c.name)
			if !ok {
				continue // not a Redis command (or not this subcommand)
			}
			compared++
			got := []string{strconv.Itoa(c.arity), strings.Join(sortedWords(c.flags), " "),
				strconv.Itoa(c.keys.first), strconv.Itoa(c.keys.last), strconv.Itoa(c.keys.step)}
			if !slices.Equal(want, got) {
				t.Errorf("COMMAND INFO %s: redis-server %q, dynkv %q (arity, flags, first, last, step)", name, want, got)
			}
		}
	}
	require.Greater(t, compared, 50)
}

func sortedWords(s string) []string {
	w := strings.Fields(s)
	slices.Sort(w)
	return w
}

// commandFields finds name (a command, or "container|sub") in a raw
// COMMAND INFO reply and returns its arity, sorted flags, first, last and
// step.
func commandFields(t *testing.T, raw, name string) ([]string, bool) {
	v, rest := parseReply(t, raw)
	require.Empty(t, rest)
	entries, _ := v.([]respValue)
	if len(entries) != 1 {
		return nil, false
	}
	find := func(e []respValue) []respValue { return e }
	entry, ok := entries[0].([]respValue)
	if !ok {
		return nil, false
	}
	if parent, sub, isSub := strings.Cut(name, "|"); isSub {
		entry = nil
		for _, s := range entries[0].([]respValue)[9].([]respValue) {
			e := s.([]respValue)
			if e[0].(string) == parent+"|"+sub {
				entry = find(e)
			}
		}
		if entry == nil {
			return nil, false
		}
	}
	var flags []string
	for _, f := range entry[2].([]respValue) {
		flags = append(flags, f.(string))
	}
	slices.Sort(flags)
	return []string{strconv.FormatInt(entry[1].(int64), 10), strings.Join(flags, " "),
		strconv.FormatInt(entry[3].(int64), 10), strconv.FormatInt(entry[4].(int64), 10), strconv.FormatInt(entry[5].(int64), 10)}, true
}
