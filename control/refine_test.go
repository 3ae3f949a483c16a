package control

import (
	"fmt"
	"math"
	"math/rand/v2"
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
	// Drop ±Inf and two samples at each end: the spikes at both ends and
	// the infinities must not reach the result.
	g := []float64{1000, 1000, math.Inf(1), 5, 5, 5, math.Inf(-1), 5, 5, 5, 5, -1000, -1000}
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
