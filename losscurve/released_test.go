package losscurve

import (
	"bufio"
	"context"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestAdamWMatchesPyTorch replays testdata/adamw_torch.py: six PyTorch
// AdamW steps (default β, ε and weight decay, learning rates 5e-2 and 5e-3
// in two groups, as the released recipe) must match to 1e-12.
func TestAdamWMatchesPyTorch(t *testing.T) {
	f, err := os.Open("testdata/adamw_torch.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	theta := []float64{2.5, 0.7, 540, 0.4}
	target := []float64{2.3, 0.65, 520, 0.43}
	lrs := []float64{5e-2, 5e-3, 5e-2, 5e-3}
	m, v, g := make([]float64, 4), make([]float64, 4), make([]float64, 4)
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		step, _ := strconv.Atoi(fields[0])
		for k := range theta {
			g[k] = 2*float64(k+1)*(theta[k]-target[k]) + math.Cos(theta[k])
		}
		adamW(theta, g, m, v, lrs, step)
		for k, s := range fields[1:] {
			want, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(theta[k]-want) > 1e-12*math.Abs(want) {
				t.Errorf("step %d parameter %d: %.17g, PyTorch %.17g", step, k, theta[k], want)
			}
		}
		n++
	}
	if n != 6 {
		t.Fatalf("%d reference steps, want 6", n)
	}
}

func TestReleasedRecipe(t *testing.T) {
	truth := mpl400M(ConventionRepo)
	runs := releasedTestRuns(truth, 2000)
	f, rep, err := Fit(context.Background(), KindMPL, runs, FitOptions{Recipe: RecipeReleased})
	if err != nil {
		t.Fatal(err)
	}
	m := Base(f).(*MultiPower)
	if m.Convention != ConventionRepo || rep.Recipe != RecipeReleased || len(f.Members) != 0 || rep.Evaluations == 0 {
		t.Errorf("law %+v, report %+v", m, rep)
	}
	// At most 200 AdamW steps from C = 1, β = γ = 0.5 with learning rate
	// 5e-3 on β and γ: they move by at most about 200·5e-3 = 1.
	if math.Abs(m.Beta-0.5) > 1 || math.Abs(m.Gamma-0.5) > 1 {
		t.Errorf("β %g γ %g moved too far for 200 steps", m.Beta, m.Gamma)
	}
	held := synthRun("held", truth, testSchedules(3000, 3e-4)["wsd"], 20)
	sc, err := Evaluate(f, held)
	if err != nil {
		t.Fatal(err)
	}
	if sc.PredE > 0.01 {
		t.Errorf("held-out PredE %.4f", sc.PredE)
	}
	for _, tc := range []struct {
		kind string
		opts FitOptions
		want string
	}{
		{KindAnnealing, FitOptions{Recipe: RecipeReleased}, `the released recipe fits only the mpl law, not "annealing"`},
		{KindMPL, FitOptions{Recipe: RecipeReleased, Variant: "paper"}, `the released recipe uses the "repo" convention, not "paper"`},
		{KindMPL, FitOptions{Recipe: "fast"}, `unknown recipe "fast"`},
	} {
		if _, _, err := Fit(context.Background(), tc.kind, runs, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %+v: error %v, want %q", tc.kind, tc.opts, err, tc.want)
		}
	}
}

// TestReleasedPath: the path starts from the released initialisation,
// holds exactly one read-out step whose parameters are those the released
// recipe returns, and goes on past it without the stopping rule.
func TestReleasedPath(t *testing.T) {
	truth := mpl400M(ConventionRepo)
	runs := releasedTestRuns(truth, 1000)
	f, _, err := Fit(context.Background(), KindMPL, runs, FitOptions{Recipe: RecipeReleased})
	if err != nil {
		t.Fatal(err)
	}
	want := Base(f).Params()
	path, err := ReleasedPath(context.Background(), runs, FitOptions{}, 250, 50)
	if err != nil {
		t.Fatal(err)
	}
	if path[0].Step != 0 || path[0].Law.C != 1 || path[0].Law.Beta != 0.5 || path[0].Law.Gamma != 0.5 {
		t.Errorf("path starts at step %d with %+v, want step 0 at C = 1, β = γ = 0.5", path[0].Step, path[0].Law)
	}
	if last := path[len(path)-1]; last.Step != 250 {
		t.Errorf("path ends at step %d, want 250", last.Step)
	}
	readOuts, readOut := 0, -1
	for i, s := range path {
		if i > 0 && s.Step <= path[i-1].Step {
			t.Errorf("steps not increasing: %d after %d", s.Step, path[i-1].Step)
		}
		if math.IsNaN(s.Objective) || s.Objective <= 0 {
			t.Errorf("step %d: objective %g", s.Step, s.Objective)
		}
		if !s.ReadOut {
			continue
		}
		readOuts, readOut = readOuts+1, s.Step
		for k, v := range s.Law.Params() {
			if v != want[k] {
				t.Errorf("read-out step %d: %s = %g, the released recipe returns %g", s.Step, k, v, want[k])
			}
		}
	}
	if readOuts != 1 {
		t.Errorf("%d read-out steps, want 1", readOuts)
	}
	// A path shorter than the released recipe's run has its checkpoints
	// up to steps only, and the read-out wherever it lies.
	short, err := ReleasedPath(context.Background(), runs, FitOptions{}, 20, 4)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	shortReadOut := -1
	for _, s := range short {
		got = append(got, s.Step)
		if s.ReadOut {
			shortReadOut = s.Step
		}
	}
	wantSteps := []int{0, 4, 8, 12, 16, 20}
	if !slices.Contains(wantSteps, readOut) {
		wantSteps = append(wantSteps, readOut)
		slices.Sort(wantSteps)
	}
	if !slices.Equal(got, wantSteps) || shortReadOut != readOut {
		t.Errorf("20 steps every 4: steps %v with the read-out at %d, want %v with it at %d", got, shortReadOut, wantSteps, readOut)
	}
	if _, err := ReleasedPath(context.Background(), runs, FitOptions{}, 0, 10); err == nil || !strings.Contains(err.Error(), "steps 0 and every 10 must be positive") {
		t.Errorf("zero steps: error %v", err)
	}
	// The step window applies as in Fit: a window too short for a run is
	// refused with the run and the window named.
	if _, err := ReleasedPath(context.Background(), runs, FitOptions{MaxStep: 60}, 10, 10); err == nil || !strings.Contains(err.Error(), "losscurve: released path: run constant:") || !strings.Contains(err.Error(), "in steps 0..60 (MinStep..MaxStep)") {
		t.Errorf("short window: error %v", err)
	}
	if _, err := ReleasedPath(context.Background(), nil, FitOptions{}, 10, 10); err == nil || err.Error() != "losscurve: released path: no runs" {
		t.Errorf("no runs: error %v", err)
	}
}

// releasedTestRuns are noise-free constant, cosine and WSD curves of truth
// over T steps, logged every 20 steps: the released recipe's fit runs.
func releasedTestRuns(truth Law, T int) []Run {
	sch := testSchedules(T, 3e-4)
	return []Run{synthRun("constant", truth, sch["constant"], 20), synthRun("cosine", truth, sch["cosine"], 20), synthRun("wsd", truth, sch["wsd"], 20)}
}
