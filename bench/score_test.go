package bench

import (
	"math"
	"testing"
)

var inf = math.Inf(1)

// The worked example of spec adaptive.md §8: three submissions on n = 4
// workloads, with AlgoPerf's trapezoid score and the exact integral.
func TestScoreWorkedExample(t *testing.T) {
	times := [][]float64{
		{100, 200, inf, 50},  // A
		{120, 100, 400, 60},  // B
		{300, 150, 300, 250}, // C
	}
	wantRatios := [][]float64{
		{1, 2, inf, 1},
		{1.2, 1, 400.0 / 300, 1.2},
		{3, 1.5, 1, inf},
	}
	wantTrapz := []float64{0.6679, 0.9407, 0.5429}
	wantExact := []float64{0.6667, 0.9389, 0.5417}
	ratios, err := Ratios(times)
	if err != nil {
		t.Fatal(err)
	}
	for s := range times {
		for w := range times[s] {
			if !approx(ratios[s][w], wantRatios[s][w], 1e-12) {
				t.Errorf("ratio[%d][%d] = %v, want %v", s, w, ratios[s][w], wantRatios[s][w])
			}
		}
		if got := ScoreTrapezoid(ratios[s], 4, 100); math.Abs(got-wantTrapz[s]) > 5e-5 {
			t.Errorf("submission %d: trapezoid score %.5f, want %.4f", s, got, wantTrapz[s])
		}
		if got := Score(ratios[s], 4); math.Abs(got-wantExact[s]) > 5e-5 {
			t.Errorf("submission %d: exact score %.5f, want %.4f", s, got, wantExact[s])
		}
	}
}

func approx(a, b, tol float64) bool {
	if math.IsInf(a, 1) || math.IsInf(b, 1) {
		return a == b
	}
	return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b))
}

func TestTimeToTarget(t *testing.T) {
	evals := []Eval{{100, 0.5}, {200, math.NaN()}, {300, 0.91}, {400, 0.95}}
	tests := []struct {
		name   string
		target float64
		higher bool
		want   float64
	}{
		{"accuracy reached at 300", 0.9, true, 300},
		{"accuracy never reached", 0.99, true, inf},
		{"loss at or below target", 0.5, false, 100},
		{"exact equality counts", 0.95, true, 400},
	}
	for _, tc := range tests {
		if got := TimeToTarget(evals, tc.target, tc.higher); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestWorkloadTime(t *testing.T) {
	tests := []struct {
		name    string
		studies [][]float64
		want    float64
	}{
		{"median of best per study", [][]float64{{5, 3}, {7, 9}, {4}}, 4},
		{"infinite study enters median", [][]float64{{inf}, {inf}, {2}}, inf},
		{"even count averages", [][]float64{{2}, {4}}, 3},
		{"even count with inf", [][]float64{{2}, {inf}}, inf},
	}
	for _, tc := range tests {
		got, err := WorkloadTime(tc.studies)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if _, err := WorkloadTime([][]float64{{1}, {}}); err == nil {
		t.Error("empty study: want error")
	}
}

func TestScoreBoundsAndMonotone(t *testing.T) {
	if got := Score([]float64{1, 1, 1}, 3); got != 1 {
		t.Errorf("best everywhere: score %v, want 1", got)
	}
	if got := Score([]float64{inf, inf}, 2); got != 0 {
		t.Errorf("never reached: score %v, want 0", got)
	}
	prev := 2.0
	for r := 1.0; r <= 4.5; r += 0.25 {
		s := Score([]float64{r}, 1)
		if s > prev || s < 0 || s > 1 {
			t.Fatalf("score(%v) = %v not in [0,1] or not decreasing (prev %v)", r, s, prev)
		}
		prev = s
	}
}

func TestGeoMeanSpeedup(t *testing.T) {
	got, n := GeoMeanSpeedup([]float64{50, 200, inf}, []float64{100, 100, 100})
	if n != 2 || !approx(got, 1, 1e-12) {
		t.Errorf("got %v over %d workloads, want 1 over 2", got, n)
	}
	got, n = GeoMeanSpeedup([]float64{25, 25}, []float64{100, 100})
	if n != 2 || !approx(got, 4, 1e-12) {
		t.Errorf("got %v over %d, want 4 over 2", got, n)
	}
}

func TestRatiosRejectsRagged(t *testing.T) {
	if _, err := Ratios([][]float64{{1, 2}, {1}}); err == nil {
		t.Error("ragged times: want error")
	}
}
