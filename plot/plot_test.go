package plot

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lrkit/lrkit/internal/browsertest"
)

// cosine returns n+1 points of a cosine decay from peak to 0 over n steps.
func cosine(name string, peak float64, n int) Series {
	s := Series{Name: name}
	for t := 0; t <= n; t++ {
		s.X = append(s.X, float64(t))
		s.Y = append(s.Y, peak*(1+math.Cos(math.Pi*float64(t)/float64(n)))/2)
	}
	return s
}

func linear(name string, peak float64, n int) Series {
	s := Series{Name: name}
	for t := 0; t <= n; t++ {
		s.X = append(s.X, float64(t))
		s.Y = append(s.Y, peak*(1-float64(t)/float64(n)))
	}
	return s
}

// svgText returns every text node of an SVG document, failing the test if
// the document is not well-formed XML with an <svg> root.
func svgText(t *testing.T, doc []byte) string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var text strings.Builder
	root := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
			}
		case xml.CharData:
			text.Write(tok)
			text.WriteByte('\n')
		}
	}
	if root != "svg" {
		t.Fatalf("root element is %q, want svg", root)
	}
	return text.String()
}

func TestLinesSVG(t *testing.T) {
	series := []Series{cosine("cosine(peak=3e-4)", 3e-4, 1000), linear("linear & <co>", 3e-4, 1000)}
	tests := []struct {
		name  string
		chart Chart
		want  []string
	}{
		{"plain", Chart{Title: "Schedules", XLabel: "step", YLabel: "learning rate"},
			[]string{"Schedules", "step", "learning rate", "cosine(peak=3e-4)", "linear & <co>"}},
		{"log y", Chart{Title: "Log", XLabel: "optimizer step", YLabel: "lr (log)", LogY: true},
			[]string{"Log", "optimizer step", "lr (log)", "cosine(peak=3e-4)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ss := series
			if tc.chart.LogY { // a log scale needs positive values
				ss = []Series{{Name: "cosine(peak=3e-4)", X: []float64{0, 1, 2}, Y: []float64{3e-4, 1e-5, 1e-7}}}
			}
			var buf bytes.Buffer
			if err := tc.chart.Lines(&buf, "svg", ss...); err != nil {
				t.Fatal(err)
			}
			text := svgText(t, buf.Bytes())
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("SVG text lacks %q", w)
				}
			}
		})
	}
}

func TestLinesConstant(t *testing.T) {
	// A constant series gets a y range around its value, not [-1, 1].
	s := Series{Name: "constant(peak=3e-4)", X: []float64{0, 100}, Y: []float64{3e-4, 3e-4}}
	for _, logY := range []bool{false, true} {
		var buf bytes.Buffer
		if err := (Chart{LogY: logY}).Lines(&buf, "svg", s); err != nil {
			t.Fatal(err)
		}
		text := svgText(t, buf.Bytes())
		want := "0.0003"
		if logY { // less than a decade: round linear labels
			want = "0.0002"
		}
		if !strings.Contains(text, want) {
			t.Errorf("log %v: no tick label %s near the value in %q", logY, want, text)
		}
		if strings.Contains(text, "\n-1\n") || strings.Contains(text, "\n1\n") {
			t.Errorf("log %v: y axis spans [-1, 1]: %q", logY, text)
		}
	}
}

func TestLinesWrapper(t *testing.T) {
	var buf bytes.Buffer
	if err := Lines(&buf, "svg", "T", "the x axis", "the y axis", cosine("a", 1, 10)); err != nil {
		t.Fatal(err)
	}
	text := svgText(t, buf.Bytes())
	for _, w := range []string{"T", "the x axis", "the y axis", "a"} {
		if !strings.Contains(text, w) {
			t.Errorf("SVG text lacks %q", w)
		}
	}
}

func TestLinesPNGSize(t *testing.T) {
	for _, size := range [][2]int{{0, 0}, {640, 400}, {333, 211}} {
		var buf bytes.Buffer
		c := Chart{Title: "t", XLabel: "x", YLabel: "y", Width: size[0], Height: size[1]}
		if err := c.Lines(&buf, "png", cosine("cos", 1, 100), linear("lin", 1, 100)); err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(&buf)
		if err != nil {
			t.Fatalf("PNG does not decode: %v", err)
		}
		w, h := size[0], size[1]
		if w == 0 {
			w, h = DefaultWidth, DefaultHeight
		}
		if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
			t.Errorf("PNG is %dx%d, want %dx%d", b.Dx(), b.Dy(), w, h)
		}
		// Something other than the white background was drawn.
		colours := map[[3]uint32]bool{}
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y += 3 {
			for x := b.Min.X; x < b.Max.X; x += 3 {
				r, g, bl, _ := img.At(x, y).RGBA()
				colours[[3]uint32{r, g, bl}] = true
			}
		}
		if len(colours) < 3 {
			t.Errorf("PNG has only %d colours: nothing drawn", len(colours))
		}
	}
}

func TestLinesErrors(t *testing.T) {
	tests := []struct {
		name   string
		chart  Chart
		format string
		series []Series
		want   string
	}{
		{"no series", Chart{}, "svg", nil, "no series"},
		{"format", Chart{}, "pdf", []Series{cosine("a", 1, 3)}, `unsupported image format "pdf"`},
		{"lengths", Chart{}, "svg", []Series{{Name: "a", X: []float64{0, 1}, Y: []float64{1}}}, `series "a" has 2 x values and 1 y values`},
		{"empty", Chart{}, "svg", []Series{{Name: "e"}}, `series "e" has no points`},
		{"nan", Chart{}, "png", []Series{{Name: "n", X: []float64{0, 1}, Y: []float64{1, math.NaN()}}}, `series "n": y[1] is NaN (at x = 1)`},
		{"inf x", Chart{}, "png", []Series{{Name: "n", X: []float64{math.Inf(1)}, Y: []float64{1}}}, `series "n": x[0] is +Inf`},
		{"band length", Chart{}, "svg", []Series{{Name: "b", X: []float64{0, 1}, Y: []float64{1, 2}, Lower: []float64{0}, Upper: []float64{1}}}, `series "b": a band needs one lower and one upper value per point`},
		{"band order", Chart{}, "svg", []Series{{Name: "b", X: []float64{0}, Y: []float64{1}, Lower: []float64{2}, Upper: []float64{1}}}, `series "b": band [2, 1] at x = 0 is not a finite interval`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := tc.chart.Lines(&buf, tc.format, tc.series...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes on error", buf.Len())
			}
		})
	}
}

func TestFormatOf(t *testing.T) {
	tests := []struct{ path, want, err string }{
		{"out/schedules.svg", "svg", ""},
		{"A.PNG", "png", ""},
		{"curves.pdf", "", `cannot tell the image format of "curves.pdf"`},
		{"noext", "", "must end in .svg or .png"},
	}
	for _, tc := range tests {
		got, err := FormatOf(tc.path)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("FormatOf(%q) error = %v, want %q", tc.path, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("FormatOf(%q) = %q, %v; want %q", tc.path, got, err, tc.want)
		}
	}
}

func TestHeatmap(t *testing.T) {
	g := Grid{
		Rows:   []string{"cosine", "wsd"},
		Cols:   []string{"1e-4", "3e-4", "1e-3"},
		Values: [][]float64{{3.91, 3.52, 3.77}, {3.88, math.NaN(), 3.61}},
	}
	c := Chart{Title: "final loss", XLabel: "peak lr", YLabel: "schedule", Width: 500, Height: 300}
	var buf bytes.Buffer
	if err := c.Heatmap(&buf, "svg", g); err != nil {
		t.Fatal(err)
	}
	text := svgText(t, buf.Bytes())
	for _, w := range []string{"final loss", "peak lr", "schedule", "cosine", "wsd", "1e-4", "3e-4", "1e-3", "3.91", "3.52", "3.61", "–"} {
		if !strings.Contains(text, w) {
			t.Errorf("heat map SVG text lacks %q", w)
		}
	}
	// Labels on dark cells (the ends of the blue-white-red scale) are
	// white, on light ones black.
	svg := buf.String()
	for _, tc := range []struct {
		label string
		white bool
	}{{"3.52", true}, {"3.91", true}, {"3.77", false}, {"3.88", true}} {
		i := strings.Index(svg, ">"+tc.label+"</text>")
		if i < 0 {
			t.Fatalf("no text element for %s", tc.label)
		}
		start := strings.LastIndex(svg[:i], "<text")
		if white := strings.Contains(svg[start:i], "fill:#FFFFFF"); white != tc.white {
			t.Errorf("label %s: white %v, want %v", tc.label, white, tc.white)
		}
	}
	buf.Reset()
	if err := c.Heatmap(&buf, "png", g); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 500 || b.Dy() != 300 {
		t.Errorf("heat map PNG is %dx%d, want 500x300", b.Dx(), b.Dy())
	}
}

func TestHeatmapErrors(t *testing.T) {
	tests := []struct {
		name string
		g    Grid
		want string
	}{
		{"empty", Grid{}, "at least one row and one column"},
		{"rows", Grid{Rows: []string{"a", "b"}, Cols: []string{"x"}, Values: [][]float64{{1}}}, "2 row labels and 1 rows"},
		{"cols", Grid{Rows: []string{"a"}, Cols: []string{"x", "y"}, Values: [][]float64{{1}}}, `row 0 ("a") has 1 values for 2 columns`},
		{"inf", Grid{Rows: []string{"a"}, Cols: []string{"x"}, Values: [][]float64{{math.Inf(-1)}}}, `cell ("a", "x") is -Inf`},
	}
	for _, tc := range tests {
		err := Chart{}.Heatmap(io.Discard, "svg", tc.g)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error = %v, want %q", tc.name, err, tc.want)
		}
	}
}

// chartLines renders a terminal chart and splits it into lines.
func chartLines(t *testing.T, w, h int, series ...Series) []string {
	t.Helper()
	var buf bytes.Buffer
	if err := Terminal(&buf, w, h, series...); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasSuffix(out, "\n") {
		t.Fatalf("chart does not end in a newline: %q", out)
	}
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}

func TestTerminalDimensions(t *testing.T) {
	long := strings.Repeat("wsd(peak=3e-4, steps=10000) ", 5)
	for _, size := range [][2]int{{80, 24}, {40, 10}, {120, 40}, {20, 8}} {
		for _, series := range [][]Series{
			{cosine("cosine", 3e-4, 1000)},
			{cosine("cosine", 3e-4, 1000), linear("linear", 3e-4, 1000), linear(long, 1e-4, 500)},
		} {
			lines := chartLines(t, size[0], size[1], series...)
			if len(lines) != size[1] {
				t.Errorf("%dx%d, %d series: %d lines", size[0], size[1], len(series), len(lines))
			}
			for i, l := range lines {
				if n := utf8.RuneCountInString(l); n != size[0] {
					t.Errorf("%dx%d: line %d has %d runes: %q", size[0], size[1], i, n, l)
				}
			}
		}
	}
}

// plotArea returns the plot rows (the lines above the x axis) with the
// label column and axis removed.
func plotArea(t *testing.T, lines []string) [][]rune {
	t.Helper()
	var rows [][]rune
	for _, l := range lines {
		if strings.Contains(l, "└") {
			return rows
		}
		r := []rune(l)
		axis := -1
		for i, c := range r {
			if c == '│' || c == '┤' {
				axis = i
				break
			}
		}
		if axis < 0 {
			t.Fatalf("plot line without an axis: %q", l)
		}
		rows = append(rows, r[axis+1:])
	}
	t.Fatal("no x axis line")
	return nil
}

func TestTerminalMonotone(t *testing.T) {
	for _, s := range []Series{cosine("cosine", 3e-4, 1000), linear("linear", 1, 77)} {
		lines := chartLines(t, 70, 20, s)
		area := plotArea(t, lines)
		H, W := len(area), len(area[0])
		prevTop, prevBottom := -1, -1
		for c := range W {
			top, bottom := -1, -1
			for r := range H {
				if area[r][c] == Marker(0) {
					if top < 0 {
						top = r
					}
					bottom = r
				}
			}
			if top < 0 {
				t.Fatalf("%s: column %d is empty", s.Name, c)
			}
			for r := top; r <= bottom; r++ {
				if area[r][c] != Marker(0) {
					t.Fatalf("%s: column %d has a gap at row %d", s.Name, c, r)
				}
			}
			if c > 0 {
				if top < prevTop || bottom < prevBottom {
					t.Fatalf("%s: column %d spans rows %d..%d after %d..%d: not a decreasing curve", s.Name, c, top, bottom, prevTop, prevBottom)
				}
				// Consecutive columns share their boundary value, so the
				// spans of a continuous curve touch.
				if top > prevBottom {
					t.Fatalf("%s: column %d starts at row %d, below the previous column's end %d", s.Name, c, top, prevBottom)
				}
			}
			prevTop, prevBottom = top, bottom
		}
		if area[0][0] != Marker(0) {
			t.Errorf("%s: the curve does not start in the top-left cell", s.Name)
		}
		if area[H-1][W-1] != Marker(0) {
			t.Errorf("%s: the curve does not end in the bottom-right cell", s.Name)
		}
	}
}

func TestTerminalLabelsAndLegend(t *testing.T) {
	lines := chartLines(t, 60, 16, cosine("cosine(peak=3e-4)", 3e-4, 10000), linear("linear(peak=1e-4)", 1e-4, 10000))
	area := plotArea(t, lines)
	if !strings.HasPrefix(strings.TrimSpace(lines[0]), "0.0003 ┤") {
		t.Errorf("top line %q: want the y maximum 0.0003 as its label", lines[0])
	}
	bottom := lines[len(area)-1]
	if !strings.HasPrefix(strings.TrimSpace(bottom), "0 ┤") {
		t.Errorf("bottom plot line %q: want the y minimum 0 as its label", bottom)
	}
	xrange := strings.Fields(lines[len(area)+1])
	if len(xrange) != 2 || xrange[0] != "0" || xrange[1] != "10000" {
		t.Errorf("x range line %q: want 0 ... 10000", lines[len(area)+1])
	}
	legend := strings.Join(lines[len(area)+2:], "\n")
	for i, name := range []string{"cosine(peak=3e-4)", "linear(peak=1e-4)"} {
		if !strings.Contains(legend, string(Marker(i))+" "+name) {
			t.Errorf("legend %q lacks %q", legend, string(Marker(i))+" "+name)
		}
	}
	// The linear series stays at or below a third of the height at its
	// start: 1e-4 of 3e-4.
	H := len(area)
	for r := range H {
		if area[r][0] == Marker(1) {
			want := int(math.Round(float64(H-1) * 2 / 3))
			if r != want {
				t.Errorf("linear series starts at row %d, want %d", r, want)
			}
			break
		}
	}
}

func TestTerminalStepIsVertical(t *testing.T) {
	// A step from 1 to 0 halfway is drawn as a vertical line: one or two
	// adjacent columns together cover every row, and every other column is
	// a single cell on the top or the bottom row.
	s := Series{Name: "step", X: []float64{0, 49, 50, 99}, Y: []float64{1, 1, 0, 0}}
	area := plotArea(t, chartLines(t, 41, 12, s))
	H := len(area)
	var drop []int
	for c := range area[0] {
		n := 0
		for r := range area {
			if area[r][c] == Marker(0) {
				n++
			}
		}
		switch {
		case n > 1:
			drop = append(drop, c)
		case n == 1 && area[0][c] != Marker(0) && area[H-1][c] != Marker(0):
			t.Errorf("column %d has its only cell off the top and bottom rows", c)
		}
	}
	if len(drop) == 0 || len(drop) > 2 || drop[len(drop)-1]-drop[0] > 1 {
		t.Fatalf("drop drawn in columns %v, want one or two adjacent columns", drop)
	}
	for r := range H {
		covered := false
		for _, c := range drop {
			covered = covered || area[r][c] == Marker(0)
		}
		if !covered {
			t.Errorf("row %d is not covered by the drop", r)
		}
	}
}

func TestTerminalErrors(t *testing.T) {
	tests := []struct {
		name   string
		w, h   int
		series []Series
		want   string
	}{
		{"no series", 80, 24, nil, "no series"},
		{"too small", 10, 4, []Series{cosine("c", 1, 10)}, "too small"},
		{"negative", -1, 5, []Series{cosine("c", 1, 10)}, "not positive"},
		{"unsorted", 80, 24, []Series{{Name: "u", X: []float64{1, 0}, Y: []float64{1, 1}}}, `series "u": x values must be non-decreasing`},
		{"nan", 80, 24, []Series{{Name: "n", X: []float64{0}, Y: []float64{math.NaN()}}}, `series "n": y[0] is NaN`},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		err := Terminal(&buf, tc.w, tc.h, tc.series...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error = %v, want %q", tc.name, err, tc.want)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: wrote %q on error", tc.name, buf.String())
		}
	}
}

func TestTerminalConstant(t *testing.T) {
	// A constant series is drawn in the middle row, labelled with its value.
	s := Series{Name: "constant", X: []float64{0, 100}, Y: []float64{3e-4, 3e-4}}
	lines := chartLines(t, 40, 11, s)
	area := plotArea(t, lines)
	mid := int(math.Round(float64(len(area)-1) / 2))
	for c := range area[mid] {
		if area[mid][c] != Marker(0) {
			t.Fatalf("row %d column %d is %q, want the marker", mid, c, area[mid][c])
		}
	}
}

func TestSparkline(t *testing.T) {
	tests := []struct {
		ys    []float64
		width int
		want  string
	}{
		{[]float64{0, 1, 2, 3, 4, 5, 6, 7}, 0, "▁▂▃▄▅▆▇█"},
		{[]float64{7, 6, 5, 4, 3, 2, 1, 0}, 100, "█▇▆▅▄▃▂▁"},
		{[]float64{0, 0, 7, 7}, 2, "▁█"},
		{[]float64{1, math.NaN(), 3}, 0, "▁ █"},
		{[]float64{2, 2, 2}, 0, "▁▁▁"},
		{nil, 10, ""},
	}
	for _, tc := range tests {
		if got := Sparkline(tc.ys, tc.width); got != tc.want {
			t.Errorf("Sparkline(%v, %d) = %q, want %q", tc.ys, tc.width, got, tc.want)
		}
	}
	// Width is honoured for long inputs and a decay never rises.
	c := cosine("c", 1, 1000)
	s := []rune(Sparkline(c.Y, 30))
	if len(s) != 30 {
		t.Fatalf("sparkline has %d runes, want 30", len(s))
	}
	for i := 1; i < len(s); i++ {
		if s[i] > s[i-1] {
			t.Errorf("sparkline of a decay rises at %d: %q", i, string(s))
		}
	}
}

// FuzzTerminal draws arbitrary series at arbitrary sizes: Terminal never
// panics, and when it succeeds the chart has exactly the requested size.
func FuzzTerminal(f *testing.F) {
	f.Add(80, 24, []byte{0, 10, 20, 30, 255})
	f.Add(20, 8, []byte{5})
	f.Add(9, 5, []byte{1, 1, 1, 1})
	f.Add(200, 60, []byte{255, 0, 255, 0, 128})
	f.Fuzz(func(t *testing.T, w, h int, data []byte) {
		if w > 400 || h > 200 {
			return
		}
		var a, b Series
		a.Name, b.Name = "a", strings.Repeat("b", len(data))
		for i, v := range data {
			a.X = append(a.X, float64(i))
			a.Y = append(a.Y, float64(v)*1e-4)
			b.X = append(b.X, float64(i/2))
			b.Y = append(b.Y, -float64(v))
		}
		var buf bytes.Buffer
		if err := Terminal(&buf, w, h, a, b); err != nil {
			if buf.Len() != 0 {
				t.Fatalf("wrote output and failed: %v", err)
			}
			return
		}
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		if len(lines) != h {
			t.Fatalf("%d lines, want %d", len(lines), h)
		}
		for i, l := range lines {
			if n := utf8.RuneCountInString(l); n != w {
				t.Fatalf("line %d: %d runes, want %d", i, n, w)
			}
		}
	})
}

// TestLogAxisSkipsNonPositive: a schedule that reaches 0 plots on a log
// axis; the zero is left out and the title says so.
func TestLogAxisSkipsNonPositive(t *testing.T) {
	var buf bytes.Buffer
	if err := (Chart{Title: "linear", LogY: true}).Lines(&buf, "svg", linear("lin", 1, 4), cosine("cos", 1, 4)); err != nil {
		t.Fatal(err)
	}
	text := svgText(t, buf.Bytes())
	if !strings.Contains(text, "(2 values <= 0 not drawn on the log axis)") {
		t.Errorf("no note on the dropped points in %q", text)
	}
	// Every value non-positive: still a chart, not an error.
	buf.Reset()
	zero := Series{Name: "z", X: []float64{0, 1}, Y: []float64{0, 0}}
	if err := (Chart{LogY: true}).Lines(&buf, "svg", zero); err != nil {
		t.Fatal(err)
	}
}

// TestSVGEmbedsFont: the font is inside the SVG, so a browser draws the
// text with the metrics the layout was computed with.
func TestSVGEmbedsFont(t *testing.T) {
	var buf bytes.Buffer
	if err := (Chart{Title: "t"}).Lines(&buf, "svg", linear("lin", 1, 4)); err != nil {
		t.Fatal(err)
	}
	doc := buf.String()
	if !strings.Contains(doc, "@font-face") || !strings.Contains(doc, "base64,") {
		t.Errorf("SVG does not embed its font (%d bytes)", len(doc))
	}
}

// TestStylesBandsAndClipping: observed dots, a dashed prediction with a
// band, and a y range taken from the observations with the blow-up marked.
func TestStylesBandsAndClipping(t *testing.T) {
	obs := Series{Name: "observed", X: []float64{0, 1, 2, 3}, Y: []float64{3, 2.5, 2.2, 2.1}, Style: Dots}
	pred := Series{Name: "predicted", X: []float64{0, 1, 2, 3}, Y: []float64{40, 2.4, 2.15, 2.05}, Style: Dashed,
		Lower: []float64{30, 2.3, 2.1, 2.0}, Upper: []float64{50, 2.5, 2.2, 2.1}}
	r := RangeOf(false, obs)
	if math.Abs(r[0]-2.055) > 1e-12 || math.Abs(r[1]-3.045) > 1e-12 {
		t.Fatalf("RangeOf = %v, want [2.055 3.045]", r)
	}
	var buf bytes.Buffer
	if err := (Chart{YRange: r}).Lines(&buf, "svg", obs, pred); err != nil {
		t.Fatal(err)
	}
	doc := buf.String()
	svgText(t, buf.Bytes())
	if !strings.Contains(doc, "stroke-dasharray") {
		t.Error("no dashed line")
	}
	if !strings.Contains(doc, "fill-opacity") && !strings.Contains(doc, "fill=\"#") {
		t.Error("no band fill")
	}
	if lr := RangeOf(true, Series{Y: []float64{0, 1, 100}}); math.Abs(lr[0]-1/math.Pow(100, 0.05)) > 1e-12 || math.Abs(lr[1]-100*math.Pow(100, 0.05)) > 1e-9 {
		t.Errorf("log RangeOf = %v", lr)
	}
	if z := RangeOf(false, Series{Y: []float64{math.NaN()}}); z != [2]float64{} {
		t.Errorf("RangeOf of nothing = %v", z)
	}
}

// TestSVGFontInChromium: Chromium accepts the embedded subset (its font
// sanitizer rejects malformed fonts silently) and draws the chart's text
// with it. LRKIT_SCREENSHOT names a PNG to keep.
func TestSVGFontInChromium(t *testing.T) {
	chrome := browsertest.Chromium(t)
	var buf bytes.Buffer
	c := Chart{Title: "Schedules: cosine and WSD (1-sqrt)", XLabel: "step", YLabel: "learning rate", Width: 640, Height: 400}
	if err := c.Lines(&buf, "svg", cosine("cosine(peak=3e-4, steps=10000)", 3e-4, 200), linear("linear(peak=3e-4, steps=10000)", 3e-4, 200)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "page.html")
	html := `<!doctype html><html><body style="margin:0">` + buf.String() + `<pre id="out">pending</pre><script>
document.fonts.ready.then(() => {
  const s = [];
  document.fonts.forEach(f => s.push(f.family + ":" + f.status));
  document.getElementById("out").textContent = s.join(",");
});
</script></body></html>`
	if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := chrome("--virtual-time-budget=5000", "--dump-dom", "file://"+page)
	if !strings.Contains(dom, `"Liberation Serif":loaded`) && !strings.Contains(dom, `Liberation Serif:loaded`) {
		i := strings.Index(dom, `id="out"`)
		t.Fatalf("the embedded font did not load: %.200s", dom[max(i, 0):])
	}
	if shot := os.Getenv("LRKIT_SCREENSHOT"); shot != "" {
		chrome("--window-size=640,400", "--screenshot="+shot, "file://"+page)
	}
}
