package losscurve

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/schedule"
)

// TestFinalGradMatchesFiniteDifferences checks the O(T) gradients of the
// final loss against central differences.
func TestFinalGradMatchesFiniteDifferences(t *testing.T) {
	lrs := make([]float64, 400)
	for i := range lrs {
		switch {
		case i < 40:
			lrs[i] = 3e-4 * float64(i) / 40
		default:
			lrs[i] = 3e-4 * (0.55 + 0.45*math.Cos(math.Pi*float64(i-40)/360))
		}
	}
	laws := []finalGrader{
		&MultiPower{L0: 2.37, A: 0.654, Alpha: 0.43, B: 523, C: 2.02, Beta: 0.59, Gamma: 0.63, Convention: ConventionPaper, Warmup: -1},
		&MultiPower{L0: 2.37, A: 0.654, Alpha: 0.43, B: 523, C: 2.02, Beta: 0.59, Gamma: 0.63, Convention: ConventionRepo, Warmup: -1},
		&Annealing{L0: 2.5, A: 0.65, Alpha: 0.42, C: 0.57, Lambda: 0.999, Variant: WarmupB, Warmup: 40},
		&Annealing{L0: 2.5, A: 0.65, Alpha: 0.42, C: 0.57, Lambda: 0.99, Variant: WarmupA, Warmup: 40},
	}
	for li, g := range laws {
		grad := make([]float64, len(lrs))
		f0 := g.finalGrad(lrs, grad)
		if want := finalLoss(g.(Law), lrs); math.Abs(f0-want) > 1e-12 {
			t.Errorf("law %d: finalGrad value %.15g, Predict %.15g", li, f0, want)
		}
		for _, j := range []int{41, 42, 100, 250, 398, 399} {
			h := 1e-9
			up := append([]float64(nil), lrs...)
			dn := append([]float64(nil), lrs...)
			up[j] += h
			dn[j] -= h
			g2 := make([]float64, len(lrs))
			fd := (g.finalGrad(up, g2) - g.finalGrad(dn, g2)) / (2 * h)
			if math.Abs(fd-grad[j]) > 1e-4*math.Abs(fd)+1e-3 {
				t.Errorf("law %d step %d: gradient %.6g, finite difference %.6g", li, j, grad[j], fd)
			}
		}
	}
}

func TestPlanMPL400M(t *testing.T) {
	law := mpl400M(ConventionPaper)
	res, err := Plan(context.Background(), law, PlanOptions{Steps: 24000, Warmup: 2160, Peak: 3e-4, Floor: 3e-5})
	if err != nil {
		t.Fatal(err)
	}
	// The optimum is non-increasing after warm-up and within [floor, peak].
	for i := 2160; i < 24000; i++ {
		if res.LRs[i] > 3e-4+1e-15 || res.LRs[i] < 3e-5-1e-15 || (i > 2160 && res.LRs[i] > res.LRs[i-1]+1e-15) {
			t.Fatalf("step %d: rate %g (previous %g) breaks the constraints", i, res.LRs[i], res.LRs[i-1])
		}
	}
	// It beats every named schedule it is compared with.
	for _, c := range res.Compare {
		if res.Optimum.Final > c.Final+1e-9 {
			t.Errorf("optimum %.6f worse than %s %.6f", res.Optimum.Final, c.Name, c.Final)
		}
	}
	// Its table spec parses and reproduces the rates.
	s, err := schedule.Parse(res.Optimum.Spec)
	if err != nil {
		t.Fatalf("%s: %v", res.Optimum.Spec, err)
	}
	for _, i := range []int{0, 1000, 2160, 12000, 21000, 23999} {
		if d := math.Abs(s.LR(int64(i)) - res.LRs[i]); d > 1e-9*3e-4 {
			t.Errorf("step %d: table %g, planned %g", i, s.LR(int64(i)), res.LRs[i])
		}
	}
	// Spec §7: the MPL optimum is WSD-like, holding the peak for most of
	// the run (first value < 0.99·peak near 88.7% for the released
	// optimiser) and ending in a short decay.
	first := 0
	for i := 2160; i < 24000; i++ {
		if res.LRs[i] < 0.99*3e-4 {
			first = i
			break
		}
	}
	if first < 24000*6/10 {
		t.Errorf("optimum leaves the peak at step %d (%.0f%%), want a WSD-like late decay", first, 100*float64(first)/24000)
	}
	if !strings.HasPrefix(res.Nearest.Name, "wsd ") || res.Distance > 0.1 {
		t.Errorf("nearest named schedule %s at distance %.3f", res.Nearest.Name, res.Distance)
	}
	t.Logf("optimum final %.5f leaves peak at %.1f%%, nearest %s (distance %.4f, final %.5f)", res.Optimum.Final, 100*float64(first)/24000, res.Nearest.Name, res.Distance, res.Nearest.Final)
	for _, c := range res.Compare {
		t.Logf("%-16s %.5f", c.Name, c.Final)
	}
}

func TestPlanErrors(t *testing.T) {
	law := mpl400M(ConventionPaper)
	for _, tc := range []struct {
		law  Law
		o    PlanOptions
		want string
	}{
		{&Power{L0: 1, A: 1, Alpha: 1}, PlanOptions{Steps: 100, Peak: 1}, "ignores the schedule"},
		{law, PlanOptions{Steps: 5, Peak: 1}, "steps = 5"},
		{law, PlanOptions{Steps: 20_000_000, Peak: 1}, "steps = 20000000 is past the limit of 10000000 steps (raise it with --max-steps)"},
		{law, PlanOptions{Steps: 2000, MaxSteps: 1000, Peak: 1}, "steps = 2000 is past the limit of 1000 steps"},
		{law, PlanOptions{Steps: 100, Warmup: 95, Peak: 1}, "warmup = 95"},
		{law, PlanOptions{Steps: 100, Peak: -1}, "peak = -1"},
		{law, PlanOptions{Steps: 100, Peak: 1, Floor: 2}, "floor = 2"},
	} {
		_, err := Plan(context.Background(), tc.law, tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.o, err, tc.want)
		}
	}
}

// TestPlanNeverWorseThanListed checks, for laws of different shapes
// (including the degenerate corner an unregularised fit reaches on the
// EPFL runs: β → 0, B ≈ 1e7, where the best schedule is a long decay),
// that the optimum is at least as good under the law as every schedule
// Plan lists, the nearest WSD included.
func TestPlanNeverWorseThanListed(t *testing.T) {
	laws := []Law{
		mpl400M(ConventionPaper),
		&MultiPower{L0: 2.97, A: 0.87, Alpha: 0.48, B: 2.5e7, C: 1.6e-7, Beta: 1e-6, Gamma: 3.07, Convention: ConventionPaper, Warmup: -1},
		&MultiPower{L0: 2.4, A: 0.65, Alpha: 0.43, B: 100, C: 50, Beta: 2, Gamma: 0.3, Convention: ConventionPaper, Warmup: -1},
		&Annealing{L0: 2.5, A: 0.65, Alpha: 0.42, C: 0.57, Lambda: 0.999, Variant: WarmupB, Warmup: -1},
	}
	for i, law := range laws {
		res, err := Plan(context.Background(), law, PlanOptions{Steps: 6000, Warmup: 300, Peak: 1e-3, Floor: 1e-4, Knots: 16})
		if err != nil {
			t.Fatal(err)
		}
		listed := append(append([]Candidate(nil), res.Compare...), res.Nearest)
		for _, c := range listed {
			if res.Optimum.Final > c.Final+1e-12*math.Abs(c.Final) {
				t.Errorf("law %d: optimum %.9f worse than %s %.9f", i, res.Optimum.Final, c.Name, c.Final)
			}
		}
		if got := finalLoss(law, res.LRs); !near(got, res.Optimum.Final, 1e-9) {
			t.Errorf("law %d: optimum's rates give %.9f, reported %.9f", i, got, res.Optimum.Final)
		}
		t.Logf("law %d: optimum %.6f, nearest %s %.6f %s", i, res.Optimum.Final, res.Nearest.Name, res.Nearest.Final, res.Note)
	}
}

// TestPlanPeakFromLaw: without a peak, Plan uses the one the law was
// fitted at, and refuses a law that does not record it.
func TestPlanPeakFromLaw(t *testing.T) {
	f := &Fitted{Law: mpl400M(ConventionPaper), Info: FitInfo{Peak: 3e-4}}
	res, err := Plan(context.Background(), f, PlanOptions{Steps: 3000, Warmup: 100, Floor: 3e-5, Knots: 8})
	if err != nil {
		t.Fatal(err)
	}
	if res.Peak != 3e-4 || !strings.Contains(res.Compare[0].Spec, "peak=0.0003") {
		t.Errorf("peak %g, cosine %s", res.Peak, res.Compare[0].Spec)
	}
	if _, err := Plan(context.Background(), mpl400M(ConventionPaper), PlanOptions{Steps: 3000}); err == nil || !strings.Contains(err.Error(), "no peak given and the law does not record the peak rate it was fitted at") {
		t.Errorf("bare law without a peak: error %v", err)
	}
}
