package losscurve

import "math"

var annealingParamNames = []string{"L0", "A", "alpha", "C", "lambda"}

// WarmupVariant says how the LR-annealing law treats warm-up steps (spec
// adaptive.md §6; the law's warm-up handling is not settled by a public
// reference implementation, so both variants seen in reimplementations are
// offered).
type WarmupVariant string

const (
	// WarmupA treats every warm-up rate as the peak rate for S1 and S2
	// (the variant of the reimplementation that follows the official
	// code).
	WarmupA WarmupVariant = "a"
	// WarmupB adds the actual warm-up area to S1 and starts the S2
	// accumulation at the end of warm-up, so warm-up adds no (negative)
	// annealing. It is the default.
	WarmupB WarmupVariant = "b"
)

// DefaultLambda is the momentum decay λ of the annealing area (spec §6:
// typical 0.999).
const DefaultLambda = 0.999

// Annealing is the LR-annealing ("momentum") law of Tissue, Wang and Wang
// 2024 (arXiv 2408.11029):
//
//	L(s) = L0 + A·S1(s)^−α − C·S2(s)
//	S1(s) = Σ_{i≤s} η_i
//	m_i = λ·m_{i−1} + (η_{i−1} − η_i),  S2(s) = Σ_{i≤s} m_i
//
// with m = 0 at the first counted step. Warmup is the number of warm-up
// steps (negative: DetectWarmup); Variant says how they are treated.
type Annealing struct {
	L0, A, Alpha, C float64
	Lambda          float64 // momentum decay λ in [0, 1]
	Variant         WarmupVariant
	Warmup          int
}

// Name returns "annealing".
func (a *Annealing) Name() string { return KindAnnealing }

// Params returns L0, A, alpha, C and lambda.
func (a *Annealing) Params() map[string]float64 {
	return map[string]float64{"L0": a.L0, "A": a.A, "alpha": a.Alpha, "C": a.C, "lambda": a.Lambda}
}

// Areas returns S1 and S2 of lrs under the law's warm-up variant.
func (a *Annealing) Areas(lrs []float64) (s1, s2 []float64) {
	w := a.Warmup
	if w < 0 {
		w = DetectWarmup(lrs)
	}
	return AnnealingAreas(lrs, a.Lambda, w, a.Variant)
}

// Predict returns L0 + A·S1^−α − C·S2 at every step.
func (a *Annealing) Predict(lrs []float64) []float64 {
	s1, s2 := a.Areas(lrs)
	out := make([]float64, len(lrs))
	for i := range out {
		out[i] = a.L0 + a.A*math.Pow(s1[i], -a.Alpha) - a.C*s2[i]
	}
	return out
}

// AnnealingAreas returns the forward area S1 and the annealing area S2 of
// the LR-annealing law for per-step rates lrs with warm-up length warmup
// (spec adaptive.md §6). Variant WarmupB sums the actual rates into S1 and
// starts S2 at step warmup (m = 0 there); WarmupA first replaces the
// warm-up rates by the maximum rate and starts S2 at step 0. With
// warmup = 0 both are the plain definitions with m_0 = 0.
func AnnealingAreas(lrs []float64, lambda float64, warmup int, v WarmupVariant) (s1, s2 []float64) {
	eta := lrs
	start := min(max(warmup, 0), len(lrs))
	if v == WarmupA && start > 0 {
		peak := 0.0
		for _, x := range lrs {
			peak = max(peak, x)
		}
		eta = append([]float64(nil), lrs...)
		for i := 0; i < start; i++ {
			eta[i] = peak
		}
		start = 0
	}
	s1 = cumsum(eta)
	s2 = make([]float64, len(eta))
	m, acc := 0.0, 0.0
	for i := start; i < len(eta); i++ {
		if i > start {
			m = lambda*m + (eta[i-1] - eta[i])
		}
		acc += m
		s2[i] = acc
	}
	return s1, s2
}
