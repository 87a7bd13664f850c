package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTick is the unit of utime and stime in /proc/PID/stat: 1/USER_HZ
// seconds. USER_HZ is 100 on every Linux architecture Go supports, a
// constant of the kernel's ABI that sysconf(_SC_CLK_TCK) and getconf
// CLK_TCK only report; hardcoded rather than reached through cgo.
const clockTick = 10 * time.Millisecond

// procCPU returns the CPU time, user and system, that process pid has used
// so far, all its threads included (not its reaped children), from
// /proc/PID/stat: to the clock tick, 10 ms. It fails where there is no
// /proc.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStat(b)
}

// statUtime is the index of utime among the fields of /proc/PID/stat
// that follow the comm: field 14 of proc(5), whose field 3 (state) comes
// first after the comm. stime follows it.
const statUtime = 14 - 3

// parseStat returns utime + stime of a /proc/PID/stat line. The comm,
// field 2, is in parentheses and may hold spaces and parentheses itself:
// the fields start after its last ')'.
func parseStat(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("bench: /proc stat: no comm")
	}
	f := bytes.Fields(b[i+1:])
	if len(f) <= statUtime+1 {
		return 0, fmt.Errorf("bench: /proc stat: %d fields after the comm", len(f))
	}
	var ticks uint64
	for _, s := range f[statUtime : statUtime+2] {
		n, err := strconv.ParseUint(string(s), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: /proc stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// cpu returns the CPU time the target's processes have used so far, summed,
// and whether it could be read: not for an external target, nor where
// there is no /proc.
func (t *Target) cpu() (time.Duration, bool) {
	if len(t.procs) == 0 {
		return 0, false
	}
	var sum time.Duration
	for _, p := range t.procs {
		d, err := procCPU(p.Pid())
		if err != nil {
			return 0, false
		}
		sum += d
	}
	return sum, true
}

// cpuMeter measures the CPU a target's processes use during a run.
type cpuMeter struct {
	t     *Target
	start time.Duration
	ok    bool
}

// startCPU reads the target's CPU time before a run.
func startCPU(t *Target) cpuMeter {
	d, ok := t.cpu()
	return cpuMeter{t: t, start: d, ok: ok}
}

// perOp returns the server CPU used since startCPU per operation, in
// microseconds, for ops operations; 0 when not measured.
func (m cpuMeter) perOp(ops uint64) float64 {
	end, ok := m.t.cpu()
	if !m.ok || !ok || ops == 0 {
		return 0
	}
	return float64(end-m.start) / float64(time.Microsecond) / float64(ops)
}
