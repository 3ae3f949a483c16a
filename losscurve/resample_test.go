package losscurve

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// TestResidualResample checks that every synthetic observation is the
// point prediction times a residual ratio drawn from the same run, in
// blocks, and that a run of exact fits is reproduced exactly.
func TestResidualResample(t *testing.T) {
	sizes := []int{9, 16}
	n := sizes[0] + sizes[1]
	obs, pred := make([]float64, n), make([]float64, n)
	for i := range obs {
		pred[i] = 3 - 0.01*float64(i)
		obs[i] = pred[i] * math.Exp(1e-3*float64(i+1)) // residual i+1 (×1e-3)
	}
	out := residualResample(rand.New(rand.NewPCG(1, 2)), obs, pred, sizes)
	off := 0
	for _, size := range sizes {
		for i := off; i < off+size; i++ {
			r := int(math.Round(math.Log(out[i]/pred[i])/1e-3)) - 1
			if r < off || r >= off+size {
				t.Errorf("point %d: residual of point %d, outside its run [%d, %d)", i, r, off, off+size)
			}
		}
		off += size
	}
	exact := residualResample(rand.New(rand.NewPCG(1, 2)), pred, pred, sizes)
	for i := range exact {
		if math.Abs(exact[i]-pred[i]) > 1e-15*pred[i] {
			t.Fatalf("exact fit: point %d resampled to %g, want %g", i, exact[i], pred[i])
		}
	}
}

// TestResidualBootstrapOfExactFit fits a power law to noise-free samples
// of itself: the residuals are (nearly) zero, so every residual-bootstrap
// refit predicts what the point fit predicts.
func TestResidualBootstrapOfExactFit(t *testing.T) {
	truth := &Power{L0: 2.5, A: 10, Alpha: 0.5}
	lrs := testSchedules(4000, 3e-4)["constant"]
	f, _, err := Fit(context.Background(), KindPower, []Run{synthRun("c", truth, lrs, 50)}, FitOptions{Bootstrap: 3, Resample: ResampleResiduals, Aggregate: AggregateMean})
	if err != nil {
		t.Fatal(err)
	}
	point := Base(f).Predict(lrs)
	for j, m := range f.Members {
		p := m.Predict(lrs)
		for i := 100; i < len(lrs); i += 500 {
			if math.Abs(p[i]-point[i]) > 1e-9*point[i] {
				t.Errorf("refit %d, step %d: %g, point fit %g", j, i, p[i], point[i])
			}
		}
	}
	if _, _, err := Fit(context.Background(), KindPower, []Run{synthRun("c", truth, lrs, 50)}, FitOptions{Resample: "pairs"}); err == nil {
		t.Error("unknown resampling: no error")
	}
}
