package scaling

import (
	"fmt"
	"math"
	"sort"
)

// Point is one run's final loss: N parameters trained on D tokens.
type Point struct {
	Group string // the procedure (cosine, wsd, ...)
	N, D  float64
	Loss  float64
}

// Compute is the run's training compute in FLOPs, 6·N·D.
func (p Point) Compute() float64 { return 6 * p.N * p.D }

// Form names a functional form.
type Form string

// The forms Fit knows.
const (
	Chinchilla Form = "chinchilla" // E + A/N^α + B/D^β
	Saturating Form = "compute"    // E + A·C^−α on the frontier
	PowerLaw   Form = "power"      // A·C^−α on the frontier
)

// Forms lists the forms.
var Forms = []Form{Chinchilla, Saturating, PowerLaw}

// ParseForm checks a form's name.
func ParseForm(s string) (Form, error) {
	for _, f := range Forms {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("scaling: unknown form %q (have chinchilla, compute, power)", s)
}

// Law is a fitted scaling law. For the compute forms B and Beta are 0,
// and PowerLaw has E = 0.
type Law struct {
	Form           Form
	E, A, B        float64
	Alpha, Beta    float64
	Objective      float64 // the fit's Huber objective (per δ)
	Points, Fitted int     // points given, points fitted (the frontier for compute forms)
}

// Loss predicts the loss of N parameters trained on D tokens (the compute
// forms use C = 6·N·D).
func (l Law) Loss(n, d float64) float64 {
	if l.Form == Chinchilla {
		return l.E + l.A/math.Pow(n, l.Alpha) + l.B/math.Pow(d, l.Beta)
	}
	return l.LossAtCompute(6 * n * d)
}

// LossAtCompute predicts the loss at compute C. For the Chinchilla form it
// is the loss at the compute-optimal split (Optimal).
func (l Law) LossAtCompute(c float64) float64 {
	if l.Form == Chinchilla {
		_, _, loss := l.Optimal(c)
		return loss
	}
	return l.E + l.A*math.Pow(c, -l.Alpha)
}

// Optimal returns the compute-optimal model size and tokens of the
// Chinchilla form at compute C = 6·N·D (Hoffmann et al. 2022, eq. 4):
// N = G·(C/6)^(β/(α+β)), D = (C/6)/N, G = (αA/(βB))^(1/(α+β)).
func (l Law) Optimal(c float64) (n, d, loss float64) {
	g := math.Pow(l.Alpha*l.A/(l.Beta*l.B), 1/(l.Alpha+l.Beta))
	n = g * math.Pow(c/6, l.Beta/(l.Alpha+l.Beta))
	d = c / 6 / n
	return n, d, l.E + l.A/math.Pow(n, l.Alpha) + l.B/math.Pow(d, l.Beta)
}

// String prints the law with its parameters.
func (l Law) String() string {
	switch l.Form {
	case Chinchilla:
		return fmt.Sprintf("L = %.4g + %.4g/N^%.4g + %.4g/D^%.4g", l.E, l.A, l.Alpha, l.B, l.Beta)
	case Saturating:
		return fmt.Sprintf("L = %.4g + %.4g·C^-%.4g", l.E, l.A, l.Alpha)
	}
	return fmt.Sprintf("L = %.4g·C^-%.4g", l.A, l.Alpha)
}

// Frontier returns the compute-optimal frontier of points: those for which
// no point of smaller or equal compute has a lower loss, in increasing
// compute.
func Frontier(points []Point) []Point {
	ps := append([]Point(nil), points...)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Compute() < ps[j].Compute() })
	var out []Point
	best := math.Inf(1)
	for _, p := range ps {
		if p.Loss < best {
			out = append(out, p)
			best = p.Loss
		}
	}
	return out
}
