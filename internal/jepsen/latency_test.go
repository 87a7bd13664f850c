package jepsen

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMeasureLatency: a latency client's request counts for a fault kind's latency
// when it overlapped a fault of the kind and went to a node outside its
// minority, for its throughput when it also started during the fault, and
// as calm otherwise; throughput is per second of the kind's faults, or of
// the calm stretches.
func TestMeasureLatency(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	faults := []FaultRecord{
		{Fault: Fault{Kind: Pause}, Start: at(10_000), End: at(20_000), Minority: []string{"n1"}},
		{Fault: Fault{Kind: Isolate}, Start: at(30_000), End: at(35_000), Minority: []string{"n2"}},
	}
	samples := []LatencySample{
		{Node: "n2", Op: "GET", Start: at(11_000), End: at(11_010), OK: true}, // pause
		{Node: "n1", Start: at(12_000), End: at(13_000), OK: false},           // the paused node: not counted
		{Node: "n3", Op: "SET", Start: at(9_990), End: at(10_050), OK: true},  // overlaps the pause, started before it
		{Node: "n3", Start: at(1_000), End: at(1_002), OK: true},              // calm
		{Node: "n3", Start: at(2_000), End: at(2_004), OK: false},             // calm, failed
		{Node: "n3", Start: at(31_000), End: at(31_001), OK: true},            // isolate
	}
	by, calm := measureLatency(samples, faults, t0, at(40_000))

	pause := by[Pause]
	require.Equal(t, 2, pause.Requests)
	require.Equal(t, 2, pause.OK)
	require.Equal(t, 1, pause.Started)
	require.Equal(t, 10.0, pause.Seconds)
	require.InDelta(t, 0.1, pause.Throughput(), 1e-9)
	require.Equal(t, 10*time.Millisecond, pause.P50)
	require.Equal(t, 60*time.Millisecond, pause.P999)
	require.Equal(t, 60*time.Millisecond, pause.Max)

	require.Equal(t, Latency{Requests: 1, OK: 1, Started: 1, Seconds: 5, P50: time.Millisecond, P99: time.Millisecond,
		P999: time.Millisecond, Max: time.Millisecond}, *by[Isolate])

	require.Equal(t, 2, calm.Requests)
	require.Equal(t, 1, calm.OK)
	require.Equal(t, 2, calm.Started, "the calm success and the one started before the pause")
	require.Equal(t, 25.0, calm.Seconds)
	require.Equal(t, 2*time.Millisecond, calm.P50)
	require.Equal(t, 4*time.Millisecond, calm.P999)

	slow := slowestLatency(samples, faults, 2)
	require.Equal(t, []LatencySample{samples[2], samples[0]}, slow, "slowest first, the paused node's request left out")

	var out bytes.Buffer
	rep := &Report{Config: Config{LatencyClients: 3}, Healthy: by, HealthyCalm: calm, HealthySlowest: slow}
	rep.printLatency(&out)
	require.Contains(t, out.String(), "pause")
	require.Contains(t, out.String(), "125%", "pause: 0.1 req/s against 0.08 calm")
	require.Contains(t, out.String(), "slow: 60ms SET to n3")
}

// TestPercentiles: the nearest-rank percentiles of 1000 samples of 1..1000 ms.
func TestPercentiles(t *testing.T) {
	ds := make([]time.Duration, 1000)
	for i := range ds {
		ds[len(ds)-1-i] = time.Duration(i+1) * time.Millisecond
	}
	var l Latency
	l.percentiles(ds)
	require.Equal(t, 500*time.Millisecond, l.P50)
	require.Equal(t, 990*time.Millisecond, l.P99)
	require.Equal(t, 999*time.Millisecond, l.P999)
	require.Equal(t, 1000*time.Millisecond, l.Max)
}
