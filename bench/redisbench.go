package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// redisBenchmark runs redis-benchmark -t test (set or get) against addr
// with the case's key space, value size, clients and pipeline depth, and
// returns its result. redis-benchmark reports neither p99.9 nor errors:
// those stay 0, and the built-in cases cover them.
func redisBenchmark(ctx context.Context, addr string, c Case, test string) (RunResult, error) {
	bin, err := exec.LookPath("redis-benchmark")
	if err != nil {
		return RunResult{}, fmt.Errorf("%w: redis-benchmark", ErrNoTool)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return RunResult{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	args := []string{"-h", host, "-p", port, "-t", test, "-n", strconv.Itoa(c.Load.Requests),
		"-r", strconv.Itoa(c.Load.Keys), "-d", strconv.Itoa(c.Load.Value), "-c", strconv.Itoa(c.Load.Clients),
		"-P", strconv.Itoa(c.Load.Pipeline), "--csv"}
	start := time.Now()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		// redis-benchmark stops at the first error reply and says why
		// on either stream.
		why := lastLine(stderr.Bytes())
		if why == "" {
			why = lastLine(out)
		}
		return RunResult{}, fmt.Errorf("redis-benchmark %s: %w: %s", strings.Join(args, " "), err, why)
	}
	res, err := parseRedisBenchmark(out)
	if err != nil {
		return RunResult{}, err
	}
	r, ok := res[test]
	if !ok {
		return RunResult{}, fmt.Errorf("redis-benchmark output: no %s result in %q", test, out)
	}
	r.elapsed = time.Since(start)
	return r, nil
}

// parseRedisBenchmark reads redis-benchmark's --csv output:
// "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms".
func parseRedisBenchmark(out []byte) (map[string]RunResult, error) {
	recs, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("redis-benchmark output: %w", err)
	}
	res := map[string]RunResult{}
	for _, r := range recs {
		if len(r) < 8 || r[0] == "test" {
			continue
		}
		f := make([]float64, 8)
		for i := 1; i < 8; i++ {
			if f[i], err = strconv.ParseFloat(r[i], 64); err != nil {
				return nil, fmt.Errorf("redis-benchmark output: %q: %w", r, err)
			}
		}
		ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
		if math.IsInf(f[1], 0) || math.IsNaN(f[1]) {
			f[1] = 0 // too few requests to time: redis-benchmark divides by zero
		}
		res[strings.ToLower(r[0])] = RunResult{Throughput: f[1], P50: ms(f[4]), P99: ms(f[6]), Max: ms(f[7])}
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("redis-benchmark output: no results in %q", out)
	}
	return res, nil
}

// lastLine returns the last non-empty line of b, at most 200 bytes of it,
// without carriage-return progress.
func lastLine(b []byte) string {
	var last string
	for _, l := range strings.FieldsFunc(string(b), func(r rune) bool { return r == '\n' || r == '\r' }) {
		if l = strings.TrimSpace(l); l != "" {
			last = l
		}
	}
	if len(last) > 200 {
		last = last[:200]
	}
	return last
}
