package control

import (
	"errors"
	"math"
	"math/rand/v2"
)

// quadEngine is a synthetic Engine: gradient descent on
// f(θ) = ½ Σ λ_i θ_i² with Gaussian gradient noise of scale sigma. The
// reported loss is f after the step. Its random stream is part of the
// snapshot, so a restored engine replays exactly.
type quadEngine struct {
	lambda []float64
	theta  []float64
	sigma  float64
	rng    *rand.PCG
	steps  int64 // every Step call, search included
}

type quadSnap struct {
	theta []float64
	rng   []byte
}

func newQuadEngine(seed uint64, sigma float64, lambda ...float64) *quadEngine {
	e := &quadEngine{lambda: lambda, sigma: sigma, rng: rand.NewPCG(seed, 7)}
	e.theta = make([]float64, len(lambda))
	for i := range e.theta {
		e.theta[i] = 1
	}
	return e
}

func (e *quadEngine) loss() float64 {
	var f float64
	for i, l := range e.lambda {
		f += 0.5 * l * e.theta[i] * e.theta[i]
	}
	return f
}

func (e *quadEngine) Snapshot() (any, error) {
	b, err := e.rng.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return quadSnap{append([]float64(nil), e.theta...), b}, nil
}

func (e *quadEngine) Restore(s any) error {
	q, ok := s.(quadSnap)
	if !ok {
		return errors.New("not a quadEngine snapshot")
	}
	copy(e.theta, q.theta)
	return e.rng.UnmarshalBinary(q.rng)
}

func (e *quadEngine) Step(lr float64) (float64, error) {
	e.steps++
	r := rand.New(e.rng)
	for i, l := range e.lambda {
		g := l*e.theta[i] + e.sigma*r.NormFloat64()
		e.theta[i] -= lr * g
	}
	f := e.loss()
	if math.IsNaN(f) || math.IsInf(f, 0) || f > 1e30 {
		return math.Inf(1), nil
	}
	return f, nil
}
