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
	cur               adamStep
	chunkFn           func(c, lo, hi int) // made once: no per-step closure
}

// adamStep holds one tensor's update in progress, for the chunk kernel.
type adamStep struct {
	w, g, m, v                []float32
	step, rb2, b1, b2, c1, c2 float32
	eps, wd, decay            float32 // decay: the decoupled factor 1 − η·λ (1 when off)
	coupled                   bool
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
	// 1−β in float64 first: float32(1−0.999) is exact to 1e-7, 1−float32(0.999) only to 1e-5.
	k := adamStep{step: step, rb2: rb2, b1: float32(o.Beta1), b2: float32(o.Beta2),
		c1: float32(1 - o.Beta1), c2: float32(1 - o.Beta2), eps: float32(o.Eps)}
	if o.chunkFn == nil {
		o.chunkFn = o.chunk
	}
	for i, p := range ps {
		k.wd, k.decay, k.coupled = float32(o.WeightDecay), 1, false
		if p.NoDecay {
			k.wd = 0
		}
		if o.Decoupled {
			k.decay = 1 - float32(lr)*k.wd
		} else {
			k.coupled = k.wd != 0
		}
		n := len(p.G.Data)
		k.w, k.g, k.m, k.v = p.W.Data[:n], p.G.Data, o.state.M[i][:n], o.state.V[i][:n]
		o.cur = k
		nn.ParallelChunks(n, 16*n, o.chunkFn)
	}
	o.cur = adamStep{}
	return nil
}

// chunk updates elements lo..hi−1 of the current tensor.
func (o *Adam) chunk(_, lo, hi int) {
	k := &o.cur
	w, g, m, v := k.w[lo:hi], k.g[lo:hi], k.m[lo:hi], k.v[lo:hi]
	n := 0
	if haveAVX2 {
		// Eight elements at a time in assembly, the same operations in the
		// same order (the same bits); the rest below.
		n = len(g) &^ 7
		if n > 0 {
			c := adamConsts{k.b1, k.c1, k.b2, k.c2, k.step, k.rb2, k.eps, k.wd, k.decay}
			adamAVX2(&w[0], &g[0], &m[0], &v[0], n, &c, k.coupled, k.decay != 1)
		}
	}
	adamGo(k, w[n:], g[n:], m[n:], v[n:])
}

// adamConsts are the scalars of adamAVX2.
type adamConsts [9]float32

// adamGo is the update of chunk in Go.
func adamGo(k *adamStep, w, g, m, v []float32) {
	w, m, v = w[:len(g)], m[:len(g)], v[:len(g)]
	if k.decay != 1 {
		for j := range w {
			w[j] *= k.decay // decoupled decay: w ← (1 − η·λ)·w
		}
	}
	for j, gj := range g {
		if k.coupled {
			gj += k.wd * w[j] // coupled decay: g ← ∇ + λ·w
		}
		mj := k.b1*m[j] + k.c1*gj
		vj := k.b2*v[j] + k.c2*gj*gj
		m[j], v[j] = mj, vj
		w[j] -= k.step * mj / (float32(math.Sqrt(float64(vj)))*k.rb2 + k.eps)
	}
}

// MarshalBinary returns the step count and moment buffers.
func (o *Adam) MarshalBinary() ([]byte, error) { return encode("adam", &o.state) }

// UnmarshalBinary restores them.
func (o *Adam) UnmarshalBinary(b []byte) error {
	o.state = adamState{}
	return decode("adam", b, &o.state)
}
