// Package plot draws lrkit's charts: line charts and heat maps as SVG or
// PNG images (rendered with gonum/plot), and text charts and sparklines for
// a plain terminal.
//
// The data model is deliberately small: a chart is a set of named Series,
// each a list of (x, y) points. Image charts take a Chart (title, axis
// labels, size, log scale); terminal charts take only a size in character
// cells. Every function checks its input and returns an error naming the
// series and point that is wrong (a NaN, an infinity, mismatched lengths)
// rather than drawing garbage.
package plot

import (
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"path/filepath"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Series is one named curve: the points (X[i], Y[i]). X and Y must have the
// same length; the points are drawn in order.
type Series struct {
	Name string
	X, Y []float64
}

// Image sizes when a Chart leaves Width or Height at zero, in pixels.
const (
	DefaultWidth  = 900
	DefaultHeight = 560
)

// dpi is the resolution of PNG output: a chart of Width pixels is
// Width*72/dpi points wide in SVG, so both formats have the same layout.
const dpi = 96

// Chart holds the decorations and size of an image chart.
type Chart struct {
	Title  string
	XLabel string
	YLabel string
	// LogY draws the y axis on a log scale; every y value must then be
	// positive.
	LogY bool
	// Width and Height are the image size in pixels (PNG) or in CSS pixels
	// (SVG, where 1px = 0.75pt). Zero means DefaultWidth or DefaultHeight.
	Width, Height int
}

// formats lists the image formats Lines and Heatmap write.
var formats = []string{"svg", "png"}

// FormatOf returns the image format named by a file's extension ("svg" for
// "curves.svg", "png" for "a/b.PNG"), or an error for any other extension.
func FormatOf(path string) (string, error) {
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	for _, f := range formats {
		if ext == f {
			return f, nil
		}
	}
	return "", fmt.Errorf("plot: cannot tell the image format of %q: the name must end in .svg or .png", path)
}

// Lines writes a line chart of series to w as an SVG or PNG image (format
// "svg" or "png") with the given title, labelled axes and a legend of the
// series names, at the default size.
func Lines(w io.Writer, format, title, xlabel, ylabel string, series ...Series) error {
	return Chart{Title: title, XLabel: xlabel, YLabel: ylabel}.Lines(w, format, series...)
}

// Lines writes a line chart of series to w as an SVG or PNG image (format
// "svg" or "png"), one colour and dash pattern per series, with a legend
// of the series names.
func (c Chart) Lines(w io.Writer, format string, series ...Series) error {
	if len(series) == 0 {
		return errors.New("plot: no series to draw")
	}
	for _, s := range series {
		if err := s.check(); err != nil {
			return err
		}
		if c.LogY {
			for i, y := range s.Y {
				if y <= 0 {
					return fmt.Errorf("plot: series %q: y[%d] = %g cannot be drawn on a log scale (it must be positive)", s.Name, i, y)
				}
			}
		}
	}
	p := c.newPlot()
	p.Add(plotter.NewGrid())
	for i, s := range series {
		l, err := plotter.NewLine(xys(s))
		if err != nil {
			return fmt.Errorf("plot: series %q: %w", s.Name, err)
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i / len(plotutil.SoftColors))
		l.Width = vg.Points(1.5)
		p.Add(l)
		if s.Name != "" {
			p.Legend.Add(s.Name, l)
		}
	}
	p.X.Tick.Marker = niceTicks{}
	p.Y.Tick.Marker = niceTicks{}
	if c.LogY {
		p.Y.Scale = gplot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
	}
	c.legendRoom(p, len(series))
	return c.write(w, format, p)
}

// legendRoom raises the top of the y axis so that the legend, drawn in
// the top right corner, sits above the curves instead of over them.
func (c Chart) legendRoom(p *gplot.Plot, entries int) {
	_, hpx := c.size()
	dataPt := float64(hpx)*72/dpi - 70 // the canvas less title and x axis, roughly
	row := p.Legend.TextStyle.Height("Xy").Points() + 1
	f := math.Min(0.6, (float64(entries)*row+10)/math.Max(dataPt, 1))
	lo, hi := p.Y.Min, p.Y.Max
	if c.LogY {
		if hi == lo { // a constant: a factor of 2 either side
			lo, hi = lo/2, hi*2
		}
		p.Y.Min, p.Y.Max = lo, lo*math.Pow(hi/lo, 1/(1-f))
		return
	}
	if hi == lo { // a constant: half its size either side
		d := math.Abs(lo) / 2
		if d == 0 {
			d = 1
		}
		lo, hi = lo-d, hi+d
	}
	p.Y.Min, p.Y.Max = lo, lo+(hi-lo)/(1-f)
}

// logTicks labels a log axis at powers of ten, or at round values when
// the range holds fewer than two powers of ten.
type logTicks struct{}

// Ticks returns the ticks for the axis range [lo, hi].
func (logTicks) Ticks(lo, hi float64) []gplot.Tick {
	ts := gplot.LogTicks{Prec: -1}.Ticks(lo, hi)
	labelled := 0
	for _, t := range ts {
		if t.Label != "" {
			labelled++
		}
	}
	if labelled >= 2 {
		return ts
	}
	var out []gplot.Tick
	for _, t := range (niceTicks{}).Ticks(lo, hi) {
		if t.Value > 0 {
			out = append(out, t)
		}
	}
	return out
}

// niceTicks labels an axis at multiples of a round step (1, 2, 2.5 or 5
// times a power of ten), about five of them, with minor ticks between.
type niceTicks struct{}

// Ticks returns the ticks for the axis range [lo, hi].
func (niceTicks) Ticks(lo, hi float64) []gplot.Tick {
	if !(hi > lo) {
		return []gplot.Tick{{Value: lo, Label: formatTick(lo)}}
	}
	step := niceStep((hi - lo) / 5)
	var ts []gplot.Tick
	for k := math.Ceil(lo / step * 2); k*step/2 <= hi*(1+1e-12); k++ {
		v := k * step / 2
		if math.Mod(k, 2) == 0 {
			ts = append(ts, gplot.Tick{Value: v, Label: formatTick(v)})
		} else {
			ts = append(ts, gplot.Tick{Value: v})
		}
	}
	return ts
}

func (c Chart) newPlot() *gplot.Plot {
	p := gplot.New()
	p.Title.Text = c.Title
	p.X.Label.Text = c.XLabel
	p.Y.Label.Text = c.YLabel
	p.Legend.Top = true
	return p
}

func (c Chart) size() (int, int) {
	w, h := c.Width, c.Height
	if w <= 0 {
		w = DefaultWidth
	}
	if h <= 0 {
		h = DefaultHeight
	}
	return w, h
}

// write renders p to w in format at the chart's size.
func (c Chart) write(w io.Writer, format string, p *gplot.Plot) error {
	wpx, hpx := c.size()
	var cw vg.CanvasWriterTo
	switch strings.ToLower(format) {
	case "svg":
		cw = vgsvg.New(vg.Length(wpx)*vg.Inch/dpi, vg.Length(hpx)*vg.Inch/dpi)
	case "png":
		img := image.NewRGBA(image.Rect(0, 0, wpx, hpx))
		cw = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseImage(img), vgimg.UseDPI(dpi))}
	default:
		return fmt.Errorf("plot: unsupported image format %q (want svg or png)", format)
	}
	p.Draw(draw.New(cw))
	if _, err := cw.WriteTo(w); err != nil {
		return fmt.Errorf("plot: writing %s: %w", format, err)
	}
	return nil
}

// check reports mismatched lengths and non-finite values.
func (s Series) check() error {
	if len(s.X) != len(s.Y) {
		return fmt.Errorf("plot: series %q has %d x values and %d y values", s.Name, len(s.X), len(s.Y))
	}
	if len(s.X) == 0 {
		return fmt.Errorf("plot: series %q has no points", s.Name)
	}
	for i := range s.X {
		if bad(s.X[i]) {
			return fmt.Errorf("plot: series %q: x[%d] is %g", s.Name, i, s.X[i])
		}
		if bad(s.Y[i]) {
			return fmt.Errorf("plot: series %q: y[%d] is %g (at x = %g)", s.Name, i, s.Y[i], s.X[i])
		}
	}
	return nil
}

func bad(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }

// xys adapts a Series to gonum's plotter.XYer.
type xys Series

func (s xys) Len() int                    { return len(s.X) }
func (s xys) XY(i int) (float64, float64) { return s.X[i], s.Y[i] }
