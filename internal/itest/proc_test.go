package itest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dynkv/dynkv/internal/testenv"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/internal/launch"
)

// binary is the dynkv binary under test, built by TestMain. It is written
// once before any test runs and only read afterwards.
var binary string

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "dynkv-itest-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "itest: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "dynkv")
	args := []string{"build"}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "-o", binary, "github.com/dynkv/dynkv/cmd/dynkv")
	build := exec.Command(goTool(), args...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "itest: go %s: %v\n", strings.Join(args, " "), err)
		return 1
	}
	return m.Run()
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// Deadlines. The binary may run under the race detector on a loaded
// 2-core machine, so they are generous; a healthy run is far quicker.
const (
	startTimeout = 60 * time.Second
	exitTimeout  = 30 * time.Second
)

// node is one running dynkv process.
type node struct {
	t    *testing.T
	proc *launch.Process
	dir  string // data directory
	addr string // host:port it serves on
	port string
	logs *logWriter
}

// startNode starts dynkv serve on a free loopback port with data in dir
// and waits until it answers PING. The process is killed in t.Cleanup if it
// is still running, and its log is shown if the test failed.
func startNode(t *testing.T, dir string, extraArgs ...string) *node {
	t.Helper()
	args := launch.Serve{Listen: "127.0.0.1:0", GossipListen: "127.0.0.1:0", DataDir: dir, ID: "itest", Extra: extraArgs}.Args()
	n := &node{t: t, dir: dir, logs: newLogWriter()}
	p, err := launch.Start(launch.Config{Name: "dynkv", Binary: binary, Args: args, Output: n.logs})
	require.NoError(t, err)
	n.proc = p
	t.Cleanup(func() {
		_ = n.proc.Kill(context.Background())
		logs := n.logs.String()
		if strings.Contains(logs, "WARNING: DATA RACE") {
			t.Errorf("dynkv reported a data race")
		}
		if t.Failed() {
			t.Logf("dynkv %s logs:\n%s", strings.Join(args, " "), logs)
		}
	})

	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case n.addr = <-n.logs.addr:
	case <-n.proc.Done():
		t.Fatalf("dynkv exited before serving: %s", n.proc.State())
	case <-timer.C:
		t.Fatalf("dynkv did not log its address within %s", startTimeout)
	}
	_, n.port, _ = strings.Cut(n.addr, ":")
	rdb := n.client()
	waitFor(t, startTimeout, "PING answered", func() bool {
		require.True(t, n.running(), "dynkv exited while starting")
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := rdb.Ping(ctx).Err()
		return err == nil || strings.HasPrefix(err.Error(), "NOAUTH") // served, with requirepass
	})
	return n
}

// client returns a go-redis client of n with default options, closed in
// t.Cleanup.
func (n *node) client() *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: n.addr})
	n.t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func (n *node) running() bool { return !n.proc.Exited() }

func (n *node) signal(sig syscall.Signal) {
	n.t.Helper()
	require.NoError(n.t, n.proc.Signal(sig))
}

// wait waits for the process to exit and returns its exit code (-1 when a
// signal killed it).
func (n *node) wait(timeout time.Duration) int {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	code, err := n.proc.Wait(ctx)
	if err != nil {
		n.t.Fatalf("dynkv did not exit within %s", timeout)
	}
	return code
}

// waitFor polls cond every 10ms until it holds, failing t after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for: %s", timeout, what)
		}
		<-tick.C
	}
}

// readyLine matches the log line of runNode that gives the bound address.
var readyLine = regexp.MustCompile(`msg=ready .*addr=(\S+)`)

// logWriter keeps a process's output and reports the address it serves on.
type logWriter struct {
	addr chan string // receives the address once

	mu struct {
		sync.Mutex
		buf     bytes.Buffer
		partial []byte // the last line until its newline arrives
		found   bool
	}
}

func newLogWriter() *logWriter { return &logWriter{addr: make(chan string, 1)} }

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mu.buf.Write(p)
	w.mu.partial = append(w.mu.partial, p...)
	for {
		i := bytes.IndexByte(w.mu.partial, '\n')
		if i < 0 {
			break
		}
		line := string(w.mu.partial[:i])
		w.mu.partial = w.mu.partial[i+1:]
		if m := readyLine.FindStringSubmatch(line); m != nil && !w.mu.found {
			w.mu.found = true
			w.addr <- m[1]
		}
	}
	return len(p), nil
}

func (w *logWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mu.buf.String()
}

// runDynkv runs the binary to completion with args and extra environment
// variables and returns its exit code, standard output and standard error.
func runDynkv(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), exitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = launch.Environ(env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "dynkv %v did not exit within %s; stderr:\n%s", args, exitTimeout, errb.String())
	if err != nil {
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// requireTool returns the path of an executable, or skips the test loudly;
// under CI (CI set) a missing tool fails the test instead, since CI
// installs it.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	testenv.Missing(t, name+" is not installed (Debian's redis-tools)")
	return ""
}
