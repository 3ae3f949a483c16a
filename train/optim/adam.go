package optim

import (
	"fmt"
	"math"

	"github.com/lrkit/lrkit/train/nn"
)

// Adam is Kingma and Ba's optimizer with bias correction; with Decoupled
// set it is AdamW (Loshchilov and Hutter). At step t = 1, 2, …:
//
//	Adam:  g ← ∇ + λ·w  (coupled decay)          AdamW: w ← w − η·λ·w
//	m ← β1·m + (1−β1)·g     v ← β2·v + (1−β2)·g²
//	w ← w − η·(m/(1−β1ᵗ)) / (√(v/(1−β2ᵗ)) + ε)
//
// as in PyTorch's Adam and AdamW (λ = WeightDecay).
type Adam struct {
	Beta1, Beta2, Eps float64
	WeightDecay       float64
	Decoupled         bool
	state             adamState
}

type adamState struct {
	Steps int64
	M, V  [][]float32
}

// NewAdam returns Adam with β = (0.9, 0.999), ε = 1e-8 and no decay.
func NewAdam() *Adam { return &Adam{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

// NewAdamW returns AdamW with β = (0.9, 0.999), ε = 1e-8 and decoupled
// weight decay wd (PyTorch's default is 0.01).
func NewAdamW(wd float64) *Adam {
	return &Adam{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: wd, Decoupled: true}
}

// Name describes the optimizer.
func (o *Adam) Name() string {
	if o.Decoupled {
		return fmt.Sprintf("adamw(wd=%g)", o.WeightDecay)
	}
	return "adam"
}

// EffectiveLRPower returns 1.
func (o *Adam) EffectiveLRPower() int { return 1 }

// Step applies one update.
func (o *Adam) Step(ps []*nn.Param, lr float64) error {
	if err := buffers("adam", &o.state.M, ps); err != nil {
		return err
	}
	if err := buffers("adam", &o.state.V, ps); err != nil {
		return err
	}
	o.state.Steps++
	t := float64(o.state.Steps)
	bc1 := 1 - math.Pow(o.Beta1, t)
	bc2 := 1 - math.Pow(o.Beta2, t)
	// w ← w − (η/bc1)·m / (√v/√bc2 + ε)
	step := float32(lr / bc1)
	rb2 := float32(1 / math.Sqrt(bc2))
	b1, b2, eps := float32(o.Beta1), float32(o.Beta2), float32(o.Eps)
	// 1−β in float64 first: float32(1−0.999) is exact to 1e-7, 1−float32(0.999) only to 1e-5.
	c1, c2 := float32(1-o.Beta1), float32(1-o.Beta2)
	for i, p := range ps {
		wd := float32(o.WeightDecay)
		if p.NoDecay {
			wd = 0
		}
		w, m, v := p.W.Data, o.state.M[i], o.state.V[i]
		if o.Decoupled && wd != 0 {
			f := 1 - float32(lr)*wd
			for j := range w {
				w[j] *= f
			}
		}
		gs := p.G.Data
		w, m, v = w[:len(gs)], m[:len(gs)], v[:len(gs)]
		if !o.Decoupled && wd != 0 {
			for j, g := range gs {
				gs[j] = g + wd*w[j] // coupled decay: g ← ∇ + λ·w
			}
		}
		for j, g := range gs {
			mj := b1*m[j] + c1*g
			vj := b2*v[j] + c2*g*g
			m[j], v[j] = mj, vj
			w[j] -= step * mj / (float32(math.Sqrt(float64(vj)))*rb2 + eps)
		}
	}
	return nil
}

// MarshalBinary returns the step count and moment buffers.
func (o *Adam) MarshalBinary() ([]byte, error) { return encode("adam", &o.state) }

// UnmarshalBinary restores them.
func (o *Adam) UnmarshalBinary(b []byte) error {
	o.state = adamState{}
	return decode("adam", b, &o.state)
}
