package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dynkv/dynkv/resp"
	"github.com/dynkv/dynkv/resp/resptest"
)

func TestMatrix_Cases(t *testing.T) {
	m := QuickMatrix()
	var names []string
	for _, c := range m.Cases() {
		names = append(names, c.Name)
		require.NoError(t, c.Load.Validate(), c.Name)
	}
	require.Equal(t, []string{
		"set 100B c50 p1", "set 100B c50 p16", "get 100B c50 p1", "get 100B c50 p16",
		"mixed 100B c50 p1", "zipf 100B c50 p1", "cart 10 carts c50", "mixed 100B open 500/s",
		"redis-benchmark set,get 100B c50 p1", "redis-benchmark set,get 100B c50 p16",
	}, names)
	full := FullMatrix().Cases()
	require.Contains(t, caseNames(full), "get 10KB c50 p1")
	require.NotContains(t, caseNames(full), "get 10KB c50 p16")
	for _, c := range full {
		require.LessOrEqual(t, c.Load.Keys*c.Load.Value, maxSpaceBytes+c.Load.Value, c.Name)
	}
}

func caseNames(cs []Case) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func TestMedian(t *testing.T) {
	m := median([]RunResult{{Throughput: 3, P99: 5, Errors: 1, CPU: 7}, {Throughput: 1, P99: 1, CPU: 9}, {Throughput: 2, P99: 9, Errors: 2, CPU: 8}})
	require.Equal(t, 2.0, m.Throughput)
	require.Equal(t, 8.0, m.CPU)
	require.Equal(t, time.Duration(5), m.P99)
	require.EqualValues(t, 3, m.Errors, "errors are summed, never a median")
	require.Equal(t, 1.5, median([]RunResult{{Throughput: 1}, {Throughput: 2}}).Throughput)
}

func TestParseRedisBenchmark(t *testing.T) {
	out := `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"SET","42553.19","0.167","0.048","0.119","0.335","1.407","2.359"
"GET","inf","0.185","0.056","0.111","0.375","0.991","4.735"
`
	got, err := parseRedisBenchmark([]byte(out))
	require.NoError(t, err)
	require.InDelta(t, 42553.19, got["set"].Throughput, 0.01)
	require.Equal(t, 1407*time.Microsecond, got["set"].P99)
	require.Zero(t, got["get"].Throughput, "too fast to time is no figure")
	_, err = parseRedisBenchmark([]byte("garbage"))
	require.Error(t, err)
}

// TestRun_TwoExternalTargets runs the whole harness against two running
// servers, one the reference, and checks the files it writes.
func TestRun_TwoExternalTargets(t *testing.T) {
	a, b := resptest.Start(t, resp.DefaultConfig()), resptest.Start(t, resp.DefaultConfig())
	m := QuickMatrix()
	m.Requests, m.Keys, m.Clients, m.RedisBenchmark = 100, 100, 10, false
	out := t.TempDir()
	var progress bytes.Buffer
	rep, err := Run(context.Background(), Config{
		Targets: []TargetSpec{
			{Name: "a", Kind: KindExternal, Addrs: []string{a.Addr}},
			{Name: "b", Kind: KindExternal, Addrs: []string{b.Addr}},
		},
		Reference: "b", Cases: m.Cases(), Rounds: 2, Out: out, Progress: &progress,
	})
	require.NoError(t, err)
	require.Len(t, rep.Results, 2*len(m.Cases()))
	for _, r := range rep.Results {
		require.Len(t, r.Rounds, 2)
		if r.Target == "b" && r.Rate == 0 {
			require.InDelta(t, 1.0, r.Ratio, 1e-9)
		}
	}
	var table bytes.Buffer
	require.NoError(t, rep.WriteTable(&table))
	require.Contains(t, table.String(), "1.00x")
	require.Contains(t, table.String(), "versions per DGET")
	require.Contains(t, progress.String(), "[1/")

	f, err := os.Open(filepath.Join(out, "results.csv"))
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 1+len(rep.Results)*3, "a header, then per result two rounds and the median")
	require.Contains(t, rows[0], "cpu_us_per_req")
	require.Contains(t, table.String(), "cpu/req")
	for _, r := range rep.Results {
		require.Zero(t, r.Median.CPU, "no CPU of servers the bench did not start")
	}
	svg, err := os.ReadFile(filepath.Join(out, "latency.svg"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(svg), "<svg"))
	require.Contains(t, string(svg), "cart 2 carts c10")
}

func TestSingleNodeMatrix_Cases(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  ScenarioConfig
		n    int
	}{
		{"full", ScenarioConfig{}, 200000},
		{"quick", ScenarioConfig{Quick: true}, 50000},
		{"count", ScenarioConfig{Count: 300}, 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := singleNodeMatrix(tc.cfg).Cases()
			require.Equal(t, []string{"redis-benchmark set,get 100B c50 p1", "redis-benchmark set,get 100B c50 p16"}, caseNames(cs))
			for _, c := range cs {
				require.NoError(t, c.Load.Validate(), c.Name)
				require.Equal(t, ToolRedisBenchmark, c.Tool)
				require.Equal(t, tc.n, c.Load.Requests)
				require.Equal(t, 100000, c.Load.Keys)
			}
		})
	}
}
