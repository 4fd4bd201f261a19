package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"time"
)

// Series is one latency distribution to draw.
type Series struct {
	Name string
	Hist *Histogram
}

// Chart names what a chart shows: its title, the quantity on the y axis
// (in milliseconds) and what was counted (the samples).
type Chart struct {
	Title string
	Value string // e.g. "publish → receive latency"
	Items string // e.g. "deliveries"
}

// chart geometry, in SVG user units.
const (
	svgW, svgH               = 760, 420
	svgLeft, svgRight        = 70, 20
	svgTop, svgBottom        = 48, 110
	svgMaxNines              = 4.0 // the x axis ends at the 99.99th percentile
	svgStep                  = 0.02
	svgPlotW, svgPlotH       = svgW - svgLeft - svgRight, svgH - svgTop - svgBottom
	svgLegendLine, svgLegend = 18, svgTop + svgPlotH + 60
)

var svgColors = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"}

// WriteSVG draws the percentile spectrum of each series: the value (y, in
// milliseconds) against the share of samples at or below it (x, spread by
// nines: 0, 90, 99, 99.9, 99.99 %), the usual way to show a tail. The legend
// gives each series' p50, p99, p99.9 and exact maximum.
func WriteSVG(w io.Writer, c Chart, series []Series) error {
	var top time.Duration
	for _, s := range series {
		top = max(top, s.Hist.Quantile(1-math.Pow(10, -svgMaxNines)))
	}
	yMax, yTick := niceScale(float64(top) / float64(time.Millisecond))
	x := func(nines float64) float64 { return svgLeft + nines/svgMaxNines*svgPlotW }
	y := func(ms float64) float64 { return svgTop + svgPlotH - min(ms/yMax, 1.02)*svgPlotH }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", svgW, svgH, svgW, svgH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", svgW, svgH)
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", svgLeft, html.EscapeString(c.Title))
	for v := 0.0; v <= yMax+yTick/2; v += yTick {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", svgLeft, svgLeft+svgPlotW, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", svgLeft-6, y(v)+4, trimFloat(v))
	}
	for _, t := range []struct {
		nines float64
		label string
	}{{0, "0%"}, {math.Log10(2), "50%"}, {1, "90%"}, {2, "99%"}, {3, "99.9%"}, {4, "99.99%"}} {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#ddd"/>`+"\n", x(t.nines), x(t.nines), svgTop, svgTop+svgPlotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x(t.nines), svgTop+svgPlotH+16, t.label)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">share of %s at or below the value</text>`+"\n", svgLeft+svgPlotW/2, svgTop+svgPlotH+34, html.EscapeString(c.Items))
	fmt.Fprintf(&b, `<text transform="translate(18 %d) rotate(-90)" text-anchor="middle">%s, ms</text>`+"\n", svgTop+svgPlotH/2, html.EscapeString(c.Value))
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444"/>`+"\n", svgLeft, svgTop, svgPlotW, svgPlotH)
	for i, s := range series {
		color := svgColors[i%len(svgColors)]
		if s.Hist.Count() > 0 {
			var pts strings.Builder
			for n := 0.0; n <= svgMaxNines+1e-9; n += svgStep {
				ms := float64(s.Hist.Quantile(1-math.Pow(10, -n))) / float64(time.Millisecond)
				fmt.Fprintf(&pts, "%.1f,%.1f ", x(n), y(ms))
			}
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", color, strings.TrimSpace(pts.String()))
		}
		ly := svgLegend + i*svgLegendLine
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", svgLeft, svgLeft+24, ly-4, ly-4, color)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s: p50 %s, p99 %s, p99.9 %s, max %s ms (%d %s)</text>`+"\n", svgLeft+32, ly,
			html.EscapeString(s.Name), msString(s.Hist.Quantile(0.5)), msString(s.Hist.Quantile(0.99)),
			msString(s.Hist.Quantile(0.999)), msString(s.Hist.Max()), s.Hist.Count(), html.EscapeString(c.Items))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("write svg: %w", err)
	}
	return nil
}

// niceScale returns an axis top at or above v and a tick step of 1, 2 or 5
// times a power of ten that gives four to ten ticks.
func niceScale(v float64) (top, step float64) {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1, 0.2
	}
	raw := v / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / mag; {
	case f <= 1:
		step = mag
	case f <= 2:
		step = 2 * mag
	case f <= 5:
		step = 5 * mag
	default:
		step = 10 * mag
	}
	return math.Ceil(v/step) * step, step
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
