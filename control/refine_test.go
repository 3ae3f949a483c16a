package control

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/runlog"
)

func closeTo(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func TestRefineSpecExamples(t *testing.T) {
	tests := []struct {
		name string
		g    []float64
		rule Rule
		want []float64
		tol  float64
	}{
		// adaptive.md §1 worked examples (unsmoothed; the values are given
		// to 4 significant digits there).
		{"constant T=5", []float64{3, 3, 3, 3, 3}, RuleL2, []float64{1, 0.75, 0.5, 0.25, 0}, 1e-15},
		{"constant T=5 l1", []float64{3, 3, 3, 3, 3}, RuleL1, []float64{1, 0.75, 0.5, 0.25, 0}, 1e-15},
		{"l2", []float64{8, 4, 2, 2, 2, 2, 2, 3}, RuleL2, []float64{0.08008, 0.3063, 1, 0.775, 0.55, 0.325, 0.1, 0}, 5e-4},
		{"l1", []float64{8, 4, 2, 2, 2, 2, 2, 3}, RuleL1, []float64{0.3304, 0.6071, 1, 0.7857, 0.5714, 0.3571, 0.1429, 0}, 5e-4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Refine(tc.g, tc.rule, RefineOptions{NoSmooth: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("len %d, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if math.Abs(got[i]-tc.want[i]) > tc.tol*math.Max(1e-3, tc.want[i]) && math.Abs(got[i]-tc.want[i]) > 5e-5 {
					t.Errorf("step %d: got %.6g, want %.6g", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// Exact values of the L2 example from the closed form by hand:
// w = [1/64, 1/16, 1/4 ×5, 1/9]; η̃_3 = 1/4·(1+1/9) is the peak.
func TestRefineL2Exact(t *testing.T) {
	got, err := Refine([]float64{8, 4, 2, 2, 2, 2, 2, 3}, RuleL2, RefineOptions{NoSmooth: true})
	if err != nil {
		t.Fatal(err)
	}
	peak := 0.25 * (1 + 1.0/9)
	want0 := (1.0 / 64) * (1.0/16 + 5.0/4 + 1.0/9) / peak
	if !closeTo(got[0], want0, 1e-14) || got[2] != 1 || got[7] != 0 {
		t.Fatalf("got %v, want [0]=%v, [2]=1, [7]=0", got, want0)
	}
}

func TestRefineConstantIsLinearSmoothed(t *testing.T) {
	for _, T := range []int{7, 100, 12345} {
		g := make([]float64, T)
		for i := range g {
			g[i] = 0.37
		}
		for _, rule := range []Rule{RuleL2, RuleL1} {
			got, err := Refine(g, rule, RefineOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != T {
				t.Fatalf("T=%d: len %d", T, len(got))
			}
			for i, v := range got {
				want := float64(T-1-i) / float64(T-1)
				if !closeTo(v, want, 1e-12) {
					t.Fatalf("T=%d %v step %d: got %.17g, want %.17g", T, rule, i, v, want)
				}
			}
		}
	}
}

func TestMedianFilterSpecExample(t *testing.T) {
	x := []float64{5, 9, 4, 3, 8, 3, 2, 2, 6, 2, 2, 3, 2, 4}
	want := []float64{5, 5, 4, 4, 3, 3, 2, 2, 2, 2, 2, 2, 3, 2}
	got := MedianFilter(x, 3)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

// bruteMedian pads like the released code (numpy reflect at the end, 2·width
// samples; nearest at the start) and sorts every window.
func bruteMedian(x []float64, width int) []float64 {
	n := len(x)
	pad := append([]float64(nil), x...)
	for k := 1; k <= 2*width; k++ {
		pad = append(pad, x[reflectIndex(n-1+k, n)])
	}
	h := width / 2
	out := make([]float64, n)
	for c := range n {
		w := make([]float64, 0, width)
		for i := c - h; i <= c+h; i++ {
			j := i
			if j < 0 {
				j = 0
			}
			w = append(w, pad[j])
		}
		sort.Float64s(w)
		out[c] = w[h]
	}
	return out
}

func TestMedianFilterMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := 1 + r.IntN(40)
		width := 1 + 2*r.IntN(12)
		x := make([]float64, n)
		for i := range x {
			x[i] = float64(r.IntN(6)) // ties on purpose
		}
		got, want := MedianFilter(x, width), bruteMedian(x, width)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("trial %d n=%d width=%d x=%v: got %v want %v", trial, n, width, x, got, want)
			}
		}
	}
}

func TestReflectIndex(t *testing.T) {
	// numpy.pad([0,1,2,3], (0,8), 'reflect') = 0 1 2 3 2 1 0 1 2 3 2 1
	want := []int{2, 1, 0, 1, 2, 3, 2, 1}
	for k, w := range want {
		if got := reflectIndex(4+k, 4); got != w {
			t.Errorf("reflectIndex(%d,4) = %d, want %d", 4+k, got, w)
		}
	}
}

func TestMedianSmoothPipeline(t *testing.T) {
	// Drop +Inf and two samples at each end: the spikes at both ends and
	// the infinities must not reach the result. (-Inf is a negative norm,
	// refused: TestRefineBadNorms.)
	g := []float64{1000, 1000, math.Inf(1), 5, 5, 5, math.Inf(1), 5, 5, 5, 5, 1e-3, 1e-3}
	got, err := MedianSmooth(g, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != RefineSamples {
		t.Fatalf("len %d", len(got))
	}
	for i, v := range got {
		if v != 5 {
			t.Fatalf("sample %d = %v, want 5", i, v)
		}
	}
	// A step from 4 to 1 at the middle of 10,000 samples stays a step
	// (median filters keep edges) except within the window.
	step := make([]float64, 10004)
	for i := range step {
		if i < 5002 {
			step[i] = 4
		} else {
			step[i] = 1
		}
	}
	got, err = MedianSmooth(step, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != 4 || got[4990] != 4 || got[5010] != 1 || got[9999] != 1 {
		t.Fatalf("edge not kept: %v %v %v %v", got[0], got[4990], got[5010], got[9999])
	}
}

func TestRefineWarmupAndAnneal(t *testing.T) {
	// Norms that start large and fall give warmup; the tail sum gives the
	// anneal to exactly 0.
	T := 2000
	g := make([]float64, T)
	for i := range g {
		g[i] = 1 + 9*math.Exp(-float64(i)/100)
	}
	lrs, err := Refine(g, RuleL2, RefineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(lrs)
	if s.PeakStep < 100 || s.PeakStep > T/2 {
		t.Errorf("peak at %d, want a warmup (after step 100, before the middle)", s.PeakStep)
	}
	if lrs[0] > 0.2 || lrs[T-1] != 0 {
		t.Errorf("start %v end %v", lrs[0], lrs[T-1])
	}
	mx := 0.0
	for _, v := range lrs {
		mx = math.Max(mx, v)
	}
	if mx != 1 {
		t.Errorf("peak %v, want exactly 1", mx)
	}
}

func TestRefineErrors(t *testing.T) {
	tests := []struct {
		name string
		g    []float64
		opts RefineOptions
		want string
	}{
		{"empty", nil, RefineOptions{}, "horizon of at least 2"},
		{"nan", []float64{1, 2, math.NaN(), 3, 4, 5, 6}, RefineOptions{}, "NaN"},
		{"zero", []float64{1, 0, 1}, RefineOptions{NoSmooth: true}, "must be positive"},
		{"inf unsmoothed", []float64{1, math.Inf(1), 1}, RefineOptions{NoSmooth: true}, "is +Inf"},
		{"short", []float64{1, 2, 3, 4, 5}, RefineOptions{}, "at least 6 finite"},
		{"tau", []float64{1, 2, 3, 4, 5, 6, 7}, RefineOptions{Tau: 2}, "tau"},
	}
	for _, tc := range tests {
		_, err := Refine(tc.g, RuleL2, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
}

func TestResample(t *testing.T) {
	got := Resample([]float64{0, 10}, 6)
	want := []float64{0, 2, 4, 6, 8, 10}
	for i := range want {
		if !closeTo(got[i], want[i], 1e-15) {
			t.Fatalf("got %v", got)
		}
	}
	got = Resample([]float64{0, 1, 2, 3, 4, 5}, 2)
	if got[0] != 0 || got[1] != 5 {
		t.Fatalf("got %v", got)
	}
}

func TestSummarize(t *testing.T) {
	s := Summarize([]float64{0.1, 0.5, 1, 0.8, 0.4, 0})
	if s.PeakStep != 2 || s.FirstHalf != 1 || s.LastHalf != 3 || !closeTo(s.AboveHalfFrac, 0.5, 1e-15) || !closeTo(s.PeakFrac, 0.4, 1e-15) {
		t.Fatalf("%+v", s)
	}
}

func TestGradNormsOf(t *testing.T) {
	recs := []runlog.Record{
		{Step: 0, Loss: 1, Present: runlog.FieldLoss},
		{Step: 2, GradNorm: 4, GradNormL1: 40, Present: runlog.FieldGradNorm | runlog.FieldGradNormL1},
		{Step: 4, GradNorm: 2, Present: runlog.FieldGradNorm},
		{Step: 6, GradNorm: 3, GradNormL1: 30, Present: runlog.FieldGradNorm | runlog.FieldGradNormL1},
		{Step: 7, ValLoss: 1, Present: runlog.FieldValLoss},
	}
	g, col, err := GradNormsOf(recs, RuleL2)
	want := []float64{4, 4, 4, 3, 2, 2.5, 3, 3}
	if err != nil || col != "grad_norm" || len(g) != len(want) {
		t.Fatalf("%v %v %v", g, col, err)
	}
	for i := range want {
		if g[i] != want[i] {
			t.Fatalf("got %v, want %v", g, want)
		}
	}
	g, col, err = GradNormsOf(recs, RuleL1)
	if err != nil || col != "grad_norm_l1" || g[4] != 35 {
		t.Fatalf("%v %v %v", g, col, err)
	}
	_, _, err = GradNormsOf(recs[:3], RuleL1)
	if err == nil || !strings.Contains(err.Error(), "grad_norm_l1") || !strings.Contains(err.Error(), "--rule l2") {
		t.Fatalf("error %v", err)
	}
}

func TestRefinedTable(t *testing.T) {
	s, err := RefinedTable([]float64{0.5, 1, 0.25, 0}, 3e-3)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{1.5e-3, 3e-3, 0.75e-3, 0, 0} {
		if got := s.LR(int64(i)); !closeTo(got, want, 1e-15) {
			t.Errorf("step %d: %v, want %v", i, got, want)
		}
	}
}

// TestRefineLogBoundsSteps: a log whose last step is huge is refused before
// a table of that many steps is allocated (it used to panic in makeslice at
// 2^63-1 and take 8.7 GB at 99,999,999).
func TestRefineLogBoundsSteps(t *testing.T) {
	rec := func(step int64, g float64) runlog.Record {
		return runlog.Record{Step: step, GradNorm: g, Present: runlog.FieldGradNorm}
	}
	for _, last := range []int64{math.MaxInt64, 99_999_999, DefaultMaxRefineSteps} {
		_, err := RefineLog([]runlog.Record{rec(0, 1), rec(last, 2)}, RuleL2, RefineOptions{})
		want := fmt.Sprintf("the log's last step is %d; refinement builds one value per step and stops at %d steps (raise the limit to go further)", last, DefaultMaxRefineSteps)
		if err == nil || err.Error() != want {
			t.Errorf("last step %d: %v", last, err)
		}
	}
	ref, err := RefineLog([]runlog.Record{rec(0, 1), rec(9, 1)}, RuleL2, RefineOptions{MaxSteps: 10, NoSmooth: true})
	if err != nil {
		t.Fatal(err)
	}
	steps, lrs := ref.Table(2)
	if len(steps) != 10 || steps[9] != 9 || lrs[0] != 2 || lrs[9] != 0 || ref.Column != "grad_norm" || ref.Summary.PeakStep != 0 {
		t.Errorf("refinement %+v, table %v %v", ref, steps, lrs)
	}
	if _, err := RefineLog([]runlog.Record{rec(0, 1), rec(10, 1)}, RuleL2, RefineOptions{MaxSteps: 10}); err == nil {
		t.Error("a log reaching MaxSteps was accepted")
	}
}

// FuzzRefineLog: any two-record log is refined or refused with an error,
// never a panic, and never builds a table past the step limit.
func FuzzRefineLog(f *testing.F) {
	f.Add(int64(0), int64(9), 1.0, 2.0, false)
	f.Add(int64(0), int64(math.MaxInt64), 1.0, 2.0, true)
	f.Add(int64(5), int64(3), 1.0, 0.0, false)
	f.Fuzz(func(t *testing.T, a, b int64, ga, gb float64, l1 bool) {
		rule, field := RuleL2, runlog.FieldGradNorm
		if l1 {
			rule, field = RuleL1, runlog.FieldGradNormL1
		}
		rec := func(s int64, g float64) runlog.Record {
			r := runlog.Record{Step: s}
			r.Set(field, g)
			return r
		}
		const limit = 100_000
		ref, err := RefineLog([]runlog.Record{rec(a, ga), rec(b, gb)}, rule, RefineOptions{MaxSteps: limit})
		if err != nil {
			return
		}
		if n := len(ref.LRs); n < 2 || n > limit {
			t.Fatalf("refined %d steps from steps %d and %d", n, a, b)
		}
		for i, v := range ref.LRs {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("rate %v at step %d", v, i)
			}
		}
	})
}

// normLog writes a run log of 100 steps (0..99) whose grad_norm is
// 1+0.01·step except at step 50, where it is bad (as the file spells it),
// and returns its path. Step s is on line s+2 of the CSV (after the
// header) and line s+1 of the JSONL.
func normLog(t *testing.T, ext, bad string) string {
	t.Helper()
	var b strings.Builder
	if ext == ".csv" {
		b.WriteString("step,grad_norm\n")
	}
	for s := range 100 {
		v := fmt.Sprint(1 + 0.01*float64(s))
		if s == 50 {
			v = bad
		}
		if ext == ".csv" {
			fmt.Fprintf(&b, "%d,%s\n", s, v)
		} else {
			fmt.Fprintf(&b, "{\"step\": %d, \"grad_norm\": %s}\n", s, v)
		}
	}
	path := filepath.Join(t.TempDir(), "g"+ext)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRefineFileBadNorms: a bad gradient norm at step 50 is reported at
// step 50 with its own value and the file's line, smoothed or not (a +Inf
// or NaN used to become "gradient norm 49 is NaN", interpolated into step
// 49), except +Inf, which the smoothing drops as MedianSmooth documents. A
// negative or zero norm is refused whatever the smoothing (the smoothing
// used to hide it and return a schedule).
func TestRefineFileBadNorms(t *testing.T) {
	const zero = "is 0; norms must be positive (a step's weight is 1/G² or 1/G): leave a norm that was not measured out of the log, and it is interpolated from its neighbours"
	tests := []struct {
		ext, bad string
		noSmooth bool
		want     string // "" means refined, with step 50 dropped
	}{
		{".csv", "Inf", false, ""},
		{".csv", "Inf", true, "g.csv:52: grad_norm at step 50 is +Inf; unsmoothed refinement needs every norm finite (the smoothing drops infinite norms)"},
		{".csv", "NaN", false, "g.csv:52: grad_norm at step 50 is NaN"},
		{".csv", "NaN", true, "g.csv:52: grad_norm at step 50 is NaN"},
		{".csv", "-1", false, "g.csv:52: grad_norm at step 50 is -1; a norm cannot be negative"},
		{".csv", "-1", true, "g.csv:52: grad_norm at step 50 is -1; a norm cannot be negative"},
		{".csv", "-Inf", false, "g.csv:52: grad_norm at step 50 is -Inf; a norm cannot be negative"},
		{".csv", "0", false, "g.csv:52: grad_norm at step 50 " + zero},
		{".csv", "0", true, "g.csv:52: grad_norm at step 50 " + zero},
		{".jsonl", "Infinity", false, ""},
		{".jsonl", "NaN", false, "g.jsonl:51: grad_norm at step 50 is NaN"},
		{".jsonl", "-0.5", false, "g.jsonl:51: grad_norm at step 50 is -0.5; a norm cannot be negative"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %s nosmooth=%v", tc.ext, tc.bad, tc.noSmooth), func(t *testing.T) {
			path := normLog(t, tc.ext, tc.bad)
			ref, err := RefineFile(path, runlog.ReadOptions{}, RuleL2, RefineOptions{NoSmooth: tc.noSmooth})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(ref.Dropped) != 1 || ref.Dropped[0] != 50 || len(ref.LRs) != 100 || ref.LRs[99] != 0 {
					t.Fatalf("dropped %v, %d rates", ref.Dropped, len(ref.LRs))
				}
				for i, v := range ref.LRs {
					if !(v >= 0 && v <= 1) {
						t.Fatalf("rate %v at step %d", v, i)
					}
				}
				return
			}
			want := filepath.Join(filepath.Dir(path), tc.want)
			if err == nil || err.Error() != want {
				t.Fatalf("error %v,\nwant %s", err, want)
			}
			// RefineLog, on the same records, names the step and the value
			// but has no file to name.
			recs, rerr := runlog.ReadFile(path, runlog.ReadOptions{})
			if rerr != nil {
				t.Fatal(rerr)
			}
			_, err = RefineLog(recs, RuleL2, RefineOptions{NoSmooth: tc.noSmooth})
			_, msg, _ := strings.Cut(tc.want, ": ")
			if err == nil || err.Error() != msg {
				t.Fatalf("RefineLog error %v,\nwant %s", err, msg)
			}
		})
	}
}

// TestGradNormsOfKeepsBadNormsAtTheirStep: interpolation between logged
// steps never reads a +Inf norm; it stays at its own step (for the smoothing
// to drop), and the steps around it come from the nearest finite norms.
func TestGradNormsOfKeepsBadNormsAtTheirStep(t *testing.T) {
	rec := func(step int64, g float64) runlog.Record {
		return runlog.Record{Step: step, GradNorm: g, Present: runlog.FieldGradNorm}
	}
	g, _, err := GradNormsOf([]runlog.Record{rec(0, 1), rec(2, 3), rec(4, math.Inf(1)), rec(6, 7), rec(7, math.Inf(1))}, RuleL2)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{1, 2, 3, 4, math.Inf(1), 6, 7, math.Inf(1)}
	if fmt.Sprint(g) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", g, want)
	}
	// Every step logged: the step before a +Inf keeps its own value (it
	// was NaN: finite + (Inf−finite)·0).
	g, _, err = GradNormsOf([]runlog.Record{rec(0, 1), rec(1, 2), rec(2, math.Inf(1)), rec(3, 4)}, RuleL2)
	if err != nil || fmt.Sprint(g) != "[1 2 +Inf 4]" {
		t.Fatalf("got %v, %v", g, err)
	}
	_, _, err = GradNormsOf([]runlog.Record{rec(0, 1), rec(1, math.Inf(1)), rec(2, math.Inf(1))}, RuleL2)
	want2 := "the log has 1 finite (and 2 +Inf) grad_norm values; refinement with rule l2 needs one per step (does it have grad_norm_l1 (--rule l1)?)"
	if err == nil || err.Error() != want2 {
		t.Fatalf("error %v", err)
	}
}

// TestRefineBadNorms: Refine and MedianSmooth name the step (the index)
// and the value of a bad norm, and treat negative and zero norms alike
// whether they smooth or not.
func TestRefineBadNorms(t *testing.T) {
	g := func(bad float64) []float64 {
		x := make([]float64, 20)
		for i := range x {
			x[i] = 2
		}
		x[7] = bad
		return x
	}
	tests := []struct {
		name     string
		bad      float64
		noSmooth bool
		want     string
	}{
		{"nan", math.NaN(), false, "refine: gradient norm at step 7 is NaN"},
		{"nan unsmoothed", math.NaN(), true, "refine: gradient norm at step 7 is NaN"},
		{"+inf unsmoothed", math.Inf(1), true, "refine: gradient norm at step 7 is +Inf; unsmoothed refinement needs every norm finite (the smoothing drops infinite norms)"},
		{"-inf", math.Inf(-1), false, "refine: gradient norm at step 7 is -Inf; a norm cannot be negative"},
		{"negative", -1, false, "refine: gradient norm at step 7 is -1; a norm cannot be negative"},
		{"negative unsmoothed", -1, true, "refine: gradient norm at step 7 is -1; a norm cannot be negative"},
		{"zero", 0, false, "refine: gradient norm at step 7 is 0; norms must be positive"},
		{"zero unsmoothed", 0, true, "refine: gradient norm at step 7 is 0; norms must be positive"},
	}
	for _, tc := range tests {
		_, err := Refine(g(tc.bad), RuleL1, RefineOptions{NoSmooth: tc.noSmooth})
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
		if tc.noSmooth {
			continue
		}
		_, err = MedianSmooth(g(tc.bad), 0)
		if want := strings.TrimPrefix(tc.want, "refine: "); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("MedianSmooth %s: error %v, want %q", tc.name, err, want)
		}
	}
	if _, err := Refine(g(math.Inf(1)), RuleL1, RefineOptions{}); err != nil {
		t.Errorf("+Inf smoothed: %v (the smoothing drops it)", err)
	}
}
