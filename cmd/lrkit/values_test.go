package main

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/lrkit/lrkit/schedule"
)

// cliResult is what one in-process lrkit invocation printed and returned.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runLrkit executes the CLI in-process with its output captured, and maps
// the error to an exit status and a stderr line exactly as run does.
func runLrkit(args ...string) cliResult {
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.Execute()
	code := 0
	if err != nil {
		fmt.Fprintln(&errb, "lrkit: "+err.Error())
		code = 1
		var ue usageError
		if errors.As(err, &ue) {
			code = 2
		}
	}
	return cliResult{out.String(), errb.String(), code}
}

// readTable parses step,lr CSV.
func readTable(t *testing.T, text string) ([]int64, []float64) {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil {
		t.Fatalf("output is not CSV: %v\n%s", err, text)
	}
	if len(rows) == 0 || rows[0][0] != "step" || rows[0][1] != "lr" {
		t.Fatalf("output does not start with the header step,lr:\n%s", text)
	}
	var steps []int64
	var lrs []float64
	for i, r := range rows[1:] {
		s, err1 := strconv.ParseInt(r[0], 10, 64)
		v, err2 := strconv.ParseFloat(r[1], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("row %d %q is not step,lr", i+2, r)
		}
		steps = append(steps, s)
		lrs = append(lrs, v)
	}
	return steps, lrs
}

// closeRel reports |got − want| <= 1e-9·|want|, or <= 1e-15 near zero.
func closeRel(got, want float64) bool {
	d := math.Abs(got - want)
	return d <= 1e-15 || d <= 1e-9*math.Abs(want)
}

func TestValuesAt(t *testing.T) {
	spec := "wsd(peak=3e-4, steps=10000, warmup=500, decay=0.2, shape=1-sqrt)"
	r := runLrkit("values", spec, "--at", "0, 1,250,500,8000,9000,10000,20000")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	steps, lrs := readTable(t, r.stdout)
	s, err := schedule.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{0, 1, 250, 500, 8000, 9000, 10000, 20000}
	if fmt.Sprint(steps) != fmt.Sprint(want) {
		t.Fatalf("steps %v, want %v", steps, want)
	}
	for i, st := range steps {
		// Full precision: the printed text reads back to the same float64.
		if lrs[i] != s.LR(st) {
			t.Errorf("step %d: printed %v, schedule gives %v", st, lrs[i], s.LR(st))
		}
	}
	// Spot values from the spec (§13, Table G's 1-sqrt row scaled by 3e-4;
	// warmup 500 here): 1.5e-4 halfway through the warmup, the peak in the
	// stable phase, 3e-4·(1−√0.5) halfway through the decay, 0 at the end.
	for _, c := range []struct {
		i    int
		want float64
	}{{0, 0}, {2, 1.5e-4}, {3, 3e-4}, {4, 3e-4}, {5, 3e-4 * (1 - math.Sqrt(0.5))}, {6, 0}, {7, 0}} {
		if !closeRel(lrs[c.i], c.want) {
			t.Errorf("step %d: %v, want %v", steps[c.i], lrs[c.i], c.want)
		}
	}
}

func TestValuesJSONSpec(t *testing.T) {
	text := "wsd(peak=3e-4, steps=1000, warmup=100, decay=0.2, shape=1-sqrt)"
	s, err := schedule.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	js, err := schedule.ToJSON(s)
	if err != nil {
		t.Fatal(err)
	}
	a := runLrkit("values", text, "--every", "50")
	b := runLrkit("values", string(js), "--every", "50")
	if a.code != 0 || b.code != 0 || a.stdout != b.stdout {
		t.Errorf("text and JSON specs differ:\n%s%s\n%s%s", a.stdout, a.stderr, b.stdout, b.stderr)
	}
	checkBadInput(t, runLrkit("values", `{"kind": "cosine", "steps": 0.5}`, "--at", "0"), "lrkit: $.steps: ")
}

func TestValuesEvery(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		steps []int64
	}{
		{"horizon", []string{"values", "cosine(peak=1, steps=1000)", "--every", "250"}, []int64{0, 250, 500, 750}},
		{"horizon plus one", []string{"values", "cosine(peak=1, steps=1000)", "--every", "250", "--steps", "1001"}, []int64{0, 250, 500, 750, 1000}},
		{"steps flag", []string{"values", "sgdr(period=10)", "--every", "3", "--steps", "10"}, []int64{0, 3, 6, 9}},
		{"every past end", []string{"values", "linear(steps=5)", "--every", "7"}, []int64{0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runLrkit(tc.args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			steps, _ := readTable(t, r.stdout)
			if fmt.Sprint(steps) != fmt.Sprint(tc.steps) {
				t.Errorf("steps %v, want %v", steps, tc.steps)
			}
		})
	}
}

// TestValuesParityPyTorch runs `lrkit values --parity pytorch` on specs
// written without a parity option and compares every printed step with
// the table that PyTorch 1.13 itself produced (schedule/testdata/pytorch,
// made by gen.py there).
func TestValuesParityPyTorch(t *testing.T) {
	tests := []struct {
		file, spec string
		last       string
	}{
		// CosineAnnealingLR(T_max=100, eta_min=0.001): past T_max the rate
		// rises again, which lrkit's default does not do.
		{"cosine_eta_min_long.csv", "cosine(peak=0.1, floor=0.001, steps=100)", "451"},
		// OneCycleLR(anneal_strategy='linear'): PyTorch extrapolates at
		// step T to a negative rate.
		{"onecycle_linear.csv", "onecycle(peak=0.1, steps=200, shape=linear)", "201"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			ref, err := os.ReadFile(filepath.Join("..", "..", "schedule", "testdata", "pytorch", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			wantSteps, want := readTable(t, string(ref))
			r := runLrkit("values", tc.spec, "--every", "1", "--steps", tc.last, "--parity", "pytorch")
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			steps, got := readTable(t, r.stdout)
			if fmt.Sprint(steps) != fmt.Sprint(wantSteps) {
				t.Fatalf("printed steps %v..., want the reference's %v...", steps[:3], wantSteps[:3])
			}
			for i := range got {
				if !closeRel(got[i], want[i]) {
					t.Errorf("step %d: lrkit %v, PyTorch %v", steps[i], got[i], want[i])
				}
			}
			// Without --parity the clean rule differs past the end.
			r = runLrkit("values", tc.spec, "--at", tc.last)
			_, clean := readTable(t, r.stdout)
			if closeRel(clean[0], want[len(want)-1]) {
				t.Errorf("without --parity step %s gives PyTorch's %v too; the test does not exercise parity", tc.last, clean[0])
			}
		})
	}
}

// TestValuesEveryTorchCase runs every case of schedule/testdata/pytorch
// through the CLI: a spec that needs parity=pytorch is given without it
// and with --parity pytorch instead, and each printed step must match the
// rate PyTorch recorded.
func TestValuesEveryTorchCase(t *testing.T) {
	dir := filepath.Join("..", "..", "schedule", "testdata", "pytorch")
	f, err := os.Open(filepath.Join(dir, "cases.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 10 {
		t.Fatalf("only %d cases", len(rows)-1)
	}
	for _, row := range rows[1:] {
		name, spec := row[0], row[2]
		t.Run(name, func(t *testing.T) {
			ref, err := os.ReadFile(filepath.Join(dir, name+".csv"))
			if err != nil {
				t.Fatal(err)
			}
			steps, want := readTable(t, string(ref))
			args := []string{"values", spec, "--every", "1", "--steps", strconv.FormatInt(steps[len(steps)-1]+1, 10)}
			if strings.Contains(spec, ", parity=pytorch") {
				args[1] = strings.Replace(spec, ", parity=pytorch", "", 1)
				args = append(args, "--parity", "pytorch")
			}
			r := runLrkit(args...)
			if r.code != 0 {
				t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
			}
			gotSteps, got := readTable(t, r.stdout)
			if len(got) != len(want) || gotSteps[len(gotSteps)-1] != steps[len(steps)-1] {
				t.Fatalf("%d rows up to step %d, want %d", len(got), gotSteps[len(gotSteps)-1], len(want))
			}
			for i := range got {
				if !closeRel(got[i], want[i]) {
					t.Errorf("step %d: lrkit %v, PyTorch %v", steps[i], got[i], want[i])
				}
			}
		})
	}
}

func TestValuesErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no steps chosen", []string{"values", "cosine(steps=10)"}, "--at 0,1,250 or --every K"},
		{"both", []string{"values", "cosine(steps=10)", "--at", "1", "--every", "2"}, "either --at or --every"},
		{"bad at", []string{"values", "cosine(steps=10)", "--at", "1,x"}, `--at: item 2 "x" is not a step`},
		{"negative at", []string{"values", "cosine(steps=10)", "--at", "-1"}, `item 1 "-1"`},
		{"zero every", []string{"values", "cosine(steps=10)", "--every", "0"}, "--every must be a positive"},
		{"no horizon", []string{"values", "sgdr(period=10)", "--every", "2"}, "no horizon"},
		{"too many rows", []string{"values", "cosine(steps=10)", "--every", "1", "--steps", "1000000001"}, "1000000001 rows, more than lrkit prints"},
		{"bad parity", []string{"values", "cosine(steps=10)", "--at", "1", "--parity", "keras"}, `--parity: unknown parity "keras"`},
		{"two specs", []string{"values", "cosine(steps=10)", "linear(steps=10)", "--at", "1"}, "want 1 schedule SPEC"},
		{"unknown flag", []string{"values", "cosine(steps=10)", "--att", "1"}, "unknown flag: --att"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runLrkit(tc.args...)
			checkBadInput(t, r, tc.want)
		})
	}
}

// checkBadInput asserts the bad-input contract: exit status 2, nothing on
// stdout, and exactly one line on stderr holding want.
func checkBadInput(t *testing.T, r cliResult, want string) {
	t.Helper()
	if r.code != 2 {
		t.Errorf("exit status %d, want 2 (stderr %q)", r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("printed on stdout: %q", r.stdout)
	}
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") || !strings.HasPrefix(r.stderr, "lrkit: ") {
		t.Errorf("stderr is not one line starting with \"lrkit: \": %q", r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q does not contain %q", r.stderr, want)
	}
}

// badSpecs are specs every command must reject with a positioned error.
var badSpecs = []struct{ spec, want string }{
	{"cosine(peak=3e-4, stesp=100)", `spec:1:19: unknown parameter "stesp" for cosine (did you mean "steps"?)`},
	{"cosin(steps=100)", `spec:1:1: unknown schedule "cosin"`},
	{"cosine(peak=3e-4, steps=100", "spec:1:"},
	{"uba(steps=100)", "spec:1:1: "},
	{"linear(peak=1, floor=2, steps=10)", "spec:1:"},
}

func TestBadSpecEveryCommand(t *testing.T) {
	for _, b := range badSpecs {
		for _, args := range [][]string{
			{"values", b.spec, "--at", "0"},
			{"values", b.spec, "--every", "1", "--parity", "pytorch"},
			{"export", b.spec, "--steps", "10", "--format", "json"},
			{"plot", b.spec},
			{"plot", "cosine(steps=10)", b.spec, "-o", filepath.Join(t.TempDir(), "x.svg")},
		} {
			t.Run(args[0]+"/"+b.spec, func(t *testing.T) {
				r := runLrkit(args...)
				checkBadInput(t, r, b.want)
				if !strings.HasPrefix(r.stderr, "lrkit: spec:1:") {
					t.Errorf("stderr %q does not start with the spec position", r.stderr)
				}
			})
		}
	}
}

// The lrkit binary the process tests run, built once per test process
// into binDir (TestMain removes it).
var (
	binDir   string
	binOnce  sync.Once
	binPath  string
	binError error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildLrkit returns the lrkit command built from this package.
func buildLrkit(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped in -short mode")
	}
	binOnce.Do(func() {
		if binDir, binError = os.MkdirTemp("", "lrkit-bin-"); binError != nil {
			return
		}
		binPath = filepath.Join(binDir, "lrkit")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binError = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binError != nil {
		t.Fatal(binError)
	}
	return binPath
}

// TestBinaryBadSpec runs the real binary: a bad spec exits with status 2,
// prints nothing on stdout and one positioned line on stderr.
func TestBinaryBadSpec(t *testing.T) {
	bin := buildLrkit(t)
	for _, args := range [][]string{
		{"values", "cosine(peak=3e-4, stesp=100)", "--at", "0"},
		{"export", "cosine(peak=3e-4, stesp=100)", "--steps", "5", "--format", "csv"},
		{"plot", "cosine(peak=3e-4, stesp=100)"},
	} {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("%v: err %v, want exit status 2", args, err)
		}
		if stdout.Len() != 0 {
			t.Errorf("%v: stdout %q, want nothing", args, stdout.String())
		}
		want := "lrkit: spec:1:19: unknown parameter \"stesp\" for cosine (did you mean \"steps\"?)\n"
		if stderr.String() != want {
			t.Errorf("%v: stderr %q, want %q", args, stderr.String(), want)
		}
	}
	// And a good one exits 0 with the table.
	out, err := exec.Command(bin, "values", "linear(peak=1, steps=4)", "--every", "1").Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "step,lr\n0,1\n1,0.75\n2,0.5\n3,0.25\n" {
		t.Errorf("values output %q", out)
	}
}

// FuzzParseSteps checks that any --at text either fails with a bad-input
// error or gives non-negative steps, one per comma-separated item, that
// print back to an equivalent list.
func FuzzParseSteps(f *testing.F) {
	for _, s := range []string{"0,1,250", " 7 , 8", "", ",", "-1", "1e3", "9223372036854775807", "9223372036854775808", "0x10", "+5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		steps, err := parseSteps(list)
		if err != nil {
			var ue usageError
			if !errors.As(err, &ue) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q is not a one-line usage error", err)
			}
			return
		}
		if len(steps) != strings.Count(list, ",")+1 {
			t.Fatalf("%q gave %d steps", list, len(steps))
		}
		parts := make([]string, len(steps))
		for i, s := range steps {
			if s < 0 {
				t.Fatalf("%q gave negative step %d", list, s)
			}
			parts[i] = strconv.FormatInt(s, 10)
		}
		again, err := parseSteps(strings.Join(parts, ","))
		if err != nil || fmt.Sprint(again) != fmt.Sprint(steps) {
			t.Fatalf("round trip of %v: %v, %v", steps, again, err)
		}
	})
}
