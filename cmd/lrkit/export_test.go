package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/schedule"
)

// exportedJSON is the JSON table of lrkit export.
type exportedJSON struct {
	Spec  string    `json:"spec"`
	Steps int64     `json:"steps"`
	LR    []float64 `json:"lr"`
}

func TestExportCSV(t *testing.T) {
	r := runLrkit("export", "linear(peak=1, floor=0.2, steps=4)", "--format", "csv")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// Steps 0..N-1 of the N=4 updates, the horizon by default, each rate
	// in full precision.
	s, err := schedule.Parse("linear(peak=1, floor=0.2, steps=4)")
	if err != nil {
		t.Fatal(err)
	}
	want := "step,lr\n"
	for i := int64(0); i < 4; i++ {
		want += strconv.FormatInt(i, 10) + "," + strconv.FormatFloat(s.LR(i), 'g', -1, 64) + "\n"
	}
	if r.stdout != want {
		t.Errorf("got %q, want %q", r.stdout, want)
	}
	steps, lrs := readTable(t, r.stdout)
	for i, w := range []float64{1, 0.8, 0.6, 0.4} {
		if steps[i] != int64(i) || !closeRel(lrs[i], w) {
			t.Errorf("row %d: %d,%v; want %d,%v", i, steps[i], lrs[i], i, w)
		}
	}
}

func TestExportJSON(t *testing.T) {
	tests := []struct {
		spec  string
		args  []string
		steps int64
	}{
		{"wsd(peak=3e-4, steps=1000, warmup=100, decay=0.2, shape=1-sqrt)", nil, 1000},
		{"sgdr(peak=0.1, period=50, mult=2)", []string{"--steps", "333"}, 333},
		{"cosine(peak=0.1, steps=100)", []string{"--steps", "150", "--parity", "pytorch"}, 150},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			r := runLrkit(append([]string{"export", tc.spec, "--format", "json"}, tc.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var got exportedJSON
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
				t.Fatalf("not JSON: %v\n%.200s", err, r.stdout)
			}
			if got.Steps != tc.steps || int64(len(got.LR)) != tc.steps {
				t.Fatalf("steps %d with %d rates, want %d", got.Steps, len(got.LR), tc.steps)
			}
			// The spec field is canonical text that parses back to the
			// exported schedule, and the rates are exact.
			s, err := schedule.Parse(got.Spec)
			if err != nil {
				t.Fatalf("exported spec %q does not parse: %v", got.Spec, err)
			}
			for i, v := range got.LR {
				if v != s.LR(int64(i)) {
					t.Fatalf("lr[%d] = %v, %s gives %v", i, v, got.Spec, s.LR(int64(i)))
				}
			}
			if strings.Contains(strings.Join(tc.args, " "), "pytorch") && !strings.Contains(got.Spec, "parity=pytorch") {
				t.Errorf("spec %q lost the parity", got.Spec)
			}
		})
	}
}

func TestExportFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lr.json")
	r := runLrkit("export", "cosine(steps=10)", "--format", "json", "-o", path)
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got exportedJSON
	if err := json.Unmarshal(data, &got); err != nil || len(got.LR) != 10 || got.LR[0] != 1 {
		t.Errorf("file holds %q (err %v)", data, err)
	}
}

func TestExportErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"format", []string{"export", "cosine(steps=10)", "--format", "xml"}, `--format must be csv or json, got "xml"`},
		{"no horizon", []string{"export", "cyclic(low=0.1, high=1)"}, "has no horizon"},
		{"zero steps", []string{"export", "cosine(steps=10)", "--steps", "0"}, "--steps must be a positive"},
		{"too many", []string{"export", "cosine(steps=10)", "--steps", "100000001"}, "more than lrkit exports"},
		{"no spec", []string{"export"}, "want 1 schedule SPEC argument(s), got 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkBadInput(t, runLrkit(tc.args...), tc.want)
		})
	}
	// A bad spec creates no file.
	path := filepath.Join(t.TempDir(), "lr.csv")
	checkBadInput(t, runLrkit("export", "cosine(stps=10)", "-o", path), "spec:1:8:")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a file was created for a bad spec: %v", err)
	}
}
