package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dynkv/dynkv/internal/testenv"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/resp"
	"github.com/dynkv/dynkv/resp/resptest"
)

// asDynkv makes the test binary act as dynkv: dynkv bench starts its own
// executable (os.Executable) as the nodes it measures, and in a test that
// is this binary.
const asDynkv = "BENCHTEST_AS_DYNKV"

func TestMain(m *testing.M) {
	// A fuzz worker inherits the environment but is a test process.
	if os.Getenv(asDynkv) == "1" && !slices.Contains(os.Args[1:], "-test.fuzzworker") {
		os.Exit(execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	// For the children only: this process has passed the check. Set here,
	// not with t.Setenv, so that the bench tests can run in parallel.
	if err := os.Setenv(asDynkv, "1"); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

// TestBench_QuickPath runs the real quick path (a node, a 3-node cluster
// and redis-server when installed, every workload, redis-benchmark) with a
// tiny request count: it proves the harness works end to end, not how fast
// anything is.
func TestBench_QuickPath(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := execute(context.Background(), []string{"bench", "--quick", "--count", "100", "--rounds", "1", "--out", out}, &stdout, &stderr)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	table := stdout.String()
	for _, want := range []string{"dynkv-1", "dynkv-3", "set 100B c50 p1", "cart", "open 500/s", "versions per DGET"} {
		require.Contains(t, table, want)
	}
	if _, err := exec.LookPath("redis-server"); err == nil {
		require.Contains(t, table, "1.00x", "ratios to redis-server")
	}
	require.NotContains(t, table, "FAILED")
	for _, f := range []string{"report.json", "results.csv", "table.txt", "latency.svg"} {
		require.FileExists(t, filepath.Join(out, f))
	}
	var rep struct {
		Machine struct{ Cores int }
		Results []struct{ Target, Case string }
	}
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &rep))
	require.Positive(t, rep.Machine.Cores)
	require.NotEmpty(t, rep.Results)
}

// TestBench_ErrorsAreNotAHappyTable: against a server that refuses every
// request, dynkv bench says so and exits 1.
func TestBench_ErrorsAreNotAHappyTable(t *testing.T) {
	cfg := resp.DefaultConfig()
	cfg.RequirePass = "secret"
	srv := resptest.Start(t, cfg)
	var stdout, stderr bytes.Buffer
	code := execute(context.Background(), []string{"bench", "--target", "locked=" + srv.Addr, "--count", "50",
		"--workloads", "set,cart", "--pipeline", "1", "--rate", "0", "--redis-benchmark=false", "--out", "-"}, &stdout, &stderr)
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	require.Contains(t, stdout.String(), "FAILED: set 100B c50 p1 on locked")
	require.Contains(t, stdout.String(), "NOAUTH")
	require.True(t, strings.Contains(stderr.String(), "requests failed"), stderr.String())
}

func TestBench_BadFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, 2, execute(context.Background(), []string{"bench", "--target", "nonsense"}, &stdout, &stderr))
	require.Contains(t, stderr.String(), "--target")
	stderr.Reset()
	require.Equal(t, 2, execute(context.Background(), []string{"bench", "--scenario", "nonsense"}, &stdout, &stderr))
	require.Contains(t, stderr.String(), "unknown scenario")
}

// TestBench_Scenarios runs every paper scenario with a tiny request count:
// each starts, drives and stops what it needs and writes its results.
// TestBench_SingleNode runs the other scenario.
func TestBench_Scenarios(t *testing.T) {
	t.Parallel()
	for _, sc := range []struct{ name, want string }{
		{"balance", "nodes off"},
		{"divergent", "hot carts"},
		{"durability", "dynkv-fsync"},
		{"forwarding", "forwarded"},
		{"cluster-client", "cluster"},
	} {
		t.Run(sc.name, func(t *testing.T) {
			out := t.TempDir()
			var stdout, stderr bytes.Buffer
			code := execute(context.Background(), []string{"bench", "--scenario", sc.name, "--count", "50", "--out", out}, &stdout, &stderr)
			require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			require.Contains(t, stdout.String(), sc.want)
			entries, err := os.ReadDir(out)
			require.NoError(t, err)
			require.NotEmpty(t, entries, "results written")
		})
	}
}

// TestBench_CancelStopsEverything cancels dynkv bench (as Ctrl-C does) once
// the load has started and checks that every process it started is gone.
func TestBench_CancelStopsEverything(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &watchWriter{want: "] round 1/", seen: make(chan struct{}), cancel: cancel}
	var stdout bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- execute(ctx, []string{"bench", "--nodes", "2", "--n", "2", "--r", "1", "--w", "1", "--count", "100",
			"--rounds", "1000", "--no-redis", "--redis-benchmark=false", "--out", "-"}, &stdout, stderr)
	}()
	timer := time.NewTimer(2 * time.Minute)
	defer timer.Stop()
	select {
	case code := <-done:
		t.Fatalf("bench ended (%d) before it was cancelled; stderr:\n%s", code, stderr.String())
	case <-stderr.seen:
	case <-timer.C:
		t.Fatalf("the load did not start; stderr:\n%s", stderr.String())
	}
	select {
	case code := <-done:
		require.NotEqual(t, 0, code)
	case <-timer.C:
		t.Fatalf("bench did not end after cancel; stderr:\n%s", stderr.String())
	}
	pids := regexp.MustCompile(`started \S+, pid (\d+)`).FindAllStringSubmatch(stderr.String(), -1)
	require.NotEmpty(t, pids)
	for _, m := range pids {
		pid, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		// The bench waited for its children: a pid that is gone (or, if
		// reused meanwhile, not our child) cannot be signalled by us as ours.
		err = syscall.Kill(pid, 0)
		require.ErrorIs(t, err, syscall.ESRCH, "process %d still running", pid)
	}
}

// watchWriter collects output and, the first time want appears, closes
// seen and calls cancel.
type watchWriter struct {
	want   string
	seen   chan struct{}
	cancel context.CancelFunc
	mu     sync.Mutex
	buf    bytes.Buffer
	done   bool
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done && strings.Contains(w.buf.String(), w.want) {
		w.done = true
		w.cancel()
		close(w.seen)
	}
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestBench_SingleNode: the single-node scenario starts redis-server, the
// redcon server (dynkv bench-redcon) and a dynkv node, drives them with
// redis-benchmark and reports each one's CPU per request, read from /proc.
func TestBench_SingleNode(t *testing.T) {
	for _, tool := range []string{"redis-server", "redis-benchmark"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, tool+" is not installed")
		}
	}
	t.Parallel()
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := execute(context.Background(), []string{"bench", "--scenario", "single-node", "--count", "5000", "--out", out}, &stdout, &stderr)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	var rep struct {
		Targets []struct{ Name, Version string }
		Results []struct {
			Target, Case string
			Median       struct {
				CPU float64 `json:"cpu_us_per_req"`
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &rep))
	require.Len(t, rep.Results, 4*4, "4 targets, SET and GET at 2 depths")
	versions := map[string]string{}
	for _, tg := range rep.Targets {
		versions[tg.Name] = tg.Version
	}
	require.True(t, strings.HasPrefix(versions["redis"], "redis "), versions)
	require.True(t, strings.HasPrefix(versions["redcon"], "bench-redcon of dynkv "), versions)
	require.True(t, strings.HasPrefix(versions["dynkv-1"], "dynkv "), versions)
	require.True(t, strings.HasPrefix(versions["dynkv-1-memory"], "dynkv "), versions)
	cpu := map[string]float64{}
	for _, r := range rep.Results {
		cpu[r.Target] += r.Median.CPU
	}
	for _, target := range []string{"redis", "redcon", "dynkv-1", "dynkv-1-memory"} {
		// 20,000 requests and 200 connections cost any server more than
		// a clock tick (10 ms).
		require.Positive(t, cpu[target], "CPU per request of %s; table:\n%s", target, stdout.String())
	}
	require.Contains(t, stdout.String(), "cpu/req")
	require.Contains(t, stdout.String(), "dynkv-1 / redcon")
	require.Contains(t, stdout.String(), "dynkv-1-memory / redcon")
	require.Contains(t, stdout.String(), "durability default, --storage memory", "the target line names its engine")
}
