package losscurve

import "math"

var powerParamNames = []string{"L0", "A", "alpha"}

// Power is the schedule-blind baseline L(t) = L0 + A·t^−α, where t = i+1
// is the number of updates done after step i. It predicts the same curve
// for every schedule of the same length.
type Power struct {
	L0, A, Alpha float64
}

// Name returns "power".
func (p *Power) Name() string { return KindPower }

// Params returns L0, A and alpha.
func (p *Power) Params() map[string]float64 {
	return map[string]float64{"L0": p.L0, "A": p.A, "alpha": p.Alpha}
}

// Predict returns L0 + A·(i+1)^−α for every step i of lrs.
func (p *Power) Predict(lrs []float64) []float64 {
	out := make([]float64, len(lrs))
	for i := range out {
		out[i] = p.L0 + p.A*math.Pow(float64(i+1), -p.Alpha)
	}
	return out
}
