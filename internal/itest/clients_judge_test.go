package itest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The rules of the client conformance suite, without servers: how a
// library's output is read, how the known differences are parsed, and how
// judge applies them.

func TestClients_ParseSteps(t *testing.T) {
	all := func(status string) string {
		var b strings.Builder
		for _, s := range clientSteps {
			b.WriteString(status + " " + s + "\n")
		}
		return b.String()
	}
	tests := []struct {
		name     string
		out      string
		problems int
	}{
		{"every step passes", all("PASS"), 0},
		{"failures with reasons", strings.ReplaceAll(all("PASS"), "PASS ttl\n", "FAIL ttl: ERR unknown command 'ttl'\n"), 0},
		{"a step missing", strings.ReplaceAll(all("PASS"), "PASS ttl\n", ""), 2}, // out of order from there, and missing
		{"a stray line", strings.ReplaceAll(all("PASS"), "PASS ttl\n", "PASS ttl\nhello\n"), 2},
		{"no output", "", 1 + len(clientSteps)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problems := parseSteps(tt.out)
			if tt.problems == 0 {
				require.Empty(t, problems)
				require.Len(t, got, len(clientSteps))
				return
			}
			require.GreaterOrEqual(t, len(problems), tt.problems, "%v", problems)
		})
	}
	got, _ := parseSteps("PASS connect\nFAIL set-get: ERR x: y\nSKIP set-ex: no way\n")
	require.Equal(t, outcome{"FAIL", "ERR x: y"}, got["set-get"])
	require.Equal(t, outcome{"SKIP", "no way"}, got["set-ex"])
}

func TestClients_ReadDifferences(t *testing.T) {
	tests := []struct {
		name, text, err string
	}{
		{"comments and blank lines", "# c\n\n  \nioredis dynkv ttl: no TTL\n", ""},
		{"wildcards", "* * scan: no SCAN\n", ""},
		{"no reason", "ioredis dynkv ttl:\n", "want `client target step: reason`"},
		{"no colon", "ioredis dynkv ttl no TTL\n", "want `client target step: reason`"},
		{"unknown client", "jedis dynkv ttl: x\n", "unknown client"},
		{"the oracle is no target", "ioredis redis-server ttl: x\n", "target"},
		{"unknown step", "ioredis dynkv hset: x\n", "unknown step"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "differences.txt")
			require.NoError(t, os.WriteFile(path, []byte(tt.text), 0o644))
			_, err := readDifferences(path)
			if tt.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.err)
		})
	}
	// The checked-in file parses.
	_, err := readDifferences(differencesFile)
	require.NoError(t, err)
}

func TestClients_Judge(t *testing.T) {
	plain := clientLib{name: "ioredis"}
	cluster := clientLib{name: "ioredis-cluster", cluster: true}
	libs := []clientLib{plain, cluster}
	// run returns the outcomes of every step of lib against target, all
	// PASS but for the given ones ("step": "FAIL" or "SKIP").
	run := func(o map[runKey]outcome, lib, target string, except map[string]string) {
		for _, s := range clientSteps {
			st := "PASS"
			if e, ok := except[s]; ok {
				st = e
			}
			o[runKey{lib, target, s}] = outcome{status: st, reason: "why"}
		}
	}
	ttlFails := map[string]string{"ttl": "FAIL"}
	tests := []struct {
		name  string
		runs  func(o map[runKey]outcome)
		diffs []difference
		want  []string // substrings of the problems, in order; none: no problem
	}{
		{"all pass", func(o map[runKey]outcome) {
			run(o, "ioredis", oracle, nil)
			run(o, "ioredis", oneNode, nil)
			run(o, "ioredis-cluster", oneNode, nil)
		}, nil, nil},
		{"a failure on dynkv, unlisted", func(o map[runKey]outcome) {
			run(o, "ioredis", oracle, nil)
			run(o, "ioredis", oneNode, ttlFails)
		}, nil, []string{"dynkv ttl: FAIL: why (it passes on redis-server"}},
		{"a failure on dynkv, listed", func(o map[runKey]outcome) {
			run(o, "ioredis", oracle, nil)
			run(o, "ioredis", oneNode, ttlFails)
		}, []difference{{line: 1, client: "*", target: "*", step: "ttl", reason: "r"}}, nil},
		{"a listed step that passes", func(o map[runKey]outcome) {
			run(o, "ioredis", oracle, nil)
			run(o, "ioredis", oneNode, ttlFails)
			run(o, "ioredis", threeNodes, nil)
		}, []difference{{line: 1, client: "ioredis", target: "*", step: "ttl", reason: "r"}},
			[]string{"dynkv-cluster ttl: passes now"}},
		{"a line that excuses nothing", func(o map[runKey]outcome) {
			run(o, "ioredis", oracle, ttlFails)
			run(o, "ioredis", oneNode, ttlFails)
		}, []difference{{line: 1, client: "*", target: "*", step: "ttl", reason: "r"}},
			[]string{"redis-server ttl: FAIL", "excuses no failure"}},
		{"a line about a library that did not run", func(o map[runKey]outcome) {
			run(o, "ioredis", oracle, nil)
		}, []difference{{line: 1, client: "ioredis-cluster", target: "*", step: "*", reason: "r"}}, nil},
		{"a cluster client fails unlisted, skips", func(o map[runKey]outcome) {
			run(o, "ioredis-cluster", oneNode, map[string]string{"ttl": "FAIL", "watch": "SKIP"})
		}, nil, []string{"dynkv ttl: FAIL: why (a cluster client"}},
		{"a plain client skips on dynkv only", func(o map[runKey]outcome) {
			run(o, "ioredis", oracle, nil)
			run(o, "ioredis", oneNode, map[string]string{"watch": "SKIP"})
		}, nil, []string{"dynkv watch: SKIP"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := map[runKey]outcome{}
			tt.runs(o)
			v := judge(libs, o, tt.diffs)
			var problems []string
			for _, name := range []string{"ioredis", "ioredis-cluster", ""} {
				problems = append(problems, v.problems[name]...)
			}
			require.Len(t, problems, len(tt.want), "%q", problems)
			for i, w := range tt.want {
				require.Contains(t, problems[i], w)
			}
		})
	}
}
