package plot

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Grid is a table of values for a heat map: Values[r][c] is the cell in
// row r (labelled Rows[r], drawn top to bottom) and column c (labelled
// Cols[c], drawn left to right). A NaN cell is a missing value: it is drawn
// grey and left out of the colour scale. Infinite values are rejected.
type Grid struct {
	Rows, Cols []string
	Values     [][]float64
}

// maxAnnotated is the largest number of cells whose values Heatmap prints
// inside the cells; larger grids are colour only.
const maxAnnotated = 400

// Heatmap writes g as a heat map to w, an SVG or PNG image (format "svg"
// or "png"). Colours run from blue (the smallest value) through white to
// red (the largest); each cell of a grid of at most 400 cells also shows
// its value in four significant digits. XLabel names the columns' axis and
// YLabel the rows'; LogY is ignored.
func (c Chart) Heatmap(w io.Writer, format string, g Grid) error {
	if err := g.check(); err != nil {
		return err
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, row := range g.Values {
		for _, v := range row {
			if !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if lo > hi { // every cell missing
		lo, hi = 0, 1
	}
	if lo == hi {
		lo, hi = lo-0.5, hi+0.5
	}
	cm := moreland.SmoothBlueRed()
	cm.SetMin(0)
	cm.SetMax(1)
	pal := cm.Palette(255)
	hm := plotter.NewHeatMap(gridXYZ(g), pal)
	hm.Min, hm.Max = lo, hi
	hm.NaN = color.Gray{Y: 200}

	p := c.newPlot()
	p.Add(hm)
	nr, nc := len(g.Rows), len(g.Cols)
	if nr*nc <= maxAnnotated {
		var xys plotter.XYs
		var labels []string
		for r, row := range g.Values {
			for col, v := range row {
				xys = append(xys, plotter.XY{X: float64(col), Y: float64(nr - 1 - r)})
				if math.IsNaN(v) {
					labels = append(labels, "–")
				} else {
					labels = append(labels, strconv.FormatFloat(v, 'g', 4, 64))
				}
			}
		}
		l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
		if err != nil {
			return fmt.Errorf("plot: heat map labels: %w", err)
		}
		colors := pal.Colors()
		for i := range l.TextStyle {
			l.TextStyle[i].XAlign = -0.5
			l.TextStyle[i].YAlign = -0.5
			l.TextStyle[i].Font.Size = vg.Points(9)
			// White text on dark cells, black on light ones.
			v := g.Values[i/nc][i%nc]
			if !math.IsNaN(v) {
				k := int(math.Round((v - lo) / (hi - lo) * float64(len(colors)-1)))
				if luminance(colors[min(max(k, 0), len(colors)-1)]) < 0.45 {
					l.TextStyle[i].Color = color.White
				}
			}
		}
		p.Add(l)
	}
	xt := make(gplot.ConstantTicks, nc)
	for i, s := range g.Cols {
		xt[i] = gplot.Tick{Value: float64(i), Label: s}
	}
	yt := make(gplot.ConstantTicks, nr)
	for i, s := range g.Rows {
		yt[i] = gplot.Tick{Value: float64(nr - 1 - i), Label: s}
	}
	p.X.Tick.Marker, p.Y.Tick.Marker = xt, yt
	p.X.Min, p.X.Max = -0.5, float64(nc)-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(nr)-0.5
	return c.write(w, format, p)
}

func (g Grid) check() error {
	if len(g.Rows) == 0 || len(g.Cols) == 0 {
		return errors.New("plot: heat map needs at least one row and one column")
	}
	if len(g.Values) != len(g.Rows) {
		return fmt.Errorf("plot: heat map has %d row labels and %d rows of values", len(g.Rows), len(g.Values))
	}
	for r, row := range g.Values {
		if len(row) != len(g.Cols) {
			return fmt.Errorf("plot: heat map row %d (%q) has %d values for %d columns", r, g.Rows[r], len(row), len(g.Cols))
		}
		for c, v := range row {
			if math.IsInf(v, 0) {
				return fmt.Errorf("plot: heat map cell (%q, %q) is %g", g.Rows[r], g.Cols[c], v)
			}
		}
	}
	return nil
}

// gridXYZ adapts a Grid to gonum's plotter.GridXYZ with row 0 on top.
type gridXYZ Grid

func (g gridXYZ) Dims() (c, r int)   { return len(g.Cols), len(g.Rows) }
func (g gridXYZ) Z(c, r int) float64 { return g.Values[len(g.Rows)-1-r][c] }
func (g gridXYZ) X(c int) float64    { return float64(c) }
func (g gridXYZ) Y(r int) float64    { return float64(r) }

// luminance is the relative brightness of c in [0, 1] (Rec. 601 weights).
func luminance(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	return (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(b)) / 0xffff
}
