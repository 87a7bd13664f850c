package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"time"
)

// WriteSVG draws the latency distribution of every built-in case as a
// small-multiples SVG: one panel per case, one line per target, latency
// (log scale) by percentile (0, 90, 99, 99.9, 99.99, max on a log scale
// of 1/(1−q)), over every round's requests.
func (r *Report) WriteSVG(w io.Writer) error {
	var cases []string
	byCase := map[string][]*Result{}
	for _, res := range r.Results {
		if res.hist == nil || res.hist.Count() == 0 {
			continue
		}
		if byCase[res.Case] == nil {
			cases = append(cases, res.Case)
		}
		byCase[res.Case] = append(byCase[res.Case], res)
	}
	rows := (len(cases) + cols - 1) / cols
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n",
		cols*pw, max(rows, 1)*ph+20)
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(w, `<text x="10" y="14" font-size="12">latency by percentile (log-log), every request of every round</text>`+"\n")
	for i, c := range cases {
		svgPanel(w, (i%cols)*pw, (i/cols)*ph+20, c, byCase[c])
	}
	_, err := fmt.Fprintln(w, "</svg>")
	return err
}

// Layout of the plot.
const (
	pw, ph   = 420, 240 // panel
	ml, mt   = 60, 30   // margins inside a panel
	plotW    = pw - ml - 20
	plotH    = ph - mt - 40
	cols     = 2
	maxNines = 4
)

var svgColors = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"}

// svgPanel draws the panel of case c at (x0, y0).
func svgPanel(w io.Writer, x0, y0 int, c string, results []*Result) {
	lo, hi := math.Inf(1), 0.0
	for _, res := range results {
		lo = math.Min(lo, math.Max(float64(res.hist.Quantile(0)), 1e3))
		hi = math.Max(hi, float64(res.hist.Max()))
	}
	lo, hi = math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(math.Max(hi, lo*10))))
	ys := func(v float64) float64 {
		v = math.Max(v, lo)
		return float64(y0+mt+plotH) - (math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))*plotH
	}
	xs := func(nines float64) float64 { return float64(x0+ml) + nines/(maxNines+0.5)*plotW }
	fmt.Fprintf(w, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", x0+ml, y0+18, html.EscapeString(c))
	fmt.Fprintf(w, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", x0+ml, y0+mt, plotW, plotH)
	for k, label := range []string{"0", "90", "99", "99.9", "99.99"} {
		x := xs(float64(k))
		fmt.Fprintf(w, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/><text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n",
			x, y0+mt, x, y0+mt+plotH, x, y0+mt+plotH+14, label)
	}
	fmt.Fprintf(w, `<text x="%.1f" y="%d" text-anchor="middle">max</text>`+"\n", xs(maxNines+0.5), y0+mt+plotH+14)
	for v := lo; v <= hi*1.001; v *= 10 {
		y := ys(v)
		fmt.Fprintf(w, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
			x0+ml, y, x0+ml+plotW, y, x0+ml-4, y+4, fmtDur(time.Duration(v)))
	}
	for j, res := range results {
		color := svgColors[j%len(svgColors)]
		fmt.Fprintf(w, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="`, color)
		for _, p := range res.hist.Distribution(maxNines, 8) {
			nines := maxNines + 0.5
			if p.Fraction < 1 {
				nines = -math.Log10(1 - p.Fraction)
			}
			fmt.Fprintf(w, "%.1f,%.1f ", xs(nines), ys(float64(p.Value)))
		}
		fmt.Fprintf(w, `"/>`+"\n")
		fmt.Fprintf(w, `<text x="%d" y="%d" fill="%s">%s</text>`+"\n", x0+ml+6, y0+mt+14+12*j, color, html.EscapeString(res.Target))
	}
}
