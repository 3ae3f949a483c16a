package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPlotTerminal(t *testing.T) {
	specs := []string{"cosine(peak=3e-4, steps=10000)", "wsd(peak=3e-4, steps=10000, warmup=500, decay=0.2, shape=1-sqrt)"}
	r := runLrkit(append([]string{"plot", "--width", "72", "--height", "20"}, specs...)...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 20 {
		t.Errorf("%d lines, want 20", len(lines))
	}
	for i, l := range lines {
		if n := utf8.RuneCountInString(l); n != 72 {
			t.Errorf("line %d has %d columns, want 72", i, n)
		}
	}
	// The legend names each schedule by its spec text; the x axis runs
	// over the horizon's 10000 updates, to step 9999; the top label is the
	// peak.
	for _, s := range specs {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("legend lacks %q", s)
		}
	}
	if !strings.Contains(r.stdout, " 9999") || !strings.HasPrefix(strings.TrimSpace(lines[0]), "0.0003 ┤") {
		t.Errorf("axes: x range or top label missing:\n%s", r.stdout)
	}
}

func TestPlotSteps(t *testing.T) {
	// Without a horizon, --steps is needed; with it, the x range ends there.
	checkBadInput(t, runLrkit("plot", "sgdr(period=100, mult=2)"), "no horizon (a steps parameter) to stop at; give --steps N")
	r := runLrkit("plot", "sgdr(period=100, mult=2)", "--steps", "700", "--width", "60", "--height", "12")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, " 699") {
		t.Errorf("x range does not end at 699:\n%s", r.stdout)
	}
	// With several specs the longest horizon wins and a spec without one
	// is drawn over it.
	r = runLrkit("plot", "cosine(steps=300)", "linear(steps=900)", "sgdr(period=100)", "--width", "60", "--height", "14")
	if r.code != 0 || !strings.Contains(r.stdout, " 899") {
		t.Errorf("exit %d, want the x range to end at 899:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestPlotImage(t *testing.T) {
	dir := t.TempDir()
	specs := []string{"cosine(peak=3e-4, steps=1000)", "rex(peak=3e-4, steps=1000)"}

	svgPath := filepath.Join(dir, "s.svg")
	r := runLrkit(append([]string{"plot", "-o", svgPath}, specs...)...)
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	data, err := os.ReadFile(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse: %v", err)
		}
		if cd, ok := tok.(xml.CharData); ok {
			text.Write(cd)
		}
	}
	for _, want := range append([]string{"step", "learning rate"}, specs...) {
		if !strings.Contains(text.String(), want) {
			t.Errorf("SVG lacks %q", want)
		}
	}

	pngPath := filepath.Join(dir, "s.png")
	r = runLrkit("plot", "-o", pngPath, "--width", "640", "--height", "360", "--log-y", "cosine(peak=3e-4, floor=1e-6, steps=1000)")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 640 || b.Dy() != 360 {
		t.Errorf("PNG is %dx%d, want 640x360", b.Dx(), b.Dy())
	}
}

func TestPlotErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no spec", []string{"plot"}, "at least one schedule SPEC or run LOG"},
		{"extension", []string{"plot", "cosine(steps=10)", "-o", filepath.Join(dir, "a.pdf")}, "must end in .svg or .png"},
		{"smooth on a schedule", []string{"plot", "cosine(steps=10)", "--smooth", "0.5"}, "--fields and --smooth are for run logs"},
		{"bad smooth", []string{"plot", "cosine(steps=10)", "--smooth", "1"}, "--smooth must be in [0, 1), got 1"},
		{"mixed", []string{"plot", "cosine(steps=10)", "missing.csv"}, "give schedule specs or run logs, not both (1 of 2 arguments are run logs)"},
		{"missing log", []string{"plot", filepath.Join(dir, "missing.csv")}, "no such file or directory"},
		{"log in terminal", []string{"plot", "cosine(steps=10)", "--log-y"}, "--log-y needs an image"},
		{"tiny", []string{"plot", "cosine(steps=10)", "--width", "5", "--height", "3"}, "too small"},
		{"negative size", []string{"plot", "cosine(steps=10)", "--width", "-5"}, "must be positive"},
		{"huge terminal", []string{"plot", "cosine(steps=10)", "--height", "1000000"}, "must be at most 2000"},
		{"huge image", []string{"plot", "cosine(steps=10)", "-o", filepath.Join(dir, "c.png"), "--width", "100000"}, "must be at most 20000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkBadInput(t, runLrkit(tc.args...), tc.want)
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed plots left files: %v", entries)
	}
}

// TestPlotLogAxisReachesZero: a schedule that reaches 0 draws on a log
// axis, its zero left out with a note.
func TestPlotLogAxisReachesZero(t *testing.T) {
	out := filepath.Join(t.TempDir(), "log.svg")
	r := runLrkit("plot", "cosine(steps=10)", "--steps", "11", "-o", out, "--log-y")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(b), "not drawn on the log axis") {
		t.Errorf("no note on the zero: %v", err)
	}
}

// writeRunLog writes a small CSV run log for the plot tests.
func writeRunLog(t *testing.T, path string, scale float64) {
	t.Helper()
	var b strings.Builder
	b.WriteString("step,lr,loss,val_loss,grad_norm\n")
	for i := 0; i < 50; i++ {
		val := ""
		if i%10 == 9 {
			val = fmt.Sprint(scale * 2 / float64(i+1))
		}
		fmt.Fprintf(&b, "%d,%g,%g,%s,%g\n", i, 0.1*(1-float64(i)/50), scale*3/float64(i+1)+0.1*float64(i%3), val, 1+0.5*float64(i%2))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPlotRunLogs(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv")
	writeRunLog(t, a, 1)
	writeRunLog(t, b, 2)
	svg := filepath.Join(dir, "runs.svg")
	r := runLrkit("plot", a, b, "--smooth", "0.6", "-o", svg)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	doc, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"loss (smoothed, weight 0.6)", "val_loss", ">lr<", "grad_norm (smoothed, weight 0.6)", "a.csv", "b.csv"} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("figure lacks %q", want)
		}
	}
	// The terminal: one chart per field, with its title.
	r = runLrkit("plot", a, "--fields", "lr,loss", "--width", "60", "--height", "12")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "lr\n") || !strings.Contains(r.stdout, "\nloss\n") {
		t.Errorf("terminal: exit %d, %q", r.code, r.stdout)
	}
	checkBadInput(t, runLrkit("plot", a, "--fields", "lr,bogus"), `--fields: "bogus" is not a run-log field`)
	checkBadInput(t, runLrkit("plot", a, "--fields", "val_metric"), "--fields: no log holds val_metric")
	checkBadInput(t, runLrkit("plot", a, "--steps", "5"), "--steps is for schedules")
}
