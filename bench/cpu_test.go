package bench

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       time.Duration
	}{
		{"plain", "30988 (cat) R 30945 30945 27892 0 -1 4194304 103 0 0 0 7 3 0 0 20 0 1 0 1856732 3133440 407\n", 100 * time.Millisecond},
		{"comm with spaces and parens", "42 (a) b (c) S 1 42 42 0 -1 4194560 7869 0 2 0 120 35 9 9 20 0 9 0 1840624 5251072 951",
			1550 * time.Millisecond},
		{"large", "7 (redis-server) S 1 7 7 0 -1 0 0 0 0 0 360000 4200 0 0 20 0 4 0 1 1 1", 3642 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStat([]byte(tc.line))
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	for _, tc := range []struct{ name, line string }{
		{"no comm", "30988 cat R 1 2 3"},
		{"short", "30988 (cat) R 30945 30945 27892 0 -1 4194304 103 0 0 0 7"},
		{"not a number", "30988 (cat) R 30945 30945 27892 0 -1 4194304 103 0 0 0 x 3 0 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseStat([]byte(tc.line))
			require.Error(t, err)
		})
	}
}

// TestProcCPU_BusyChildGains: a child spinning in a shell loop shows CPU
// time in /proc, growing.
func TestProcCPU_BusyChildGains(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/PID/stat is Linux's")
	}
	cmd := exec.CommandContext(t.Context(), "sh", "-c", "while :; do :; done")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	first, err := procCPU(cmd.Process.Pid)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		d, err := procCPU(cmd.Process.Pid)
		return err == nil && d >= first+3*clockTick
	}, 30*time.Second, 10*time.Millisecond, "a busy child gains CPU time")
	_, err = procCPU(os.Getpid())
	require.NoError(t, err, "and this process has a stat too")
}
