package report

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/swarmmq/swarmmq/perf"
)

// Plot geometry, in SVG user units.
const (
	panelW, panelH = 470, 320
	marginL        = 70
	marginR        = 20
	marginT        = 40
	marginB        = 50
	legendH        = 56
)

// colors of the systems; dashes tell p50 from p99.
var colors = map[string]string{Swarm: "#1f6fb4", Nats: "#e8730c"}

// panelKey is one panel of the plot.
type panelKey struct{ workload, fsync string }

// WriteSVG draws the curves: one panel per workload and durability, with
// latency (p50 solid, p99 dashed; log scale) against achieved throughput
// (log scale), both systems in each panel.
func WriteSVG(w io.Writer, curves []Curve) error {
	var panels []panelKey
	for _, c := range curves {
		k := panelKey{c.Workload, c.Fsync}
		if !slices.Contains(panels, k) {
			panels = append(panels, k)
		}
	}
	cols := 2
	rows := (len(panels) + cols - 1) / cols
	width, height := cols*panelW, rows*panelH+legendH
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	legend(&b)
	for i, k := range panels {
		x0, y0 := float64((i%cols)*panelW), float64(legendH+(i/cols)*panelH)
		var in []Curve
		for _, c := range curves {
			if c.Workload == k.workload && c.Fsync == k.fsync {
				in = append(in, c)
			}
		}
		panel(&b, x0, y0, k, in)
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func legend(b *strings.Builder) {
	fmt.Fprintf(b, `<text x="10" y="20" font-size="14" font-weight="bold">Latency vs achieved throughput, open loop (latency from the intended send time)</text>`+"\n")
	x := 10.0
	for _, sys := range []string{Swarm, Nats} {
		for _, dash := range []bool{false, true} {
			label := map[string]string{Swarm: "SwarmMQ", Nats: "NATS JetStream"}[sys]
			q := "p50"
			if dash {
				q = "p99"
			}
			fmt.Fprintf(b, `<line x1="%.0f" y1="40" x2="%.0f" y2="40" stroke="%s" stroke-width="2"%s/>`, x, x+30, colors[sys], dashAttr(dash))
			fmt.Fprintf(b, `<text x="%.0f" y="44">%s %s</text>`+"\n", x+36, label, q)
			x += 185
		}
	}
}

func dashAttr(dash bool) string {
	if dash {
		return ` stroke-dasharray="6,4"`
	}
	return ""
}

// logRange returns decade-aligned bounds around the positive values.
func logRange(vals []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if v > 0 {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if math.IsInf(lo, 1) {
		return 1, 10
	}
	lo = math.Pow(10, math.Floor(math.Log10(lo)))
	hi = math.Pow(10, math.Ceil(math.Log10(hi)))
	if hi <= lo {
		hi = lo * 10
	}
	return lo, hi
}

func panel(b *strings.Builder, x0, y0 float64, k panelKey, curves []Curve) {
	var xs, ys []float64
	what := ""
	for _, c := range curves {
		what = c.What
		for _, p := range c.Points {
			xs = append(xs, p.Achieved)
			ys = append(ys, p.P50, p.P99)
		}
	}
	xlo, xhi := logRange(xs)
	ylo, yhi := logRange(ys)
	pl, pt := x0+marginL, y0+marginT
	pw, ph := float64(panelW-marginL-marginR), float64(panelH-marginT-marginB)
	px := func(v float64) float64 { return pl + pw*math.Log10(v/xlo)/math.Log10(xhi/xlo) }
	py := func(v float64) float64 { return pt + ph - ph*math.Log10(v/ylo)/math.Log10(yhi/ylo) }
	title := fmt.Sprintf("%s — %s", k.workload, durabilityShort(k.fsync))
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-weight="bold">%s</text>`+"\n", pl, pt-12, esc(title))
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#888"/>`+"\n", pl, pt, pw, ph)
	for _, t := range logTicks(xlo, xhi) {
		x := px(t.v)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`, x, pt, x, pt+ph)
		if t.label && (t.decade || pw/math.Log10(xhi/xlo) > 110) { // room for the 5× labels?
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x, pt+ph+16, compact(t.v))
		}
	}
	for _, t := range logTicks(ylo, yhi) {
		y := py(t.v)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`, pl, y, pl+pw, y)
		if t.label && (t.decade || ph/math.Log10(yhi/ylo) > 40) {
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", pl-6, y+4, micros(t.v))
		}
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">achieved msgs/s</text>`+"\n", pl+pw/2, pt+ph+36)
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" transform="rotate(-90 %.1f %.1f)">%s latency</text>`+"\n",
		x0+16, pt+ph/2, x0+16, pt+ph/2, esc(what))
	for _, c := range curves {
		for _, dash := range []bool{false, true} {
			var pts []string
			for _, p := range c.Points {
				v := p.P50
				if dash {
					v = p.P99
				}
				if p.Achieved > 0 && v > 0 {
					pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(p.Achieved), py(v)))
				}
			}
			if len(pts) == 0 {
				continue
			}
			fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`+"\n", colors[c.System], dashAttr(dash), strings.Join(pts, " "))
			for _, pt := range pts {
				xy := strings.Split(pt, ",")
				fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="2.5" fill="%s"/>`, xy[0], xy[1], colors[c.System])
			}
			b.WriteString("\n")
		}
	}
}

// tick is a grid line; labelled ones may get a number (decades first).
type tick struct {
	v      float64
	label  bool
	decade bool
}

// logTicks returns 1, 2, 5 × 10^k ticks in [lo, hi], labelling 1 and 5 ×.
func logTicks(lo, hi float64) []tick {
	var ts []tick
	for d := lo; d <= hi*1.0001; d *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if v := d * m; v <= hi*1.0001 {
				ts = append(ts, tick{v, m != 2, m == 1})
			}
		}
	}
	return ts
}

// compact formats a rate for an axis: 500, 1k, 50k, 2M.
func compact(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%gk", v/1e3)
	}
	return fmt.Sprintf("%g", v)
}

// micros formats microseconds: 50 µs, 1 ms, 2.5 s.
func micros(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%g s", us/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%g ms", us/1e3)
	}
	return fmt.Sprintf("%g µs", us)
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// durabilityShort names a durability for titles.
func durabilityShort(fsync string) string {
	if fsync == perf.FsyncAlways {
		return "ack after fsync"
	}
	return "periodic sync"
}
