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
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
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
	// Style says how the points are drawn: a solid line (the default), a
	// dashed line (a prediction) or small dots (observations).
	Style Style
	// Lower and Upper, when given (one per point), shade a band around
	// the series: a prediction interval, say.
	Lower, Upper []float64
}

// Style is how a series is drawn.
type Style int

// The styles of a series.
const (
	Solid  Style = iota // a solid line
	Dashed              // a dashed line: predicted or derived values
	Dots                // small dots and a thin line: observed values
)

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
	// LogY draws the y axis on a log scale. Points whose y is not
	// positive cannot be drawn there: they are left out, and a note under
	// the title says how many.
	LogY bool
	// YRange, when YRange[1] > YRange[0], fixes the y axis to the values
	// that matter (RangeOf computes one from chosen series); points
	// beyond it are drawn as triangles on the edge, pointing outwards.
	YRange [2]float64
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
// "svg" or "png"), one colour per series, with a legend of the series
// names.
func (c Chart) Lines(w io.Writer, format string, series ...Series) error {
	p, err := c.linePlot(series)
	if err != nil {
		return err
	}
	return c.write(w, format, p)
}

// linePlot builds the plot of a line chart.
func (c Chart) linePlot(series []Series) (*gplot.Plot, error) {
	if len(series) == 0 {
		return nil, errors.New("plot: no series to draw")
	}
	for _, s := range series {
		if err := s.check(); err != nil {
			return nil, err
		}
	}
	dropped, note := 0, ""
	if c.LogY {
		kept, n := positiveOnly(series)
		if RangeOf(true, kept...) == [2]float64{} {
			c.LogY, note = false, "(no positive value: a linear axis)"
		} else if series, dropped = kept, n; dropped > 0 {
			note = fmt.Sprintf("(%d values <= 0 not drawn on the log axis)", dropped)
		}
	}
	p := c.newPlot()
	if note != "" {
		p.Title.Text = strings.TrimSpace(p.Title.Text + "\n" + note)
	}
	p.Add(plotter.NewGrid())
	clipped := c.YRange[1] > c.YRange[0]
	for i, s := range series {
		if err := addSeries(p, i, s); err != nil {
			return nil, err
		}
		if clipped {
			addOffScale(p, i, s, c.YRange)
		}
	}
	p.X.Tick.Marker = niceTicks{}
	p.Y.Tick.Marker = niceTicks{}
	if c.LogY {
		p.Y.Scale = gplot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
	}
	if clipped {
		p.Y.Min, p.Y.Max = c.YRange[0], c.YRange[1]
	}
	c.legendRoom(p, len(series))
	return p, nil
}

// addSeries draws series i in its style, with its band, into p.
func addSeries(p *gplot.Plot, i int, s Series) error {
	if len(s.X) == 0 {
		return nil // every point was dropped from a log axis
	}
	col := plotutil.Color(i)
	if s.Lower != nil {
		band, err := plotter.NewPolygon(bandXYs(s))
		if err != nil {
			return fmt.Errorf("plot: series %q: band: %w", s.Name, err)
		}
		r, g, b, _ := col.RGBA()
		band.Color = color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 48}
		band.LineStyle.Width = 0
		p.Add(band)
	}
	l, err := plotter.NewLine(xys(s))
	if err != nil {
		return fmt.Errorf("plot: series %q: %w", s.Name, err)
	}
	l.Color = col
	l.Width = vg.Points(1.5)
	var legend []gplot.Thumbnailer = []gplot.Thumbnailer{l}
	switch s.Style {
	case Dashed:
		l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
	case Dots:
		l.Width = vg.Points(0.5)
		dots, err := plotter.NewScatter(xys(s))
		if err != nil {
			return fmt.Errorf("plot: series %q: %w", s.Name, err)
		}
		dots.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(1.6), Shape: draw.CircleGlyph{}}
		p.Add(dots)
		legend = append(legend, dots)
	}
	p.Add(l)
	if s.Name != "" {
		p.Legend.Add(s.Name, legend...)
	}
	return nil
}

// addOffScale marks the points of s beyond the y range with triangles on
// the edge, pointing outwards.
func addOffScale(p *gplot.Plot, i int, s Series, r [2]float64) {
	var above, below plotter.XYs
	for k := range s.X {
		switch {
		case s.Y[k] > r[1]:
			above = append(above, plotter.XY{X: s.X[k], Y: r[1]})
		case s.Y[k] < r[0]:
			below = append(below, plotter.XY{X: s.X[k], Y: r[0]})
		}
	}
	for _, m := range []struct {
		pts   plotter.XYs
		shape draw.GlyphDrawer
	}{{above, draw.TriangleGlyph{}}, {below, downTriangle{}}} {
		if len(m.pts) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(m.pts)
		if err != nil {
			continue // the points are finite: cannot happen
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: plotutil.Color(i), Radius: vg.Points(3), Shape: m.shape}
		p.Add(sc)
	}
}

// downTriangle is a triangle pointing down.
type downTriangle struct{}

// DrawGlyph draws the glyph.
func (downTriangle) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: vg.Points(0.5)})
	r := sty.Radius
	cos, sin := vg.Length(math.Cos(math.Pi/6)), vg.Length(math.Sin(math.Pi/6))
	var path vg.Path
	path.Move(vg.Point{X: pt.X, Y: pt.Y - r})
	path.Line(vg.Point{X: pt.X - r*cos, Y: pt.Y + r*sin})
	path.Line(vg.Point{X: pt.X + r*cos, Y: pt.Y + r*sin})
	path.Close()
	c.Fill(path)
}

// positiveOnly drops the points whose y (or band) is not positive, for a
// log axis, and returns how many it dropped.
func positiveOnly(series []Series) ([]Series, int) {
	out := make([]Series, len(series))
	dropped := 0
	for i, s := range series {
		t := Series{Name: s.Name, Style: s.Style}
		band := s.Lower != nil
		for k := range s.X {
			if s.Y[k] <= 0 || band && s.Lower[k] <= 0 {
				dropped++
				continue
			}
			t.X, t.Y = append(t.X, s.X[k]), append(t.Y, s.Y[k])
			if band {
				t.Lower, t.Upper = append(t.Lower, s.Lower[k]), append(t.Upper, s.Upper[k])
			}
		}
		out[i] = t
	}
	return out, dropped
}

// RangeOf returns a y range that holds every point of the given series
// (the values that matter, the observed ones, say) with a margin of a
// twentieth of the span each side (a factor on a log axis), for
// Chart.YRange. It returns the zero range when the series hold no point.
func RangeOf(logY bool, series ...Series) [2]float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, y := range s.Y {
			if bad(y) || logY && y <= 0 {
				continue
			}
			lo, hi = math.Min(lo, y), math.Max(hi, y)
		}
	}
	switch {
	case lo > hi:
		return [2]float64{}
	case logY:
		f := math.Pow(hi/lo, 0.05)
		if f == 1 {
			f = 1.1
		}
		return [2]float64{lo / f, hi * f}
	case lo == hi:
		d := math.Max(math.Abs(lo)/10, 1e-12)
		return [2]float64{lo - d, hi + d}
	}
	d := (hi - lo) / 20
	return [2]float64{lo - d, hi + d}
}

// legendRoom raises the top of the y axis so that the legend, drawn in
// the top right corner, sits above the curves instead of over them.
func (c Chart) legendRoom(p *gplot.Plot, entries int) {
	_, hpx := c.size()
	dataPt := float64(hpx)*72/dpi - 70 // the canvas less title and x axis, roughly
	row := p.Legend.TextStyle.Height("Xy").Points() + 1
	f := math.Min(0.6, (float64(entries)*row+10)/math.Max(dataPt, 1))
	lo, hi := p.Y.Min, p.Y.Max
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) { // nothing drawn
		return
	}
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
	// A small margin from the canvas edge, so the legend's sample lines are
	// not cut off where a viewer crops the figure at its border.
	p.Legend.XOffs = -vg.Points(6)
	p.Legend.YOffs = -vg.Points(2)
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
	return render(w, format, wpx, hpx, func(dc draw.Canvas) { p.Draw(dc) })
}

// render draws onto a canvas of wpx×hpx pixels in format and writes it.
func render(w io.Writer, format string, wpx, hpx int, paint func(draw.Canvas)) error {
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
	paint(draw.New(cw))
	var b bytes.Buffer
	if _, err := cw.WriteTo(&b); err != nil {
		return fmt.Errorf("plot: writing %s: %w", format, err)
	}
	doc := b.Bytes()
	if strings.ToLower(format) == "svg" {
		var err error
		if doc, err = embedFont(doc); err != nil {
			return err
		}
	}
	if _, err := w.Write(doc); err != nil {
		return fmt.Errorf("plot: writing %s: %w", format, err)
	}
	return nil
}

// Panel is one chart of a figure of several: its decorations (its Width
// and Height are ignored) and its series.
type Panel struct {
	Chart  Chart
	Series []Series
}

// Panels writes several line charts as one SVG or PNG image, cols charts
// per row, the whole figure width×height pixels (0: DefaultWidth, and
// DefaultHeight·2/3 per row). The panels' plot areas are aligned.
func Panels(w io.Writer, format string, cols, width, height int, panels ...Panel) error {
	if len(panels) == 0 {
		return errors.New("plot: no panels to draw")
	}
	cols = max(1, min(cols, len(panels)))
	rows := (len(panels) + cols - 1) / cols
	if width <= 0 {
		width = DefaultWidth
	}
	if height <= 0 {
		height = rows * DefaultHeight * 2 / 3
	}
	grid := make([][]*gplot.Plot, rows)
	for r := range grid {
		grid[r] = make([]*gplot.Plot, cols)
	}
	for i, pn := range panels {
		c := pn.Chart
		c.Width, c.Height = width/cols, height/rows
		p, err := c.linePlot(pn.Series)
		if err != nil {
			return fmt.Errorf("%w (in panel %q)", err, c.Title)
		}
		grid[i/cols][i%cols] = p
	}
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(12), PadY: vg.Points(12),
		PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
	return render(w, format, width, height, func(dc draw.Canvas) {
		canvases := gplot.Align(grid, tiles, dc)
		for r := range grid {
			for c, p := range grid[r] {
				if p != nil {
					p.Draw(canvases[r][c])
				}
			}
		}
	})
}

// check reports mismatched lengths and non-finite values.
func (s Series) check() error {
	if len(s.X) != len(s.Y) {
		return fmt.Errorf("plot: series %q has %d x values and %d y values", s.Name, len(s.X), len(s.Y))
	}
	if (s.Lower == nil) != (s.Upper == nil) || s.Lower != nil && (len(s.Lower) != len(s.X) || len(s.Upper) != len(s.X)) {
		return fmt.Errorf("plot: series %q: a band needs one lower and one upper value per point", s.Name)
	}
	for i := range s.Lower {
		if bad(s.Lower[i]) || bad(s.Upper[i]) || s.Lower[i] > s.Upper[i] {
			return fmt.Errorf("plot: series %q: band [%g, %g] at x = %g is not a finite interval", s.Name, s.Lower[i], s.Upper[i], s.X[i])
		}
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

// bandXYs is the outline of a series' band: along the upper values, back
// along the lower ones.
func bandXYs(s Series) plotter.XYs {
	n := len(s.X)
	out := make(plotter.XYs, 0, 2*n)
	for i := 0; i < n; i++ {
		out = append(out, plotter.XY{X: s.X[i], Y: s.Upper[i]})
	}
	for i := n - 1; i >= 0; i-- {
		out = append(out, plotter.XY{X: s.X[i], Y: s.Lower[i]})
	}
	return out
}
