package bench

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// fmtDur renders a latency for a table: 123µs, 1.23ms, 1.2s; "-" for 0
// (not measured).
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// fmtCPU renders server CPU per request, microseconds: 12.3µs; "-" for 0
// (not measured).
func fmtCPU(us float64) string {
	if us <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fµs", us)
}

// WriteTable writes the results as a table: one block per case, one line
// per target, medians over the rounds, the ratio of throughputs to the
// reference, the server CPU per request; then a line per failed result.
// Open-loop cases have a fixed throughput: their ratio is "-", their
// latencies are the point.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "dynkv bench: %d round(s), medians; %d cores %s/%s, %s, %s, load average at start %s; ratio = throughput / %s\n",
		r.Rounds, r.Machine.Cores, r.Machine.OS, r.Machine.Arch, r.Machine.CPU, r.Machine.Go, r.Machine.LoadAvg, refName(r.Reference))
	for _, t := range r.Targets {
		fmt.Fprintf(w, "  %s (%s)\n", t.Spec, t.Version)
	}
	// Text columns left-aligned by padding, figures right-aligned.
	cw, tw0 := len("case"), len("target")
	for _, res := range r.Results {
		cw, tw0 = max(cw, len(res.Case)), max(tw0, len(res.Target))
	}
	pad := func(s string, n int) string { return s + strings.Repeat(" ", n-len(s)) }
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\t%s\treq/s\tratio\tcpu/req\tp50\tp99\tp99.9\tmax\terrors\t\n", pad("case", cw), pad("target", tw0))
	last := ""
	for _, res := range r.Results {
		c := caseOf(res)
		if c != last && last != "" {
			fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t\t\t") // empty cells: one column block
		}
		last = c
		m := res.Median
		ratio := "-"
		if res.Ratio > 0 {
			ratio = fmt.Sprintf("%.2fx", res.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", pad(res.Case, cw), pad(res.Target, tw0), m.Throughput, ratio,
			fmtCPU(m.CPU), fmtDur(m.P50), fmtDur(m.P99), fmtDur(m.P999), fmtDur(m.Max), m.Errors)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, res := range r.Results {
		if len(res.Versions) > 0 {
			fmt.Fprintf(w, "versions per DGET, %s on %s: %s\n", res.Case, res.Target, versionsLine(res.Versions))
		}
	}
	for _, res := range r.Failed() {
		fmt.Fprintf(w, "FAILED: %s on %s: %d of %d requests failed, first: %s\n", res.Case, res.Target,
			res.Median.Errors, res.Median.Errors+res.Median.Requests, res.Median.FirstError)
	}
	if r.Dir != "" {
		fmt.Fprintf(w, "results in %s\n", r.Dir)
	}
	return nil
}

func refName(s string) string {
	if s == "" {
		return "(no reference)"
	}
	return s
}

// Write writes the report to dir (created): report.json (everything,
// per round), results.csv (a line per result and round, and one of the
// medians), table.txt and latency.svg.
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r.Dir = dir
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, "results.csv"), r.writeCSV); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, "table.txt"), r.WriteTable); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, "latency.svg"), r.WriteSVG)
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func (r *Report) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"target", "case", "tool", "workload", "value_bytes", "keys", "clients", "pipeline", "rate",
		"round", "throughput", "ratio", "cpu_us_per_req", "p50_us", "p99_us", "p999_us", "max_us", "requests", "errors", "first_error"})
	us := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e3, 'f', 1, 64) }
	for _, res := range r.Results {
		line := func(round string, m RunResult, ratio float64) {
			tool := res.Tool
			if tool == "" {
				tool = "builtin"
			}
			_ = cw.Write([]string{res.Target, res.Case, tool, res.Workload, strconv.Itoa(res.Value), strconv.Itoa(res.Keys),
				strconv.Itoa(res.Clients), strconv.Itoa(res.Pipeline), strconv.Itoa(res.Rate), round,
				strconv.FormatFloat(m.Throughput, 'f', 1, 64), strconv.FormatFloat(ratio, 'f', 3, 64),
				strconv.FormatFloat(m.CPU, 'f', 2, 64), us(m.P50), us(m.P99), us(m.P999), us(m.Max),
				strconv.FormatUint(m.Requests, 10), strconv.FormatUint(m.Errors, 10), m.FirstError})
		}
		for i, rr := range res.Rounds {
			line(strconv.Itoa(i+1), rr, 0)
		}
		line("median", res.Median, res.Ratio)
	}
	cw.Flush()
	return cw.Error()
}
