package losscurve

import "math"

var mplParamNames = []string{"L0", "A", "alpha", "B", "C", "beta", "gamma"}

// Convention says which steps' learning-rate changes enter the multi-power
// law's loss-drop term.
type Convention string

const (
	// ConventionPaper is the paper's form (arXiv 2503.12811): the warm-up
	// enters only through its area S_W in S1, and the loss drop sums the
	// rate changes after warm-up, relative to the rate at the end of
	// warm-up. It is the default because its parameters transfer: L0 keeps
	// its meaning (the loss the law tends to), independent of how long the
	// warm-up was or which peak it reached, so a law fitted on runs with
	// one warm-up predicts runs with another, or none. The spec's released
	// 400M parameters are not valid in it (they were fitted in the repo
	// convention, whose L0 absorbs a warm-up offset of about +0.155).
	ConventionPaper Convention = "paper"
	// ConventionRepo is the released code's form (thu-yao-01-luo/
	// MultiPowerLaw): the full learning-rate array, warm-up included,
	// enters both S1 and the loss drop, so the warm-up increases count as
	// negative drops. The released parameters are valid only in it.
	ConventionRepo Convention = "repo"
)

// DefaultEps is the relative error bound of the power-kernel expansion
// used by MultiPower.Predict (see LossDrop).
const DefaultEps = 1e-12

// etaFloor is the smallest rate used inside G's argument η_k^−γ; smaller
// rates (including 0) are raised to it, as the released optimisation code
// clamps η ≥ 1e-10.
const etaFloor = 1e-10

// MultiPower is the multi-power law of Luo et al. (ICLR 2025, arXiv
// 2503.12811) with seven parameters:
//
//	L(t)  = L0 + A·S1(t)^−α − LD(t)
//	S1(t) = Σ_{τ≤t} η_τ
//	LD(t) = B·Σ_{k=k0..t} (η_{k−1} − η_k)·G(η_k^−γ·S_k(t)),  S_k(t) = Σ_{τ=k..t} η_τ
//	G(x)  = 1 − (C·x + 1)^−β
//
// with k0 = 1 in ConventionRepo and k0 = Warmup+1 in ConventionPaper (and
// LD = 0 during warm-up). Warmup < 0 means DetectWarmup. S1 is clipped
// below at 1e-10 as in the released code (a schedule starting at rate 0).
type MultiPower struct {
	L0, A, Alpha, B, C, Beta, Gamma float64
	Convention                      Convention
	Warmup                          int
	// Eps is the relative error bound of the loss-drop evaluation; 0
	// means DefaultEps. The bound used is min(Eps, β/1000), at least
	// 1e-13, since the loss drop shrinks with β.
	Eps float64
}

// Name returns "mpl".
func (m *MultiPower) Name() string { return KindMPL }

// Params returns the seven parameters.
func (m *MultiPower) Params() map[string]float64 {
	return map[string]float64{"L0": m.L0, "A": m.A, "alpha": m.Alpha, "B": m.B, "C": m.C, "beta": m.Beta, "gamma": m.Gamma}
}

// dropStart returns k0, the first step whose rate change enters LD.
func (m *MultiPower) dropStart(lrs []float64) int {
	if m.Convention == ConventionRepo {
		return 1
	}
	w := m.Warmup
	if w < 0 {
		w = DetectWarmup(lrs)
	}
	return w + 1
}

// eps returns the expansion's error bound. The bound is relative to
// Σ|Δ_k|, while the loss drop itself scales like β·Σ Δ_k for small β, so
// eps is also kept below β/1000 (down to 1e-13).
func (m *MultiPower) eps() float64 {
	e := DefaultEps
	if m.Eps > 0 {
		e = m.Eps
	}
	return max(min(e, 1e-3*m.Beta), 1e-13)
}

// Predict returns the predicted loss at every step, in O(T·J) time where J
// (about 50–120) is the number of exponentials of the kernel expansion.
func (m *MultiPower) Predict(lrs []float64) []float64 {
	k0 := m.dropStart(lrs)
	ld := LossDrop(lrs, k0, m.C, m.Beta, m.Gamma, m.eps())
	s1 := cumsum(lrs)
	out := make([]float64, len(lrs))
	for i := range out {
		out[i] = m.L0 + m.A*math.Pow(max(s1[i], 1e-10), -m.Alpha) - m.B*ld[i]
	}
	return out
}

// PredictFinal returns the predicted loss at the last step exactly, in
// O(T) time (one pass, no expansion).
func (m *MultiPower) PredictFinal(lrs []float64) float64 {
	if len(lrs) == 0 {
		return math.NaN()
	}
	t := len(lrs) - 1
	s1 := 0.0
	for _, v := range lrs {
		s1 += v
	}
	return m.L0 + m.A*math.Pow(max(s1, 1e-10), -m.Alpha) - m.B*lossDropAt(lrs, m.dropStart(lrs), t, m.C, m.Beta, m.Gamma)
}

// lossDropAt returns LD(t)/B = Σ_{k=k0..t} (η_{k−1}−η_k)·G(η_k^−γ·S_k(t))
// by the direct sum, walking k downwards from t so S_k(t) accumulates.
func lossDropAt(lrs []float64, k0, t int, c, beta, gamma float64) float64 {
	sum, s := 0.0, 0.0
	for k := t; k >= max(k0, 1); k-- {
		s += lrs[k]
		d := lrs[k-1] - lrs[k]
		if d != 0 {
			// G = 1 − (1+Cx)^−β, written to keep its precision for small β.
			sum += d * -math.Expm1(-beta*math.Log1p(c*math.Pow(max(lrs[k], etaFloor), -gamma)*s))
		}
	}
	return sum
}

// LossDropNaive returns LD(t)/B for every step t by the direct O(T²) sum
// (zero before k0). It is the reference LossDrop is tested against.
func LossDropNaive(lrs []float64, k0 int, c, beta, gamma float64) []float64 {
	out := make([]float64, len(lrs))
	for t := range lrs {
		out[t] = lossDropAt(lrs, k0, t, c, beta, gamma)
	}
	return out
}

// LossDrop returns LD(t)/B = Σ_{k=k0..t} (η_{k−1}−η_k)·G(η_k^−γ·S_k(t)) for
// every step t of lrs (zero for t < k0), in time linear in len(lrs).
//
// Method. With Δ_k = η_{k−1}−η_k, a_k = C·η_k^−γ and d_k(t) = S_k(t),
//
//	Σ Δ_k·G = Σ Δ_k − Σ w_k·y_k(t)^−β,  w_k = Δ_k·a_k^−β,  y_k(t) = 1/a_k + d_k(t).
//
// The kernel y^−β is replaced by a sum of exponentials Σ_j q_j·e^{−u_j y}
// (plus a linear tail, see powerSOE) whose relative error is at most eps
// on the range of y the schedule produces. Because y_k(t) = y_k(t−1) + η_t,
// each exponential's sum over k obeys R_j(t) = e^{−u_j η_t}·(R_j(t−1) +
// w_t·e^{−u_j/a_t}): one update per step and node, with exponentials
// recomputed only when the rate changes. The linear tail needs Σ w_k and
// Σ w_k·(1/a_k − S(k−1)), two running sums.
//
// Error bound: |LossDrop − LossDropNaive| ≤ eps·Σ_k |Δ_k| + rounding,
// since each term's kernel is approximated to relative error eps and
// (1 + a_k·d)^−β ≤ 1. Rates below 1e-10 are raised to 1e-10 inside η_k^−γ
// in both functions.
func LossDrop(lrs []float64, k0 int, c, beta, gamma, eps float64) []float64 {
	out := make([]float64, len(lrs))
	k0 = max(k0, 1)
	if k0 >= len(lrs) {
		return out
	}
	v := lossDropSegments(lrs[k0-1], lrs[k0:], nil, c, beta, gamma, eps)
	copy(out[k0:], v)
	return out
}

// lossDropSegments evaluates LD/B at the end of each segment of a
// piecewise-constant schedule: segment s has rate eta[s] for lens[s] steps
// (lens nil: one step each) and the rate before the first segment is ref.
// The change into segment s happens at its first step.
func lossDropSegments(ref float64, eta []float64, lens []int, c, beta, gamma, eps float64) []float64 {
	out := make([]float64, len(eta))
	segLen := func(s int) float64 {
		if lens == nil {
			return 1
		}
		return float64(lens[s])
	}
	// Range of y = 1/a_k + d over the drops.
	ymin, ymax := math.Inf(1), 0.0
	total, prev := 0.0, ref
	drops := false
	for s, e := range eta {
		if e != prev {
			drops = true
			ia := math.Pow(max(e, etaFloor), gamma) / c
			ymin = min(ymin, ia)
			ymax = max(ymax, ia)
		}
		prev = e
		total += e * segLen(s)
	}
	if !drops || c <= 0 || beta <= 0 {
		// No changes, or a degenerate kernel: G is 0 (c = 0) or 0 (β = 0).
		return out
	}
	ymax += max(total, 0)
	if ymax <= ymin {
		ymax = ymin * 2
	}
	p := newPowerSOE(beta, ymin, ymax, eps)
	J := len(p.q)
	r := make([]float64, J)
	decay := make([]float64, J)
	lastStep := math.NaN()
	sumD, sumW, sumWc, pos := 0.0, 0.0, 0.0, 0.0
	prev = ref
	for s, e := range eta {
		if d := prev - e; d != 0 {
			ia := math.Pow(max(e, etaFloor), gamma) / c // 1/a_k
			w := d * math.Pow(ia, beta)                 // Δ_k·a_k^−β
			for j := range r {
				r[j] += w * math.Exp(-p.u[j]*ia)
			}
			sumD += d
			sumW += w
			sumWc += w * (ia - pos)
		}
		prev = e
		step := e * segLen(s)
		if step != lastStep {
			for j := range decay {
				decay[j] = math.Exp(-p.u[j] * step)
			}
			lastStep = step
		}
		f := 0.0
		for j := range r {
			r[j] *= decay[j]
			f += p.q[j] * r[j]
		}
		pos += step
		f += p.q0*sumW - p.q1*(sumWc+pos*sumW)
		out[s] = sumD - f
	}
	return out
}
