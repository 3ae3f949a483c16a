package schedule

import (
	"testing"
)

var benchSink float64

// BenchmarkLR measures one LR call for every kind (and the parity and
// shape variants of propCases), over a spread of steps.
//
//	go test -run '^$' -bench BenchmarkLR -benchmem ./schedule
func BenchmarkLR(b *testing.B) {
	for _, c := range propCases() {
		s, err := New(c.s)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var acc float64
			for i := 0; i < b.N; i++ {
				acc += s.LR(int64(i*7) % 2500)
			}
			benchSink = acc
		})
	}
}

// TestLRDoesNotAllocate asserts what the benchmark reports: LR allocates
// nothing, for every kind, including compositions.
func TestLRDoesNotAllocate(t *testing.T) {
	for _, c := range propCases() {
		s := mustNew(t, c.s)
		st := int64(0)
		allocs := testing.AllocsPerRun(200, func() {
			benchSink += s.LR(st)
			st += 13
		})
		if allocs != 0 {
			t.Errorf("%s: LR allocates %v times per call", c.name, allocs)
		}
	}
}
