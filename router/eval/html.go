package eval

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/switchyard-router/switchyard/web"
)

// The view the report template draws: every coordinate is computed here,
// so the template only places elements.
type htmlView struct {
	Title, Generated string
	Summary          []nameValue
	Classes          []classRow
	Matrix           matrixView
	Histograms       []histView
	Misrouted        []Miss
}

type nameValue struct{ Name, Value string }

type classRow struct {
	Name     string
	P, R, F1 float64
	Support  int
}

type label struct {
	X, Y int
	Text string
}

type cell struct {
	X, Y, W, H, TX, TY int
	Fill, Count, Title string
	Dark               bool
}

type matrixView struct {
	Width, Height        int
	Cells                []cell
	RowLabels, ColLabels []label
}

type bar struct {
	X, Y, W, H int
	Title      string
}

type axisTick struct {
	X    int
	Text string
}

type histView struct {
	Route           string
	Threshold       float64
	Width, Height   int
	Base, AxisY, TX int
	Pos, Neg        []bar
	Axis            []axisTick
}

// Histogram geometry: scores in [histLo, histHi] in histBins bins.
const (
	histLo, histHi = 0.0, 1.0
	histBins       = 25
	histW, histH   = 330, 130
	cellSize       = 46
	labelPad       = 110
)

// WriteHTML writes rep as a self-contained HTML page: summary, per-class
// table, confusion heat map, a score histogram per indexed route with its
// threshold, and the misrouted examples.
func WriteHTML(w io.Writer, rep Report, title string, now time.Time) error {
	tmpl, err := web.ReportTemplate()
	if err != nil {
		return fmt.Errorf("eval: report template: %w", err)
	}
	v := htmlView{
		Title:     title,
		Generated: "generated " + now.UTC().Format(time.RFC3339),
		Summary: []nameValue{
			{"examples", fmt.Sprint(rep.N)},
			{"accuracy", pct(rep.Accuracy)},
			{"macro-F1", fmt.Sprintf("%.3f", rep.MacroF1)},
			{"coverage (not defaulted)", pct(rep.Coverage)},
			{"out of scope P / R / F1", fmt.Sprintf("%.3f / %.3f / %.3f (support %d)", rep.OOS.Precision, rep.OOS.Recall, rep.OOS.F1, rep.OOS.Support)},
			{"decision latency p50 / p99", fmt.Sprintf("%.2f / %.2f ms (%d timed)", rep.Latency.P50, rep.Latency.P99, rep.Latency.N)},
			{"default route", rep.DefaultRoute},
		},
		Matrix:    matrix(rep.Confusion),
		Misrouted: rep.Misrouted,
	}
	if j := rep.Judge; j != nil {
		v.Summary = append(v.Summary, nameValue{"LLM judge", fmt.Sprintf("reached by %s (%d), %d used, %d errors; p50 %.1f ms per call; %+.2f ms on the decision p50, %+.2f ms per decision on average",
			pct(j.Share), j.Calls, j.Used, j.Errors, j.P50MS, j.AddedP50MS, j.AddedMeanMS)})
	}
	for _, c := range rep.Confusion.Labels {
		if p, ok := rep.PerRoute[c]; ok {
			v.Classes = append(v.Classes, classRow{c, p.Precision, p.Recall, p.F1, p.Support})
		}
	}
	for _, r := range rep.Routes {
		v.Histograms = append(v.Histograms, histogram(rep.Outcomes, r))
	}
	if err := tmpl.Execute(w, v); err != nil {
		return fmt.Errorf("eval: render report: %w", err)
	}
	return nil
}

func pct(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }

func matrix(c Confusion) matrixView {
	n := len(c.Labels)
	m := matrixView{Width: labelPad + n*cellSize + 10, Height: labelPad + n*cellSize + 10}
	for i, l := range c.Labels {
		m.RowLabels = append(m.RowLabels, label{labelPad - 6, labelPad + i*cellSize + cellSize/2, l})
		m.ColLabels = append(m.ColLabels, label{labelPad + i*cellSize + cellSize/3, labelPad - 6, l})
	}
	for i, row := range c.Counts {
		var total int
		for _, k := range row {
			total += k
		}
		for j, k := range row {
			share := 0.0
			if total > 0 {
				share = float64(k) / float64(total)
			}
			x, y := labelPad+j*cellSize, labelPad+i*cellSize
			hue := 212 // blue on the diagonal, red off it
			if i != j {
				hue = 4
			}
			m.Cells = append(m.Cells, cell{
				X: x, Y: y, W: cellSize, H: cellSize, TX: x + cellSize/2, TY: y + cellSize/2,
				Fill:  fmt.Sprintf("hsl(%d,70%%,%d%%)", hue, 97-int(math.Round(55*share))),
				Count: fmt.Sprint(k),
				Title: fmt.Sprintf("expected %s, predicted %s: %d (%.0f%% of the row)", c.Labels[i], c.Labels[j], k, 100*share),
				Dark:  share > 0.55,
			})
		}
	}
	return m
}

func histogram(outcomes []Outcome, r RouteInfo) histView {
	var pos, neg [histBins]int
	for _, o := range outcomes {
		s, ok := o.scoreOf(r.Name)
		if !ok {
			continue
		}
		b := int((s - histLo) / (histHi - histLo) * histBins)
		b = min(max(b, 0), histBins-1)
		if o.Label == r.Name {
			pos[b]++
		} else {
			neg[b]++
		}
	}
	h := histView{Route: r.Name, Threshold: r.Threshold, Width: histW, Height: histH, Base: histH - 16, AxisY: histH - 3}
	x := func(s float64) int { return int(math.Round((s - histLo) / (histHi - histLo) * histW)) }
	h.TX = min(max(x(r.Threshold), 1), histW-1)
	bw := histW / histBins
	bars := func(counts [histBins]int, who string) []bar {
		peak := 0
		for _, k := range counts {
			peak = max(peak, k)
		}
		var out []bar
		for b, k := range counts {
			if k == 0 {
				continue
			}
			ht := int(math.Round(float64(k) / float64(peak) * float64(h.Base-4)))
			lo := histLo + float64(b)*(histHi-histLo)/histBins
			out = append(out, bar{X: b * bw, Y: h.Base - ht, W: bw - 1, H: ht,
				Title: fmt.Sprintf("%s: %d with score %.2f–%.2f", who, k, lo, lo+(histHi-histLo)/histBins)})
		}
		return out
	}
	h.Pos = bars(pos, "labelled "+r.Name)
	h.Neg = bars(neg, "labelled otherwise")
	for _, t := range []float64{0, 0.25, 0.5, 0.75, 1} {
		h.Axis = append(h.Axis, axisTick{min(max(x(t), 8), histW-10), fmt.Sprintf("%.2f", t)})
	}
	return h
}
