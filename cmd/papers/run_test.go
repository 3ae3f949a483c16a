package main

import (
	"math"
	"testing"
)

func TestTunePeak(t *testing.T) {
	cases := []struct {
		name    string
		optimum float64
		best    float64
		tried   int
	}{
		{"interior", 1e-3, 1e-3, 3},
		{"above the grid", 1e-2, 9e-3, 5},
		{"far above: extensions run out", 1, 2.7e-2, 5},
		{"below the grid", 1.2e-4, 1e-4, 5},
	}
	for _, c := range cases {
		calls := 0
		best, tried, err := tunePeak([]float64{3e-4, 1e-3, 3e-3}, 3, func(p float64) (float64, error) {
			calls++
			return -math.Abs(math.Log(p / c.optimum)), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(best/c.best-1) > 1e-9 || len(tried) != c.tried || calls != c.tried {
			t.Errorf("%s: best %g after %d peaks (%d calls) %v, want %g after %d", c.name, best, len(tried), calls, tried, c.best, c.tried)
		}
		for i := 1; i < len(tried); i++ {
			if tried[i][0] <= tried[i-1][0] {
				t.Errorf("%s: tried peaks not increasing: %v", c.name, tried)
			}
		}
	}
}

func TestTInterval(t *testing.T) {
	// Mean 2, sample SD 1, n = 3: half-width 4.303/√3.
	m, ci := tInterval([]float64{1, 2, 3})
	if m != 2 || math.Abs(ci[1]-2-4.303/math.Sqrt(3)) > 1e-12 || math.Abs(ci[0]-2+4.303/math.Sqrt(3)) > 1e-12 {
		t.Errorf("mean %v interval %v", m, ci)
	}
	if verdict([2]float64{0.1, 0.2}) != "higher" || verdict([2]float64{-0.2, -0.1}) != "lower" || verdict([2]float64{-0.1, 0.1}) != "inconclusive" {
		t.Error("verdicts")
	}
}
