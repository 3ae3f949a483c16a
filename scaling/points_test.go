package scaling

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadPoints(t *testing.T) {
	ps, err := ReadPointsFile(filepath.Join("testdata", "points.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Point{{"cosine", 3.3e7, 1.5e8, 3.66}, {"wsd", 5.3e7, 3.8e8, 3.38}}
	if len(ps) != 2 || ps[0] != want[0] || ps[1] != want[1] {
		t.Fatalf("read %+v, want %+v", ps, want)
	}
	var b bytes.Buffer
	if err := WritePoints(&b, ps); err != nil {
		t.Fatal(err)
	}
	back, err := ReadPoints(&b, "round trip")
	if err != nil || len(back) != 2 || back[0] != ps[0] || back[1] != ps[1] {
		t.Errorf("round trip gave %+v, %v", back, err)
	}
	// Columns in another order, extra columns ignored.
	ps, err = ReadPoints(strings.NewReader("loss,extra,D,N,group\n2.5,x,1e9,1e8,a\n"), "x.csv")
	if err != nil || len(ps) != 1 || ps[0] != (Point{"a", 1e8, 1e9, 2.5}) {
		t.Errorf("reordered columns: %+v, %v", ps, err)
	}
}

func TestReadPointsErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "p.csv:1: header: EOF"},
		{"group,n,d\n", `p.csv:1: no "loss" column`},
		{"group,n,d,loss\n", "p.csv: no points"},
		{"group,n,d,loss\na,1e8,1e9,x\n", `p.csv:2: loss "x" is not a positive finite number`},
		{"group,n,d,loss\na,1e8,1e9,2\na,-1,1e9,2\n", `p.csv:3: n "-1" is not a positive finite number`},
		{"group,n,d,loss\na,1e8,Inf,2\n", `p.csv:2: d "Inf" is not a positive finite number`},
		{"group,n,d,loss\na,1e8\n", "p.csv:2: 2 fields, no d"},
		{"group,n,d,loss\na,1e8,1e9,NaN\n", `p.csv:2: loss "NaN"`},
	}
	for _, c := range cases {
		_, err := ReadPoints(strings.NewReader(c.in), "p.csv")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.in, err, c.want)
		}
	}
}

// FuzzReadPoints: any input gives points with positive finite values or
// an error naming the file, never a panic.
func FuzzReadPoints(f *testing.F) {
	f.Add("group,n,d,loss\ncosine,3.3e7,1.5e8,3.66\n")
	f.Add("loss,group,n,d\n1,a,2,3\n\"q,x\",b,1,1\n")
	f.Add("group,n,d,loss\na,1e8\n")
	f.Fuzz(func(t *testing.T, in string) {
		ps, err := ReadPoints(strings.NewReader(in), "f.csv")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.csv") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for _, p := range ps {
			for _, v := range []float64{p.N, p.D, p.Loss} {
				if !(v > 0) || math.IsInf(v, 0) {
					t.Fatalf("point %+v has a bad value", p)
				}
			}
		}
	})
}

func TestFrontierAndOptimal(t *testing.T) {
	ps := []Point{{N: 1, D: 1, Loss: 5}, {N: 1, D: 3, Loss: 4}, {N: 2, D: 1, Loss: 4.5}, {N: 2, D: 4, Loss: 3}}
	fr := Frontier(ps)
	// Compute 6, 12, 18, 48: the point at 12 (loss 4.5) is beaten by none
	// before it; the one at 18 (loss 4) improves; 48 improves.
	if len(fr) != 4-0 && len(fr) != 3 {
		t.Fatalf("frontier %+v", fr)
	}
	for i := 1; i < len(fr); i++ {
		if fr[i].Loss >= fr[i-1].Loss || fr[i].Compute() <= fr[i-1].Compute() {
			t.Errorf("frontier not decreasing in loss and increasing in compute: %+v", fr)
		}
	}
	// Optimal: the split minimises the Chinchilla form at fixed compute;
	// nudging N either way at the same compute raises the loss.
	c := 1e21
	n, d, l := truth.Optimal(c)
	if math.Abs(6*n*d/c-1) > 1e-12 || math.Abs(truth.Loss(n, d)-l) > 1e-12 {
		t.Fatalf("optimal N %g D %g loss %g: compute %g", n, d, l, 6*n*d)
	}
	for _, f := range []float64{0.9, 1.1} {
		if truth.Loss(n*f, d/f) <= l {
			t.Errorf("N×%g at the same compute has loss %v ≤ the optimum %v", f, truth.Loss(n*f, d/f), l)
		}
	}
}

func TestFitErrors(t *testing.T) {
	ps := synthPoints(0, 1)
	cases := []struct {
		form Form
		ps   []Point
		o    FitOptions
		want string
	}{
		{"kaplan", ps, FitOptions{}, `unknown form "kaplan"`},
		{Chinchilla, ps[:5], FitOptions{}, "5 points to fit (5 given), want at least 6 for the chinchilla form's 5 parameters"},
		{Chinchilla, append([]Point{{Group: "g", N: 0, D: 1, Loss: 1}}, ps...), FitOptions{}, "point 0 (g, N=0, D=1, loss=1): want positive finite values"},
		{Chinchilla, ps, FitOptions{Delta: -1}, "Huber delta -1"},
		{Chinchilla, ps, FitOptions{Starts: [][]float64{{1, 2}}}, "a start has 2 values, the chinchilla form has 5 parameters"},
	}
	for _, c := range cases {
		if _, err := Fit(context.Background(), c.form, c.ps, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.form, err, c.want)
		}
	}
}

// TestComputeForms: points on the frontier of L = E + A·C^−α are fitted
// back by the saturating form, and the pure power law fits a power law.
func TestComputeForms(t *testing.T) {
	sat := Law{Form: Saturating, E: 1.5, A: 60, Alpha: 0.09}
	pow := Law{Form: PowerLaw, A: 30, Alpha: 0.05}
	for _, want := range []Law{sat, pow} {
		var ps []Point
		for i := range 8 {
			n := 1e7 * math.Pow(2, float64(i))
			ps = append(ps, Point{N: n, D: 20 * n, Loss: want.Loss(n, 20*n)})
		}
		got, err := Fit(context.Background(), want.Form, ps, FitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got.Alpha-want.Alpha) > 2e-3 || math.Abs(got.E-want.E) > 0.02 || got.Fitted != 8 {
			t.Errorf("%s: fitted %v (%d points), want %v", want.Form, got, got.Fitted, want)
		}
	}
}

// TestStudy: two synthetic procedures, one 3% worse at every (N, D); the
// study finds the difference with an interval that excludes 0 and holds
// out the largest size.
func TestStudy(t *testing.T) {
	var ps []Point
	for _, p := range synthPoints(0.002, 3) {
		ps = append(ps, p)
		q := p
		q.Group, q.Loss = "worse", p.Loss*1.03
		ps = append(ps, q)
	}
	rep, err := Study(context.Background(), ps, StudyOptions{Boot: 20, Seed: 1, Reference: "synthetic"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Fits) != 2 || len(rep.Comparisons) != 1 {
		t.Fatalf("%d fits and %d comparisons", len(rep.Fits), len(rep.Comparisons))
	}
	c := rep.Comparisons[0]
	if c.Group != "worse" || math.Abs(c.RelDiff-0.03) > 0.005 || c.RelDiffCI[0] <= 0 {
		t.Errorf("relative difference %v %v, want about +3%% with an interval above 0", c.RelDiff, c.RelDiffCI)
	}
	for _, f := range rep.Fits {
		if len(f.HeldOut) != 4 || f.HeldOut[0].N != 1e9 {
			t.Errorf("%s: held out %+v, want the 4 points of N = 1e9", f.Group, f.HeldOut)
		}
		for _, p := range f.HeldOut {
			if math.Abs(p.Predicted/p.Loss-1) > 0.02 {
				t.Errorf("%s: held-out prediction %v for observed %v", f.Group, p.Predicted, p.Loss)
			}
		}
	}
	var b bytes.Buffer
	rep.Markdown(&b)
	for _, want := range []string{"| synthetic | 24 | 6 |", "**worse against synthetic.**", "Held-out sizes"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, b.String())
		}
	}
	if _, err := Study(context.Background(), ps, StudyOptions{Reference: "nope"}); err == nil || !strings.Contains(err.Error(), `reference group "nope" has no points (have synthetic, worse)`) {
		t.Errorf("unknown reference: %v", err)
	}
}

func TestCost(t *testing.T) {
	ps := []Point{{N: 10, D: 100}, {N: 10, D: 200}, {N: 20, D: 100}}
	if got := cost(ps, 0, false); got != 6*10*300+6*20*100 {
		t.Errorf("separate runs cost %v", got)
	}
	// One constant run to the longest D per size plus 20% cooldowns.
	if got, want := cost(ps, 0.2, true), 6*10*(200+0.2*300)+6*20*(100+0.2*100); math.Abs(got-want) > 1e-9 {
		t.Errorf("constant+cooldown cost %v, want %v", got, want)
	}
	// Read off one constant run per size, no cooldown.
	if got, want := cost(ps, 0, true), 6.0*10*200+6*20*100; got != want {
		t.Errorf("constant-run cost %v, want %v", got, want)
	}
}

// TestFewSizes: a cluster bootstrap needs 4 sizes; with 3 left after
// holding one out, the held-out predictions come without an interval.
func TestFewSizes(t *testing.T) {
	var ps []Point
	for _, p := range synthPoints(0, 5) {
		if p.N <= 1.5e8 {
			ps = append(ps, p)
		}
	}
	if _, err := Bootstrap(context.Background(), truth, ps[:12], 5, 1, FitOptions{}); err == nil || !strings.Contains(err.Error(), "3 model sizes, want at least 4") {
		t.Errorf("bootstrap of 3 sizes: %v", err)
	}
	rep, err := Study(context.Background(), ps, StudyOptions{Boot: 5})
	if err != nil {
		t.Fatal(err)
	}
	h := rep.Fits[0].HeldOut
	if len(h) != 4 || !math.IsNaN(h[0].CI[0]) || math.Abs(h[0].Predicted/h[0].Loss-1) > 1e-3 {
		t.Errorf("held out %+v, want 4 predictions without intervals, close to the noiseless truth", h)
	}
	var b bytes.Buffer
	rep.Markdown(&b)
	if !strings.Contains(b.String(), "(too few sizes for an interval) | ") {
		t.Errorf("markdown does not say the interval is missing:\n%s", b.String())
	}
}
