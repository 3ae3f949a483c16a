package plot

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Markers are the runes that draw the series of a terminal chart, in
// order; the ninth series reuses the first marker.
var markers = []rune{'•', '+', 'x', 'o', '*', '#', '%', '@'}

// Marker returns the rune that Terminal draws series i with.
func Marker(i int) rune { return markers[i%len(markers)] }

// Terminal writes a text chart of series to w that fits exactly in width
// columns and height lines of a plain terminal (no colour, no cursor
// control). It has, from the top: the plot area, with y tick labels on the
// left; an x axis; the x range; and a legend of one "marker name" entry per
// series, wrapped over as many lines as it needs. Each series is drawn
// with its own marker rune (Marker(i)); in each column a series covers the
// rows between the smallest and the largest value it takes over that
// column's x interval, so steep drops and fast oscillations stay visible.
// Where series overlap, the later one is drawn on top.
//
// The x values of each series must be non-decreasing. Terminal returns an
// error, and writes nothing, when the input is invalid or the size leaves
// fewer than 2 rows or 8 columns to plot in.
func Terminal(w io.Writer, width, height int, series ...Series) error {
	lines, err := terminalLines(width, height, series)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// terminalLines renders the chart as exactly height lines of width runes.
func terminalLines(width, height int, series []Series) ([]string, error) {
	if len(series) == 0 {
		return nil, errors.New("plot: no series to draw")
	}
	for _, s := range series {
		if err := s.check(); err != nil {
			return nil, err
		}
		if !sort.Float64sAreSorted(s.X) {
			return nil, fmt.Errorf("plot: series %q: x values must be non-decreasing for a terminal chart", s.Name)
		}
	}
	if width < 1 || height < 1 {
		return nil, fmt.Errorf("plot: terminal chart size %dx%d is not positive", width, height)
	}
	legend := legendLines(width, series)

	xmin, xmax, ymin, ymax := bounds(series)
	plotH := height - 2 - len(legend)
	ymin, ymax, ticks := yTicks(plotH, ymin, ymax)
	labelW := 0
	for _, t := range ticks {
		labelW = max(labelW, utf8.RuneCountInString(t.label))
	}
	plotW := width - labelW - 1
	if plotH < 2 || plotW < 8 {
		return nil, fmt.Errorf("plot: terminal chart of %d columns and %d lines is too small for %d series (it leaves %d rows and %d columns to plot in; need at least 2 and 8)",
			width, height, len(series), max(plotH, 0), max(plotW, 0))
	}

	grid := make([][]rune, plotH)
	for r := range grid {
		grid[r] = []rune(strings.Repeat(" ", plotW))
	}
	row := func(y float64) int {
		r := int(math.Round((ymax - y) / (ymax - ymin) * float64(plotH-1)))
		return min(max(r, 0), plotH-1)
	}
	span := xmax - xmin
	for i, s := range series {
		m := Marker(i)
		for c := range plotW {
			a := xmin + span*float64(c)/float64(plotW)
			b := xmin + span*float64(c+1)/float64(plotW)
			lo, hi, ok := s.yRange(a, b)
			if !ok {
				continue
			}
			for r := row(hi); r <= row(lo); r++ {
				grid[r][c] = m
			}
		}
	}

	lines := make([]string, 0, height)
	tickAt := make(map[int]string, len(ticks))
	for _, t := range ticks {
		tickAt[t.row] = t.label
	}
	for r := range plotH {
		label, ok := tickAt[r]
		axis := '│'
		if ok {
			axis = '┤'
		}
		lines = append(lines, padLeft(label, labelW)+string(axis)+string(grid[r]))
	}
	lines = append(lines, strings.Repeat(" ", labelW)+"└"+strings.Repeat("─", plotW))
	left, right := formatTick(xmin), formatTick(xmax)
	gap := plotW - utf8.RuneCountInString(left) - utf8.RuneCountInString(right)
	xline := strings.Repeat(" ", labelW+1) + left
	if gap >= 1 {
		xline += strings.Repeat(" ", gap) + right
	}
	lines = append(lines, padRight(xline, width))
	for _, l := range legend {
		lines = append(lines, padRight(l, width))
	}
	return lines, nil
}

// yRange returns the smallest and largest y the series takes for x in
// [a, b]: the points inside the interval and the linear interpolation at
// both ends. ok is false when the series does not reach the interval.
func (s Series) yRange(a, b float64) (lo, hi float64, ok bool) {
	n := len(s.X)
	if b < s.X[0] || a > s.X[n-1] {
		return 0, 0, false
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	add := func(y float64) { lo, hi = math.Min(lo, y), math.Max(hi, y) }
	if a >= s.X[0] {
		add(s.at(a))
	}
	if b <= s.X[n-1] {
		add(s.at(b))
	}
	for i := sort.SearchFloat64s(s.X, a); i < n && s.X[i] <= b; i++ {
		add(s.Y[i])
	}
	return lo, hi, lo <= hi
}

// at interpolates the series linearly at x, which lies in [X[0], X[n-1]].
func (s Series) at(x float64) float64 {
	i := sort.SearchFloat64s(s.X, x)
	if i == len(s.X) {
		i--
	}
	if s.X[i] == x || i == 0 {
		return s.Y[i]
	}
	x0, x1 := s.X[i-1], s.X[i]
	return s.Y[i-1] + (s.Y[i]-s.Y[i-1])*(x-x0)/(x1-x0)
}

// bounds returns the x and y ranges of all series, widened when empty so
// that they can be divided by.
func bounds(series []Series) (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for _, s := range series {
		for i := range s.X {
			xmin, xmax = math.Min(xmin, s.X[i]), math.Max(xmax, s.X[i])
			ymin, ymax = math.Min(ymin, s.Y[i]), math.Max(ymax, s.Y[i])
		}
	}
	if xmin == xmax {
		xmin, xmax = xmin-0.5, xmax+0.5
	}
	if ymin == ymax {
		d := math.Abs(ymin) / 2
		if d == 0 {
			d = 1
		}
		ymin, ymax = ymin-d, ymax+d
	}
	return xmin, xmax, ymin, ymax
}

type tick struct {
	row   int
	label string
}

// yTicks widens [ymin, ymax] to whole multiples of a round tick step
// (1, 2, 2.5 or 5 times a power of ten) and labels the rows of those
// multiples, at most six of them, the top row ymax and the bottom row
// ymin. It returns the widened range.
func yTicks(rows int, ymin, ymax float64) (lo, hi float64, ts []tick) {
	if rows < 2 {
		return ymin, ymax, nil
	}
	// At most five intervals, at least two rows apart; the step grows until
	// the widened range holds no more than that.
	maxN := min(5, (rows-1)/2)
	step := niceStep((ymax - ymin) / float64(max(maxN, 1)))
	bottom, top := math.Floor(ymin/step), math.Ceil(ymax/step)
	for maxN >= 1 && top-bottom > float64(maxN) && !math.IsInf(step, 0) {
		step = niceStep(step * (1 + 1e-9))
		bottom, top = math.Floor(ymin/step), math.Ceil(ymax/step)
	}
	if maxN < 1 || top-bottom > float64(maxN) || math.IsInf(step, 0) || step == 0 {
		// Too few rows for round ticks: label the ends as they are.
		return ymin, ymax, []tick{{0, formatTick(ymax) + " "}, {rows - 1, formatTick(ymin) + " "}}
	}
	lo, hi = bottom*step, top*step
	n := int(top - bottom)
	for k := 0; k <= n; k++ {
		r := int(math.Round(float64(k) * float64(rows-1) / float64(n)))
		if len(ts) > 0 && ts[len(ts)-1].row == r {
			continue
		}
		ts = append(ts, tick{row: r, label: formatTick((top-float64(k))*step) + " "})
	}
	return lo, hi, ts
}

// niceStep returns the smallest of 1, 2, 2.5, 5 and 10 times a power of
// ten that is at least raw.
func niceStep(raw float64) float64 {
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, f := range []float64{1, 2, 2.5, 5, 10} {
		if f*mag >= raw {
			return f * mag
		}
	}
	return 10 * mag
}

// formatTick prints a tick value in at most four significant digits.
func formatTick(v float64) string {
	if math.Abs(v) < 1e-300 {
		return "0"
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e9 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// legendLines lays out "marker name" entries, three spaces apart, wrapped
// to width; an entry longer than a line is cut with "…".
func legendLines(width int, series []Series) []string {
	var lines []string
	cur := ""
	for i, s := range series {
		e := string(Marker(i)) + " " + s.Name
		if utf8.RuneCountInString(e) > width {
			e = string([]rune(e)[:max(width-1, 0)]) + "…"
		}
		switch {
		case cur == "":
			cur = e
		case utf8.RuneCountInString(cur)+3+utf8.RuneCountInString(e) <= width:
			cur += "   " + e
		default:
			lines = append(lines, cur)
			cur = e
		}
	}
	return append(lines, cur)
}

func padLeft(s string, n int) string {
	return strings.Repeat(" ", max(n-utf8.RuneCountInString(s), 0)) + s
}

func padRight(s string, n int) string {
	if k := utf8.RuneCountInString(s); k > n {
		return string([]rune(s)[:n])
	}
	return s + strings.Repeat(" ", n-utf8.RuneCountInString(s))
}

// sparkRunes are the eight levels of a sparkline, lowest first.
var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// Sparkline returns ys as a one-line chart of block characters, the lowest
// value as ▁ and the highest as █. With width > 0 and fewer than len(ys)
// it averages ys into width buckets of (nearly) equal size, one rune each;
// otherwise it draws one rune per value. NaN and infinite values are drawn
// as a space and left out of the scale.
func Sparkline(ys []float64, width int) string {
	vals := ys
	if width > 0 && width < len(ys) {
		vals = make([]float64, width)
		for c := range width {
			lo, hi := c*len(ys)/width, (c+1)*len(ys)/width
			sum, n := 0.0, 0
			for _, v := range ys[lo:hi] {
				if !bad(v) {
					sum += v
					n++
				}
			}
			vals[c] = math.NaN()
			if n > 0 {
				vals[c] = sum / float64(n)
			}
		}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if !bad(v) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	out := make([]rune, len(vals))
	for i, v := range vals {
		switch {
		case bad(v):
			out[i] = ' '
		case hi == lo:
			out[i] = sparkRunes[0]
		default:
			out[i] = sparkRunes[int(math.Round((v-lo)/(hi-lo)*float64(len(sparkRunes)-1)))]
		}
	}
	return string(out)
}
