package main

import (
	"runtime/cgo"
	"testing"

	"github.com/lrkit/lrkit/schedule"
)

// BenchmarkValuesRange is the cost per step of lrkit_range without the C
// boundary; BenchmarkLRDirect the schedule's own LR, its floor.
func BenchmarkValuesRange(b *testing.B) {
	s, _ := schedule.Parse("warmup(cosine(peak=0.1, steps=100000), steps=1000)")
	h := cgo.NewHandle(s)
	defer h.Delete()
	out := make([]float64, b.N)
	b.ResetTimer()
	valuesRange(h, 0, 1, out)
}

func BenchmarkLRDirect(b *testing.B) {
	s, _ := schedule.Parse("warmup(cosine(peak=0.1, steps=100000), steps=1000)")
	out := make([]float64, b.N)
	b.ResetTimer()
	for i := range out {
		out[i] = s.LR(int64(i))
	}
}
