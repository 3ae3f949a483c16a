package losscurve

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/schedule"
)

func TestReadRunFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var csv, jsonl strings.Builder
	csv.WriteString("step,lr,loss\n")
	for i := 1; i <= 8; i++ {
		csv.WriteString(strings.Join([]string{itoa(i * 10), "0.001", ftoa(5 - 0.1*float64(i))}, ",") + "\n")
		if i == 3 {
			csv.WriteString("\n") // a blank line still counts as a line
		}
		jsonl.WriteString(`{"step":` + itoa(i*10) + `,"lr":0.001,"loss":` + ftoa(5-0.1*float64(i)) + "}\n")
	}
	good := write("good.csv", csv.String())
	run, warns, err := ReadRunFile(good, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Points) != 8 || len(run.LRs) != 81 || len(warns) != 1 || !strings.Contains(warns[0], "interpolated") {
		t.Errorf("%d points, %d rates, warnings %v", len(run.Points), len(run.LRs), warns)
	}
	sched := schedule.Constant{Peak: 2e-3}
	run, warns, err = ReadRunFile(good, FileOptions{Schedule: sched})
	if err != nil || run.LRs[5] != 2e-3 || len(warns) != 0 {
		t.Errorf("with a schedule: rate %g, warnings %v, error %v", run.LRs[5], warns, err)
	}
	for _, tc := range []struct {
		name, text, want string
	}{
		// Line 6: the header, three rows, a blank line, then step 40.
		{"nan.csv", strings.Replace(csv.String(), "40,0.001,4.6", "40,0.001,NaN", 1), "nan.csv:6: loss is NaN at step 40"},
		{"neg.jsonl", strings.Replace(jsonl.String(), `"loss":4.7`, `"loss":-4.7`, 1), "neg.jsonl:3: loss is -4.7 at step 30"},
		{"parse.csv", strings.Replace(csv.String(), "0.001,4.5", "0.001,x", 1), "parse.csv:7"},
	} {
		if _, _, err := ReadRunFile(write(tc.name, tc.text), FileOptions{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	runs, _, err := ReadRunFiles([]RunFile{{Path: good}, {Path: write("b.jsonl", jsonl.String()), Schedule: sched}}, FileOptions{})
	if err != nil || len(runs) != 2 || runs[1].LRs[3] != 2e-3 {
		t.Errorf("ReadRunFiles: %v", err)
	}
	if _, _, err := ReadRunFile(filepath.Join(dir, "missing.csv"), FileOptions{}); err == nil || !strings.Contains(err.Error(), "missing.csv") {
		t.Errorf("missing file: %v", err)
	}
}

func itoa(i int) string     { return strconv.Itoa(i) }
func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
