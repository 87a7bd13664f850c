package resp

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestGolden_Redis replays every transcript marked "#! redis" against a
// redis-server 7 on a Unix socket of its own and compares each reply with
// the transcript's, as TestGolden does for dynkv: the side-by-side test of
// the commands dynkv implements as Redis does. Without redis-server it is
// skipped (and fails under CI=true).
func TestGolden_Redis(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server not installed (apt-get install redis-server)")
		}
		t.Skip("redis-server not installed: the side-by-side transcripts run against dynkv only")
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	require.NoError(t, err)
	rc := startRedis(t, bin)
	ran := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		if !bytes.Contains(raw, []byte("\n#! redis\n")) {
			continue
		}
		ran++
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			require.Equal(t, "+OK\r\n", rc.do(t, "FLUSHALL"))
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
				got := rc.do(t, args...)
				require.Less(t, i+1, len(lines), "%s:%d: no reply line", f, i+1)
				i++
				require.True(t, matchReply(lines[i], got, time.Now()), "%s:%d: %s\nredis replied %q\ntranscript   %s", f, i+1, l, got, lines[i])
			}
		})
	}
	require.Positive(t, ran, "no transcript is marked #! redis")
}

// redisConn is one connection to the reference redis-server.
type redisConn struct {
	nc net.Conn
	r  *bufio.Reader
}

// startRedis starts redis-server on a Unix socket in a temporary
// directory, with no TCP port and no persistence, stops it at the end of
// the test, and returns a connection to it.
func startRedis(t *testing.T, bin string) *redisConn {
	dir := t.TempDir()
	sock := filepath.Join(dir, "redis.sock")
	cmd := exec.Command(bin, "--port", "0", "--unixsocket", sock, "--save", "", "--appendonly", "no", "--dir", dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	var nc net.Conn
	require.Eventually(t, func() bool {
		var err error
		nc, err = net.Dial("unix", sock)
		return err == nil
	}, 10*time.Second, 10*time.Millisecond, "redis-server did not start: %s", &out)
	t.Cleanup(func() { _ = nc.Close() })
	return &redisConn{nc: nc, r: bufio.NewReader(nc)}
}

// do sends one command and returns its raw reply.
func (c *redisConn) do(t *testing.T, args ...string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	require.NoError(t, c.nc.SetDeadline(time.Now().Add(10*time.Second)))
	_, err := io.WriteString(c.nc, b.String())
	require.NoError(t, err)
	var reply bytes.Buffer
	require.NoError(t, readRawReply(c.r, &reply))
	return reply.String()
}
