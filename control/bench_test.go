package control

import (
	"math"
	"testing"
)

// BenchmarkRefine50k refines a 50,000-step log with the released smoothing
// (10,000 samples, window 1,001).
func BenchmarkRefine50k(b *testing.B) {
	g := make([]float64, 50000)
	for i := range g {
		g[i] = 1 + math.Exp(-float64(i)/2000) + 0.1*math.Sin(float64(i))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Refine(g, RuleL1, RefineOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMedianFilterNaive is the sort-every-window reference, for the
// ratio against MedianFilter's sorted sliding window.
func BenchmarkMedianFilterNaive(b *testing.B) {
	x := make([]float64, 2000)
	for i := range x {
		x[i] = math.Sin(float64(i) * 0.37)
	}
	for b.Loop() {
		bruteMedian(x, 101)
	}
}

func BenchmarkMedianFilter(b *testing.B) {
	x := make([]float64, 2000)
	for i := range x {
		x[i] = math.Sin(float64(i) * 0.37)
	}
	for b.Loop() {
		MedianFilter(x, 101)
	}
}
