package main

import (
	"bytes"
	"encoding/xml"
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
	// The legend names each schedule by its spec text; the x axis runs to
	// the horizon, 10000; the top label is the peak.
	for _, s := range specs {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("legend lacks %q", s)
		}
	}
	if !strings.Contains(r.stdout, " 10000") || !strings.HasPrefix(strings.TrimSpace(lines[0]), "0.0003 ┤") {
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
	if !strings.Contains(r.stdout, " 700") {
		t.Errorf("x range does not end at 700:\n%s", r.stdout)
	}
	// With several specs the longest horizon wins and a spec without one
	// is drawn over it.
	r = runLrkit("plot", "cosine(steps=300)", "linear(steps=900)", "sgdr(period=100)", "--width", "60", "--height", "14")
	if r.code != 0 || !strings.Contains(r.stdout, " 900") {
		t.Errorf("exit %d, want the x range to end at 900:\n%s%s", r.code, r.stdout, r.stderr)
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
		{"no spec", []string{"plot"}, "at least one schedule SPEC"},
		{"extension", []string{"plot", "cosine(steps=10)", "-o", filepath.Join(dir, "a.pdf")}, "must end in .svg or .png"},
		{"log of zero", []string{"plot", "cosine(steps=10)", "-o", filepath.Join(dir, "b.svg"), "--log-y"}, "cannot be drawn on a log scale"},
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
