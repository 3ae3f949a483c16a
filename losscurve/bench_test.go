package losscurve

import (
	"context"
	"fmt"
	"math"
	"testing"
)

// cosineLRs is a warm-up + cosine schedule: after warm-up every step
// changes the rate, the worst case for the loss-drop sum.
func cosineLRs(T int) []float64 {
	lrs := make([]float64, T)
	W := T / 100
	for i := range lrs {
		if i < W {
			lrs[i] = 3e-4 * float64(i+1) / float64(W)
		} else {
			lrs[i] = 3e-5 + 0.5*(3e-4-3e-5)*(1+math.Cos(math.Pi*float64(i-W)/float64(T-W)))
		}
	}
	return lrs
}

// BenchmarkMPLPredict measures MultiPower.Predict at every step of a
// cosine schedule; compare the ns/step metric across sizes for linearity.
func BenchmarkMPLPredict(b *testing.B) {
	for _, T := range []int{10_000, 100_000, 1_000_000} {
		lrs := cosineLRs(T)
		m := mpl400M(ConventionPaper)
		b.Run(fmt.Sprintf("T=%d", T), func(b *testing.B) {
			for b.Loop() {
				m.Predict(lrs)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(T), "ns/step")
			b.ReportMetric(float64(soeNodes(m, lrs)), "nodes")
		})
	}
}

// soeNodes returns the number of exponentials the expansion uses for lrs
// (it grows like the log of the range of y, so slowly with T).
func soeNodes(m *MultiPower, lrs []float64) int {
	k0 := m.dropStart(lrs)
	ymin, ymax, s := math.Inf(1), 0.0, 0.0
	for k := k0; k < len(lrs); k++ {
		ia := math.Pow(max(lrs[k], etaFloor), m.Gamma) / m.C
		ymin, ymax = min(ymin, ia), max(ymax, ia)
		s += lrs[k]
	}
	return len(newPowerSOE(m.Beta, ymin, ymax+s, m.eps()).q)
}

// BenchmarkFitMPLThree50k fits the multi-power law to three 50k-step
// curves (constant, cosine, WSD) observed every 200 steps.
func BenchmarkFitMPLThree50k(b *testing.B) {
	law := mpl400M(ConventionPaper)
	sch := testSchedules(50_000, 3e-4)
	runs := []Run{synthRun("constant", law, sch["constant"], 200), synthRun("cosine", law, sch["cosine"], 200), synthRun("wsd", law, sch["wsd"], 200)}
	for b.Loop() {
		if _, _, err := Fit(context.Background(), KindMPL, runs, FitOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
