package resp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dynkv/dynkv/internal/testenv"

	"github.com/stretchr/testify/require"
)

// TestOracle runs the transcripts that carry the directive "#! oracle"
// against a real redis-server and requires the replies recorded for dynkv
// (which TestGolden checks) to be redis-server's too, byte for byte: the
// transcripts are the side-by-side tests of dynkv's Redis commands. A
// request preceded by "#! differs <reason>" is one where dynkv differs on
// purpose (the reason is what the README's compatibility table says): the
// oracle sends it, so that the state stays the same on both, but does not
// compare its reply. An oracle transcript cannot move the clock.
//
// Without redis-server on PATH the test is skipped, except under CI (CI
// set), where it fails.
func TestOracle(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		requireOracle(t, err)
		return
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	require.NoError(t, err)
	ran := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
		if !oracleTranscript(lines) {
			continue
		}
		ran++
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			runOracle(t, bin, f, lines)
		})
	}
	require.NotZero(t, ran, "no transcript is marked #! oracle")
}

// requireOracle fails the test under CI, where redis-server must be
// installed, and skips it elsewhere.
func requireOracle(t *testing.T, err error) {
	t.Helper()
	testenv.Missing(t, fmt.Sprintf("redis-server is not installed (apt-get install redis-server): %v", err))
}

func oracleTranscript(lines []string) bool {
	for _, l := range lines {
		if l == "#! oracle" {
			return true
		}
	}
	return false
}

func runOracle(t *testing.T, bin, path string, lines []string) {
	args := []string{"--port", "0", "--save", "", "--appendonly", "no"}
	for _, l := range lines {
		if pw, ok := strings.CutPrefix(l, "#! requirepass "); ok {
			args = append(args, "--requirepass", pw)
		}
	}
	addr := startRedisServer(t, bin, args)
	conns := map[string]*oracleConn{}
	skip := false
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "#! advance "):
			t.Fatalf("%s:%d: an oracle transcript cannot move the clock", path, i+1)
		case strings.HasPrefix(l, "#! differs "):
			skip = true
			continue
		}
		m := requestLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		require.Less(t, i+1, len(lines), "%s:%d: no reply line", path, i+1)
		want, ok := strings.CutPrefix(lines[i+1], "< ")
		require.True(t, ok, "%s:%d: no reply line", path, i+1)
		c := conns[m[1]]
		if c == nil {
			c = dialOracle(t, addr)
			conns[m[1]] = c
		}
		reqArgs, err := splitArgs(m[2])
		require.NoError(t, err, "%s:%d", path, i+1)
		reply, err := c.do(reqArgs)
		require.NoError(t, err, "%s:%d: %s", path, i+1, l)
		if skip {
			skip = false // sent, so that the server's state follows, but not compared
			continue
		}
		if got := strconv.Quote(reply); got != want {
			t.Errorf("%s:%d: %s\n dynkv:        %s\n redis-server: %s", path, i+1, l, want, got)
		}
	}
}

// startRedisServer starts redis-server with args on a free loopback port
// and stops it at the end of the test.
func startRedisServer(t *testing.T, bin string, args []string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	require.NoError(t, ln.Close())
	args = append(args, "--bind", "127.0.0.1", "--dir", t.TempDir())
	args[1] = port // "--port", "0"
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	addr := "127.0.0.1:" + port
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not listen on %s: %v\n%s", addr, err, out.String())
		}
		//lint:ignore NoSleep waiting for another process to listen; the deadline bounds it
		time.Sleep(10 * time.Millisecond)
	}
}

// oracleConn is one client connection to redis-server.
type oracleConn struct {
	nc net.Conn
	rd *bufio.Reader
}

func dialOracle(t *testing.T, addr string) *oracleConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { _ = nc.Close() })
	return &oracleConn{nc: nc, rd: bufio.NewReader(nc)}
}

// do sends one command and returns its whole raw reply.
func (c *oracleConn) do(args []string) (string, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	_ = c.nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.nc.Write(b.Bytes()); err != nil {
		return "", err
	}
	var reply bytes.Buffer
	if err := readRawReply(c.rd, &reply); err != nil {
		if errors.Is(err, io.EOF) && reply.Len() == 0 {
			return "", nil // the server closed the connection (QUIT)
		}
		return reply.String(), err
	}
	return reply.String(), nil
}

// readRawReply copies one RESP2 or RESP3 reply from rd to out.
func readRawReply(rd *bufio.Reader, out *bytes.Buffer) error {
	line, err := rd.ReadString('\n')
	if err != nil {
		return err
	}
	out.WriteString(line)
	if len(line) < 3 {
		return fmt.Errorf("short reply line %q", line)
	}
	body := strings.TrimSuffix(line[1:], "\r\n")
	switch line[0] {
	case '$', '=', '!':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(rd, buf); err != nil {
			return err
		}
		out.Write(buf)
	case '*', '~', '>', '%', '|':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return err
		}
		if line[0] == '%' || line[0] == '|' {
			n *= 2
		}
		for range n {
			if err := readRawReply(rd, out); err != nil {
				return err
			}
		}
	}
	return nil
}
