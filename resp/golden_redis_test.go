package resp

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestGolden_Redis replays every transcript marked "#! redis" against a
// redis-server 7 of its own (oracle_test.go starts it) and compares each reply with
// the transcript's, as TestGolden does for dynkv: the side-by-side test of
// the commands dynkv implements as Redis does. Without redis-server it is
// skipped (and fails under CI).
func TestGolden_Redis(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		requireOracle(t, err)
		return
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	require.NoError(t, err)
	rc := dialOracle(t, startRedisServer(t, bin, []string{"--port", "0", "--save", "", "--appendonly", "no"}))
	ran := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		if !bytes.Contains(raw, []byte("\n#! redis\n")) {
			continue
		}
		ran++
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			require.Equal(t, "+OK\r\n", mustDo(t, rc, "FLUSHALL"))
			lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
			for i := 0; i < len(lines); i++ {
				l := lines[i]
				require.False(t, strings.HasPrefix(l, "#! advance"), "%s:%d: a redis transcript cannot move Redis's clock", f, i+1)
				m := requestLine.FindStringSubmatch(l)
				if m == nil {
					continue
				}
				args, err := splitArgs(expandTimes(m[2], time.Now()))
				require.NoError(t, err)
				got := mustDo(t, rc, args...)
				require.Less(t, i+1, len(lines), "%s:%d: no reply line", f, i+1)
				i++
				require.True(t, matchReply(lines[i], got, time.Now()), "%s:%d: %s\nredis replied %q\ntranscript   %s", f, i+1, l, got, lines[i])
			}
		})
	}
	require.Positive(t, ran, "no transcript is marked #! redis")
}

// mustDo sends one command to redis-server and returns its raw reply.
func mustDo(t *testing.T, c *oracleConn, args ...string) string {
	t.Helper()
	reply, err := c.do(args)
	require.NoError(t, err, "%v", args)
	return reply
}
