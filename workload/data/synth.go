package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// IllConditioned describes a synthetic binary logistic-regression problem
// whose feature covariance has a chosen condition number.
//
// Features are x = Q·diag(√λ)·z with z ~ N(0, I), eigenvalues
// λ_i = κ^(−i/(d−1)) spaced geometrically from 1 down to 1/κ, and Q a
// random orthogonal matrix (so the bad directions are not the coordinate
// axes and a diagonal preconditioner cannot undo them). The true weights
// are w* = Q·diag(c/√λ)·s with s ~ N(0, I), which makes every eigen-
// direction contribute equally to the logit w*·x, whose standard deviation
// is LogitScale; labels are drawn as y ~ Bernoulli(σ(w*·x)). Learning the
// flat directions then needs large weights along them: the classic hard
// case for gradient descent, whose convergence rate degrades with κ.
type IllConditioned struct {
	Kappa      float64 // condition number of the feature covariance, ≥ 1
	Dim        int     // features
	Train, Val int     // examples in each split
	LogitScale float64 // standard deviation of the true logit
	Seed       uint64
}

// IllConditionedResult is a generated problem.
type IllConditionedResult struct {
	Train, Val *Set
	W          []float64 // the true weights w*
	// BayesLoss and BayesAccuracy are the mean cross-entropy and accuracy of
	// the true model on the validation set: the floor a fit approaches.
	BayesLoss, BayesAccuracy float64
}

// Generate draws the problem. The same settings give the same data.
func (p IllConditioned) Generate() (*IllConditionedResult, error) {
	if !(p.Kappa >= 1) || math.IsInf(p.Kappa, 0) {
		return nil, fmt.Errorf("ill-conditioned problem: condition number %v, want a finite number ≥ 1", p.Kappa)
	}
	if p.Dim < 2 || p.Dim > 4096 {
		return nil, fmt.Errorf("ill-conditioned problem: %d features, want 2 to 4096", p.Dim)
	}
	if p.Train < 1 || p.Val < 1 {
		return nil, fmt.Errorf("ill-conditioned problem: %d training and %d validation examples, want ≥ 1 each", p.Train, p.Val)
	}
	if !(p.LogitScale > 0) {
		return nil, fmt.Errorf("ill-conditioned problem: logit scale %v, want > 0", p.LogitScale)
	}
	rng := rand.New(rand.NewPCG(p.Seed, 0x696c6c636f6e64))
	d := p.Dim
	q := randomOrthogonal(d, rng)
	sqrtLam := make([]float64, d)
	for i := range d {
		sqrtLam[i] = math.Sqrt(math.Pow(p.Kappa, -float64(i)/float64(d-1)))
	}
	s := make([]float64, d)
	var ss float64
	for i := range s {
		s[i] = rng.NormFloat64()
		ss += s[i] * s[i]
	}
	c := p.LogitScale / math.Sqrt(ss)
	w := make([]float64, d) // w = Q·(c·s/√λ)
	for i := range d {
		for j := range d {
			w[i] += q[i*d+j] * c * s[j] / sqrtLam[j]
		}
	}
	res := &IllConditionedResult{W: w}
	gen := func(name string, n int) *Set {
		set := &Set{Name: name, D: d, Classes: 2, Shape: []int{d}, X: make([]float32, n*d), Y: make([]int32, n)}
		z := make([]float64, d)
		for e := range n {
			for j := range z {
				z[j] = rng.NormFloat64() * sqrtLam[j]
			}
			row := set.X[e*d : (e+1)*d]
			var logit float64
			for i := range d {
				var v float64
				for j := range d {
					v += q[i*d+j] * z[j]
				}
				row[i] = float32(v)
				logit += w[i] * float64(row[i])
			}
			if rng.Float64() < sigmoid(logit) {
				set.Y[e] = 1
			}
		}
		return set
	}
	res.Train = gen(fmt.Sprintf("illcond-%g/train", p.Kappa), p.Train)
	res.Val = gen(fmt.Sprintf("illcond-%g/val", p.Kappa), p.Val)
	var loss float64
	correct := 0
	for e := range res.Val.Len() {
		var logit float64
		for i, v := range res.Val.Row(e) {
			logit += w[i] * float64(v)
		}
		// −log σ(±logit), computed stably as softplus(∓logit).
		if res.Val.Y[e] == 1 {
			loss += softplus(-logit)
		} else {
			loss += softplus(logit)
		}
		if (logit > 0) == (res.Val.Y[e] == 1) {
			correct++
		}
	}
	res.BayesLoss = loss / float64(p.Val)
	res.BayesAccuracy = float64(correct) / float64(p.Val)
	return res, nil
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func softplus(x float64) float64 {
	if x > 30 {
		return x
	}
	return math.Log1p(math.Exp(x))
}

// randomOrthogonal returns a d×d orthogonal matrix (row-major) from the
// Gram–Schmidt orthonormalisation of a Gaussian matrix's columns.
func randomOrthogonal(d int, rng *rand.Rand) []float64 {
	cols := make([][]float64, d)
	for j := range cols {
		v := make([]float64, d)
		for {
			for i := range v {
				v[i] = rng.NormFloat64()
			}
			for k := range j {
				// Twice, for numerical orthogonality.
				for range 2 {
					var dot float64
					for i := range v {
						dot += v[i] * cols[k][i]
					}
					for i := range v {
						v[i] -= dot * cols[k][i]
					}
				}
			}
			var n float64
			for _, x := range v {
				n += x * x
			}
			n = math.Sqrt(n)
			if n > 1e-8 {
				for i := range v {
					v[i] /= n
				}
				break
			}
		}
		cols[j] = v
	}
	q := make([]float64, d*d)
	for i := range d {
		for j := range d {
			q[i*d+j] = cols[j][i]
		}
	}
	return q
}
