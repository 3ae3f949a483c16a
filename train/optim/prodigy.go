package optim

import (
	"fmt"
	"math"

	"github.com/lrkit/lrkit/train/nn"
)

// Prodigy is Mishchenko and Defazio's learning-rate-free Adam (arXiv
// 2306.06101; spec adaptive.md §9, after konstmish/prodigy's reference).
// The step's rate from outside multiplies the estimated d (use a constant
// 1, or a decay schedule). Step k, with d from before the step:
//
//	dlr = d·η·bc    (bc = √(1−β2^(k+1))/(1−β1^(k+1)) with BiasCorrection, else 1)
//	r ← β3·r + (d/d0)·dlr·Σ⟨g, x0 − x⟩
//	m ← β1·m + d(1−β1)·g;   v ← β2·v + d²(1−β2)·g²
//	s ← β3·s + (d/d0)·dlr·g
//	d̂ = DCoef·r/Σ|s|
//	if d = d0: d ← max(d, d̂);  d_max ← max(d_max, d̂);  d ← min(d_max, d·GrowthRate)
//	x ← x − dlr·λ·x;   x ← x − dlr·m/(√v + d·ε)   (new d in ε)
type Prodigy struct {
	Beta1, Beta2, Beta3 float64
	Eps, D0, DCoef      float64
	GrowthRate          float64
	WeightDecay         float64
	BiasCorrection      bool
	state               prodigyState
}

type prodigyState struct {
	Steps       int64
	D, DMax, R  float64
	DHat        float64 // the last step's estimate d̂
	X0, S, M, V [][]float32
}

// NewProdigy returns Prodigy with the reference defaults: β = (0.9,
// 0.999), β3 = √β2, ε = 1e-8, d0 = 1e-6, d_coef = 1, unbounded growth,
// bias correction off, and decoupled weight decay wd.
func NewProdigy(wd float64) *Prodigy {
	return &Prodigy{Beta1: 0.9, Beta2: 0.999, Beta3: math.Sqrt(0.999), Eps: 1e-8,
		D0: 1e-6, DCoef: 1, GrowthRate: math.Inf(1), WeightDecay: wd}
}

// Name describes the optimizer.
func (o *Prodigy) Name() string { return fmt.Sprintf("prodigy(wd=%g)", o.WeightDecay) }

// EffectiveLRPower returns 1.
func (o *Prodigy) EffectiveLRPower() int { return 1 }

// D returns the current distance estimate d.
func (o *Prodigy) D() float64 {
	if o.state.Steps == 0 {
		return o.D0
	}
	return o.state.D
}

// Step applies one update.
func (o *Prodigy) Step(ps []*nn.Param, lr float64) error {
	s := &o.state
	first := s.X0 == nil
	for _, b := range []*[][]float32{&s.X0, &s.S, &s.M, &s.V} {
		if err := buffers("prodigy", b, ps); err != nil {
			return err
		}
	}
	if first {
		s.D, s.DMax = o.D0, o.D0
		for i, p := range ps {
			copy(s.X0[i], p.W.Data)
		}
	}
	k := float64(s.Steps)
	bc := 1.0
	if o.BiasCorrection {
		bc = math.Sqrt(1-math.Pow(o.Beta2, k+1)) / (1 - math.Pow(o.Beta1, k+1))
	}
	d := s.D
	dlr := d * lr * bc
	ratio := d / o.D0
	b1, b2, b3 := float32(o.Beta1), float32(o.Beta2), float32(o.Beta3)
	fm, fv, fs := float32(d*(1-o.Beta1)), float32(d*d*(1-o.Beta2)), float32(ratio*dlr)
	var dot, sl1 float64
	for i, p := range ps {
		x, x0, m, v, sv := p.W.Data, s.X0[i], s.M[i], s.V[i], s.S[i]
		for j, g := range p.G.Data {
			dot += float64(g) * float64(x0[j]-x[j])
			m[j] = b1*m[j] + fm*g
			v[j] = b2*v[j] + fv*g*g
			sv[j] = b3*sv[j] + fs*g
			sl1 += math.Abs(float64(sv[j]))
		}
	}
	s.R = o.Beta3*s.R + ratio*dlr*dot
	dhat := 0.0
	if sl1 > 0 {
		dhat = o.DCoef * s.R / sl1
	}
	if d == o.D0 {
		d = max(d, dhat)
	}
	s.DMax = max(s.DMax, dhat)
	d = min(s.DMax, d*o.GrowthRate)
	s.D, s.DHat = d, dhat
	step, eps := float32(dlr), float32(d*o.Eps)
	for i, p := range ps {
		x, m, v := p.W.Data, s.M[i], s.V[i]
		if o.WeightDecay != 0 && !p.NoDecay {
			f := 1 - float32(dlr*o.WeightDecay)
			for j := range x {
				x[j] *= f
			}
		}
		for j := range x {
			x[j] -= step * m[j] / (float32(math.Sqrt(float64(v[j]))) + eps)
		}
	}
	s.Steps++
	return nil
}

// MarshalBinary returns the whole state.
func (o *Prodigy) MarshalBinary() ([]byte, error) { return encode("prodigy", &o.state) }

// UnmarshalBinary restores it.
func (o *Prodigy) UnmarshalBinary(b []byte) error {
	o.state = prodigyState{}
	return decode("prodigy", b, &o.state)
}
