package server

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/losscurve"
)

// TestPredictionOfAConstantRun: a run that warms up from 0 and then keeps
// a constant rate cannot identify the multi-power law's response to a
// decay. The prediction says so and ranks no alternative, and its curve
// stays within a few times the observed losses (it starts after the
// warm-up, where the law is defined, not at step 0 where it diverges).
func TestPredictionOfAConstantRun(t *testing.T) {
	f := newFixture(t)
	run := f.createRun(f.tokA, "const", "warmup(constant(peak=0.001), steps=100)", 4000)
	truth := &losscurve.MultiPower{L0: 2.4, A: 0.65, Alpha: 0.43, B: 520, C: 2, Beta: 0.6, Gamma: 0.63, Convention: losscurve.ConventionPaper, Warmup: -1}
	lrs := make([]float64, 2000)
	for i := range lrs {
		lrs[i] = 0.001 * min(float64(i)/100, 1)
	}
	pred := truth.Predict(lrs)
	loss := func(i int) float64 { return min(pred[i], 11) }
	for b := range 4 {
		postBatch(f, run.ID, fmt.Sprintf("b%d", b), b*500, 500, loss)
	}
	var p Prediction
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d/prediction?law=mpl", run.ID), "", &p)
	if p.Identifiable || !strings.Contains(p.Reason, "not identifiable until the rate has decayed") || len(p.Alternatives) != 0 {
		t.Errorf("identifiable %v, reason %q, alternatives %v", p.Identifiable, p.Reason, p.Alternatives)
	}
	// The current spec keeps the rate: its prediction is defined to the end.
	if !p.FinalDefined || p.DefinedFrom < 100 || p.DefinedTo != 3999 || p.CurveSteps[0] != p.DefinedFrom {
		t.Errorf("defined %v on [%d, %d], curve from %d", p.FinalDefined, p.DefinedFrom, p.DefinedTo, p.CurveSteps[0])
	}
	lo, hi := math.Inf(1), 0.0
	for i := 100; i < 2000; i++ {
		lo, hi = min(lo, loss(i)), max(hi, loss(i))
	}
	for i, v := range p.CurveLoss {
		if v < lo/3 || v > 3*hi || p.CurveLo[i] > v || p.CurveHi[i] < v {
			t.Fatalf("curve point %d (step %d): %g in [%g, %g], observed %g..%g", i, p.CurveSteps[i], v, p.CurveLo[i], p.CurveHi[i], lo, hi)
		}
	}
	if math.Abs(p.FinalLoss-truth.Predict(append(lrs, constantTail(2000, 0.001)...))[3999])/p.FinalLoss > 0.01 {
		t.Errorf("final loss %g", p.FinalLoss)
	}
	// The dashboard says why nothing is ranked, with the final loss's
	// interval and no alternative rows.
	code, body := get(t, f.browser(f.tokA), fmt.Sprintf("%s/runs/%d", f.srv.URL, run.ID))
	for _, want := range []string{"<p class=msg id=predreason>not identifiable until the rate has decayed", "(90% interval)", "<td>current spec</td><td>"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("run page lacks %q (%d)", want, code)
		}
	}
	if strings.Contains(body, "<td>cosine: ") {
		t.Errorf("run page ranks alternatives of a law it cannot identify")
	}
}

func constantTail(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}
