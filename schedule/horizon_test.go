package schedule

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestHorizon(t *testing.T) {
	tests := []struct {
		spec string
		want int64 // 0: none
	}{
		{"cosine(steps=1000)", 1000},
		{"wsd(peak=3e-4, steps=10000, warmup=0.05, decay=0.2)", 10000},
		{"uba(steps=700, phi=0.8)", 700},
		{"warmup(cosine(steps=900), steps=100)", 900},
		{"warmup(cosine(steps=900), steps=100, prefix=true)", 1000},
		{"warmup(cosine(steps=3000), shape=untuned_linear)", 3000},
		{"warmup(cosine(steps=900), shape=untuned_linear, prefix=true)", 2900},
		{"warmup(constant(), steps=100)", 0},
		{"warmup(cosine(steps=900), steps=50, shape=exp)", 900},
		{"join([constant(peak=1), linear(steps=300)], at=[200])", 500},
		{"join([linear(steps=300), constant(peak=1)], at=[300])", 0},
		{"scale(rex(steps=400), by=2)", 400},
		{"clamp(cosine(steps=400), max=0.5)", 400},
		{"floor(linear(steps=80), min=0.1)", 80},
		{"wsds(budgets=[400, 700, 1000])", 1000},
		{"wsdc(level=0.1, warmup=100, stable=500, decay=200)", 800},
		{"table(at=[0, 10, 250], lr=[0, 1, 0])", 250},
		{"sgdr(period=100, mult=2)", 0},
		{"cyclic(low=0.1, high=1)", 0},
		{"step(every=30)", 0},
		{"cycle(linear(steps=100), period=100)", 0},
		{"invsqrt(warmup=100)", 0},
	}
	for _, tc := range tests {
		s, err := Parse(tc.spec)
		if err != nil {
			t.Errorf("%s: %v", tc.spec, err)
			continue
		}
		got, ok := Horizon(s)
		if !ok {
			got = 0
		}
		if got != tc.want {
			t.Errorf("Horizon(%s) = %d, %v; want %d", tc.spec, got, ok, tc.want)
		}
	}
}

func TestMaxSampleRange(t *testing.T) {
	s, err := Parse("warmup(cosine(peak=2, steps=100), steps=10)")
	if err != nil {
		t.Fatal(err)
	}
	if m := Max(s, 200); m != 2 {
		t.Errorf("Max = %v, want 2", m)
	}
	if m := Max(s, 5); m != 0.8 {
		t.Errorf("Max over the first 5 steps = %v, want 0.8", m)
	}
	if !math.IsNaN(Max(s, 0)) {
		t.Error("Max over no steps is not NaN")
	}
	// Sampled beyond a million steps: still finds the plateau.
	big, _ := Parse("wsd(peak=3, steps=5000000, decay=0.5)")
	if m := Max(big, 5000000); m != 3 {
		t.Errorf("Max of a long schedule = %v, want 3", m)
	}
	got, err := Sample(s, Range(0, 20, 5))
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0, 1, s.LR(10), s.LR(15), s.LR(20)}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Sample[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		f := Func(func(t int64) float64 {
			if t == 3 {
				return bad
			}
			return 1
		})
		_, err = Sample(f, []int64{0, 1, 3, 5})
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("the learning rate at step 3 is %v", bad)) {
			t.Errorf("%v sample: %v", bad, err)
		}
	}
	if r := Range(0, 10, 4); len(r) != 3 || r[2] != 8 {
		t.Errorf("Range(0, 10, 4) = %v", r)
	}
	if r := Range(math.MaxInt64-1, math.MaxInt64, 1); len(r) != 2 {
		t.Errorf("Range at the int64 limit = %v", r)
	}
	if r := Range(5, 4, 1); r != nil {
		t.Errorf("empty Range = %v", r)
	}
}
