package optim

import "github.com/lrkit/lrkit/train/nn"

// SGD is stochastic gradient descent with PyTorch's semantics: with
// g = ∇ + WeightDecay·w (coupled decay),
//
//	b ← Momentum·b + g
//	w ← w − η·(g + Momentum·b)   (Nesterov)
//	w ← w − η·b                  (otherwise; plain SGD when Momentum = 0)
type SGD struct {
	Momentum    float64
	Nesterov    bool
	WeightDecay float64
	state       sgdState
}

type sgdState struct {
	Steps int64
	B     [][]float32
}

// Name describes the optimizer.
func (o *SGD) Name() string {
	if o.Nesterov {
		return "sgd(nesterov)"
	}
	return "sgd"
}

// EffectiveLRPower returns 2.
func (o *SGD) EffectiveLRPower() int { return 2 }

// Step applies one SGD update.
func (o *SGD) Step(ps []*nn.Param, lr float64) error {
	if o.Momentum != 0 {
		if err := buffers("sgd", &o.state.B, ps); err != nil {
			return err
		}
	}
	eta, mu := float32(lr), float32(o.Momentum)
	for i, p := range ps {
		wd := float32(o.WeightDecay)
		if p.NoDecay {
			wd = 0
		}
		w := p.W.Data
		for j, g := range p.G.Data {
			g += wd * w[j]
			if mu != 0 {
				b := o.state.B[i]
				b[j] = mu*b[j] + g
				if o.Nesterov {
					g += mu * b[j]
				} else {
					g = b[j]
				}
			}
			w[j] -= eta * g
		}
	}
	o.state.Steps++
	return nil
}

// MarshalBinary returns the momentum buffers.
func (o *SGD) MarshalBinary() ([]byte, error) { return encode("sgd", &o.state) }

// UnmarshalBinary restores the momentum buffers.
func (o *SGD) UnmarshalBinary(b []byte) error {
	o.state = sgdState{}
	return decode("sgd", b, &o.state)
}
