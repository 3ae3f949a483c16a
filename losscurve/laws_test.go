package losscurve

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// mplWSD regenerates the released MPL repo's wsd_20000_24000 schedule from
// its stated formula (spec adaptive.md §7): 2160 warm-up steps linear from
// 0 to 3e-4 (numpy linspace, both ends included), 3e-4 until step 20000,
// then geometric decay 3e-4·0.1^((s−20000)/4000) over steps 20000–23999.
func mplWSD() []float64 {
	lrs := make([]float64, 24000)
	for i := range lrs {
		switch {
		case i < 2160:
			lrs[i] = 3e-4 * float64(i) / 2159
		case i < 20000:
			lrs[i] = 3e-4
		default:
			lrs[i] = 3e-4 * math.Pow(0.1, float64(i-20000)/4000)
		}
	}
	return lrs
}

// mpl400M is the released 400M fit (spec §7 table, repo config.py).
func mpl400M(conv Convention) *MultiPower {
	return &MultiPower{L0: 2.374745, A: 0.654212, Alpha: 0.428787, B: 523.4246, C: 2.024627, Beta: 0.593505, Gamma: 0.634725, Convention: conv, Warmup: -1}
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestAnnealingAreasWorkedExample(t *testing.T) {
	eta := []float64{1, 1, 1, 0.8, 0.6, 0.4, 0.2, 0.1}
	wantS1 := []float64{1, 2, 3, 3.8, 4.4, 4.8, 5, 5.1}
	for _, tc := range []struct {
		lambda float64
		s2     []float64
	}{
		{0.999, []float64{0, 0, 0, 0.2, 0.5998, 1.1992, 1.998, 2.896}},
		{0.9, []float64{0, 0, 0, 0.2, 0.58, 1.122, 1.8098, 2.52882}},
	} {
		for _, v := range []WarmupVariant{WarmupA, WarmupB} {
			s1, s2 := AnnealingAreas(eta, tc.lambda, 0, v)
			for i := range eta {
				if !near(s1[i], wantS1[i], 1e-12) || !near(s2[i], tc.s2[i], 5e-5) {
					t.Errorf("λ=%g %s step %d: S1=%g S2=%g, want %g %g", tc.lambda, v, i+1, s1[i], s2[i], wantS1[i], tc.s2[i])
				}
			}
		}
	}
}

func TestAnnealingAreasWSD(t *testing.T) {
	lrs := mplWSD()
	s1, s2 := AnnealingAreas(lrs, 0.999, DetectWarmup(lrs), WarmupB)
	for _, tc := range []struct {
		step   int
		s1, s2 float64
	}{{20000, 5.676300, 0}, {22000, 6.032548, 0.13158461}, {23999, 6.145173, 0.23676559}} {
		if !near(s1[tc.step], tc.s1, 1e-6) || !near(s2[tc.step], tc.s2, 1e-8) {
			t.Errorf("step %d: S1=%.8f S2=%.8f, want %.6f %.8f", tc.step, s1[tc.step], s2[tc.step], tc.s1, tc.s2)
		}
	}
	if sw := s1[2159]; !near(sw, 0.324, 1e-12) {
		t.Errorf("S_W = %.9f, want 0.324", sw)
	}
	// Variant (a) treats warm-up as peak: S1 at the end of warm-up is 2160·3e-4.
	s1a, s2a := AnnealingAreas(lrs, 0.999, DetectWarmup(lrs), WarmupA)
	if !near(s1a[2159], 2160*3e-4, 1e-12) || s2a[20000] != 0 || s2a[22000] <= 0 {
		t.Errorf("variant a: S1(2159)=%g S2(20000)=%g S2(22000)=%g", s1a[2159], s2a[20000], s2a[22000])
	}
}

func TestMPLToyPaperConvention(t *testing.T) {
	// Spec §7 toy: S_W = 0.3 enters as a warm-up step of rate 0.3 (paper
	// convention ignores its change), then six post-warm-up steps.
	m := &MultiPower{L0: 2, A: 0.5, Alpha: 0.5, B: 300, C: 2, Beta: 0.6, Gamma: 0.6, Convention: ConventionPaper, Warmup: 1}
	lrs := []float64{0.3, 3e-4, 3e-4, 3e-4, 1.5e-4, 1.5e-4, 1.5e-4}
	want := []float64{2.91241484, 2.91195943, 2.91150470, 2.90975407, 2.90813382, 2.90662679}
	got := m.Predict(lrs)
	for i, w := range want {
		if !near(got[i+1], w, 1e-8) {
			t.Errorf("L(%d) = %.8f, want %.8f", i+1, got[i+1], w)
		}
	}
}

func TestMPL400MPointPredictions(t *testing.T) {
	lrs := mplWSD()
	for _, tc := range []struct {
		conv Convention
		want map[int]float64
	}{
		{ConventionRepo, map[int]float64{2160: 3.579503, 20000: 2.841224, 22000: 2.736385, 23999: 2.699813}},
		{ConventionPaper, map[int]float64{2160: 3.435019, 20000: 2.685476, 22000: 2.580590, 23999: 2.544004}},
	} {
		m := mpl400M(tc.conv)
		got := m.Predict(lrs)
		for step, w := range tc.want {
			// The spec rounds to 6 decimals; 2e-6 allows for its rounding.
			if !near(got[step], w, 2e-6) {
				t.Errorf("%s step %d: %.6f, want %.6f", tc.conv, step, got[step], w)
			}
		}
		if f := m.PredictFinal(lrs); !near(f, got[len(got)-1], 1e-10) {
			t.Errorf("%s: PredictFinal %.12f != Predict last %.12f", tc.conv, f, got[len(got)-1])
		}
	}
}

// TestLossDropMatchesNaive proves the O(T) evaluation equal to the O(T²)
// sum within the stated bound eps·Σ|Δ_k| (+1e-15 rounding) on schedules
// with every step changing (cosine, 1-sqrt, noise), jumps and warm-up.
func TestLossDropMatchesNaive(t *testing.T) {
	const T = 1000
	sched := map[string]func(i int) float64{
		"wsd-geometric": func(i int) float64 { return mplWSD()[i*24] },
		"cosine": func(i int) float64 {
			return 1e-4 + 0.5*(1e-3-1e-4)*(1+math.Cos(math.Pi*float64(i)/T))
		},
		"warmup-1sqrt-to-zero": func(i int) float64 {
			if i < 300 {
				return 1e-3 * float64(i) / 300
			}
			return 1e-3 * (1 - math.Sqrt(float64(i-300)/float64(T-300)))
		},
		"steps-and-rises": func(i int) float64 { return 2e-4 * float64(1+(i/500)%3) },
		"jitter": func(i int) float64 {
			return 5e-4 * (1 + 0.5*math.Sin(float64(i)*0.7)*math.Cos(float64(i)*0.013))
		},
	}
	params := []struct{ c, beta, gamma float64 }{{2.024627, 0.593505, 0.634725}, {0.3, 1.4, 0.2}, {10, 0.1, 0.9}}
	for name, f := range sched {
		lrs := make([]float64, T)
		for i := range lrs {
			lrs[i] = f(i)
		}
		for _, p := range params {
			for _, k0 := range []int{1, 301} {
				slow := LossDropNaive(lrs, k0, p.c, p.beta, p.gamma)
				for _, eps := range []float64{1e-12, 1e-8} {
					fast := LossDrop(lrs, k0, p.c, p.beta, p.gamma, eps)
					bound := 0.0
					for k := max(k0, 1); k < T; k++ {
						bound += math.Abs(lrs[k-1] - lrs[k])
					}
					bound = eps*bound + 1e-15
					for i := range lrs {
						if d := math.Abs(fast[i] - slow[i]); d > bound {
							t.Fatalf("%s %+v k0=%d eps=%g step %d: fast %.15g naive %.15g, diff %.3g > bound %.3g", name, p, k0, eps, i, fast[i], slow[i], d, bound)
						}
					}
				}
			}
		}
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	laws := []Law{
		mpl400M(ConventionRepo),
		&Annealing{L0: 2.5238, A: 0.6537, Alpha: 0.42, C: 0.569, Lambda: 0.999, Variant: WarmupA, Warmup: 10},
		&Power{L0: 3, A: 2, Alpha: 0.5},
	}
	lrs := mplWSD()[:5000]
	for _, l := range laws {
		var buf bytes.Buffer
		if err := Save(&buf, l); err != nil {
			t.Fatal(err)
		}
		back, err := Load(&buf)
		if err != nil {
			t.Fatalf("%s: %v", l.Name(), err)
		}
		a, b := l.Predict(lrs), back.Predict(lrs)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s: step %d differs after round trip: %v vs %v", l.Name(), i, a[i], b[i])
			}
		}
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"law":"nope","params":{}}`, `unknown law "nope"`},
		{`{"law":"power","params":{"L0":1,"A":1}}`, `parameter "alpha" missing`},
		{`{"law":"power","params":{"L0":1,"A":1,"alpha":1,"zz":2}}`, `unknown parameters [zz]`},
		{`{"law":"mpl","variant":"x","params":{"L0":1,"A":1,"alpha":1,"B":1,"C":1,"beta":1,"gamma":1}}`, `mpl variant "x"`},
		{`{"law":"power","params":{"L0":1,"A":1,"alpha":1},"extra":1}`, `unknown field "extra"`},
		{`{"law":`, `reading law JSON`},
	} {
		_, err := Load(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%s) error %v, want it to contain %q", tc.in, err, tc.want)
		}
	}
}
