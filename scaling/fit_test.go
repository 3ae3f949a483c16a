package scaling

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// truth is the law the synthetic points come from: Hoffmann et al.'s
// published fit (E 1.69, A 406.4, α 0.34, B 410.7, β 0.28).
var truth = Law{Form: Chinchilla, E: 1.69, A: 406.4, Alpha: 0.34, B: 410.7, Beta: 0.28}

// synthPoints draws losses from truth at 6 sizes (10⁷…10⁹) and 4 token
// budgets per size (5 to 160 tokens per parameter), with multiplicative
// noise of relative SD noise.
func synthPoints(noise float64, seed uint64) []Point {
	rng := rand.New(rand.NewPCG(seed, 1))
	var ps []Point
	for _, n := range []float64{1e7, 2.5e7, 6e7, 1.5e8, 4e8, 1e9} {
		for _, tpp := range []float64{5, 20, 60, 160} {
			d := tpp * n
			l := truth.Loss(n, d) * (1 + noise*rng.NormFloat64())
			ps = append(ps, Point{Group: "synthetic", N: n, D: d, Loss: l})
		}
	}
	return ps
}

func TestFitRecoversChinchilla(t *testing.T) {
	cases := []struct {
		noise                 float64
		tolE, tolExp, tolPred float64
	}{
		{0, 1e-3, 1e-3, 1e-5},
		{0.002, 0.1, 0.05, 0.005},
		{0.005, 0.25, 0.12, 0.01},
	}
	for _, c := range cases {
		l, err := Fit(context.Background(), Chinchilla, synthPoints(c.noise, 7), FitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(l.E-truth.E) > c.tolE || math.Abs(l.Alpha-truth.Alpha) > c.tolExp || math.Abs(l.Beta-truth.Beta) > c.tolExp {
			t.Errorf("noise %v: fitted %v, want %v (E within %v, exponents within %v)", c.noise, l, truth, c.tolE, c.tolExp)
		}
		// A held-out point beyond the fitted sizes: 3·10⁹ parameters, 20
		// tokens each.
		n, d := 3e9, 6e10
		if got, want := l.Loss(n, d), truth.Loss(n, d); math.Abs(got/want-1) > c.tolPred {
			t.Errorf("noise %v: predicted %v at N=%g D=%g, true %v", c.noise, got, n, d, want)
		}
	}
}
