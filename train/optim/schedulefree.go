package optim

import (
	"fmt"
	"math"

	"github.com/lrkit/lrkit/train/nn"
)

// ScheduleFree is Schedule-Free SGD or AdamW (Defazio et al. 2024; spec
// adaptive.md §9, after facebookresearch/schedule_free's reference
// implementations). The parameters hold y during training; SwapToEval
// puts x in them for evaluation and SwapToTrain puts y back.
//
// Step k (0-based) with the step's rate η from outside (warm-up is the
// schedule's job, so lr_k = η for SGD and η·√(1−β2^(k+1)) for AdamW):
//
//	lr_max ← max(lr_max, lr_k);  w_k = (k+1)^R · lr_max^WeightLRPower
//	weight_sum ← weight_sum + w_k;  c = w_k/weight_sum
//	SGD:   z ← z − lr_k·(g + λ·y)
//	AdamW: v ← β2·v + (1−β2)·g²;  z ← z − lr_k·λ·y;  z ← z − lr_k·g/(√v + ε)
//	x ← (1−c)·x + c·z;   y ← β·x + (1−β)·z
//
// with g = ∇f(y), β the momentum (β1 for AdamW) and λ = WeightDecay.
type ScheduleFree struct {
	Adam          bool    // AdamW form instead of SGD
	Beta          float64 // interpolation momentum β (β1)
	Beta2, Eps    float64 // AdamW only
	WeightDecay   float64
	R             float64 // weight exponent r
	WeightLRPower float64
	state         sfState
}

type sfState struct {
	Steps     int64
	LRMax     float64
	WeightSum float64
	Z, X, V   [][]float32
	Y         [][]float32 // the training point while swapped to eval
	Eval      bool
}

// NewScheduleFreeSGD returns Schedule-Free SGD with the reference
// defaults β = 0.9, r = 0, weight_lr_power = 2 and no weight decay.
func NewScheduleFreeSGD() *ScheduleFree {
	return &ScheduleFree{Beta: 0.9, WeightLRPower: 2}
}

// NewScheduleFreeAdamW returns Schedule-Free AdamW with the reference
// defaults β = (0.9, 0.999), ε = 1e-8, r = 0, weight_lr_power = 2 and
// weight decay wd.
func NewScheduleFreeAdamW(wd float64) *ScheduleFree {
	return &ScheduleFree{Adam: true, Beta: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: wd, WeightLRPower: 2}
}

// Name describes the optimizer.
func (o *ScheduleFree) Name() string {
	if o.Adam {
		return fmt.Sprintf("schedulefree-adamw(wd=%g)", o.WeightDecay)
	}
	return "schedulefree-sgd"
}

// EffectiveLRPower returns 1 for AdamW and 2 for SGD.
func (o *ScheduleFree) EffectiveLRPower() int {
	if o.Adam {
		return 1
	}
	return 2
}

// Step applies one update at the training point y held in ps.
func (o *ScheduleFree) Step(ps []*nn.Param, lr float64) error {
	s := &o.state
	if s.Eval {
		return fmt.Errorf("%s: step while the parameters hold the evaluation point; call SwapToTrain first", o.Name())
	}
	first := s.Z == nil
	for _, b := range []*[][]float32{&s.Z, &s.X} {
		if err := buffers("schedulefree", b, ps); err != nil {
			return err
		}
	}
	if first {
		for i, p := range ps {
			copy(s.Z[i], p.W.Data)
			copy(s.X[i], p.W.Data)
		}
	}
	if o.Adam {
		if err := buffers("schedulefree", &s.V, ps); err != nil {
			return err
		}
	}
	k := float64(s.Steps)
	lrk := lr
	if o.Adam {
		lrk = lr * math.Sqrt(1-math.Pow(o.Beta2, k+1))
	}
	if s.Steps == 0 || lrk > s.LRMax {
		s.LRMax = lrk
	}
	wk := math.Pow(k+1, o.R) * math.Pow(s.LRMax, o.WeightLRPower)
	s.WeightSum += wk
	c := 0.0
	if s.WeightSum > 0 {
		c = wk / s.WeightSum
	}
	eta, cc, beta := float32(lrk), float32(c), float32(o.Beta)
	omc, omb := float32(1-c), float32(1-o.Beta)
	b2, c2, eps := float32(o.Beta2), float32(1-o.Beta2), float32(o.Eps)
	for i, p := range ps {
		wd := float32(o.WeightDecay)
		if p.NoDecay {
			wd = 0
		}
		y, z, x := p.W.Data, s.Z[i], s.X[i]
		for j, g := range p.G.Data {
			if o.Adam {
				v := s.V[i]
				v[j] = b2*v[j] + c2*g*g
				z[j] -= eta * wd * y[j]
				z[j] -= eta * g / (float32(math.Sqrt(float64(v[j]))) + eps)
			} else {
				z[j] -= eta * (g + wd*y[j])
			}
			x[j] = omc*x[j] + cc*z[j]
			y[j] = beta*x[j] + omb*z[j]
		}
	}
	s.Steps++
	return nil
}

// SwapToEval stores y and puts x in the parameters. Before the first step
// x = y, so it only records the mode.
func (o *ScheduleFree) SwapToEval(ps []*nn.Param) {
	s := &o.state
	if s.Eval {
		return
	}
	s.Eval = true
	if s.X == nil {
		return
	}
	if len(s.Y) != len(ps) {
		s.Y = make([][]float32, len(ps))
	}
	for i, p := range ps {
		s.Y[i] = append(s.Y[i][:0], p.W.Data...)
		copy(p.W.Data, s.X[i])
	}
}

// SwapToTrain puts y back in the parameters.
func (o *ScheduleFree) SwapToTrain(ps []*nn.Param) {
	s := &o.state
	if !s.Eval {
		return
	}
	s.Eval = false
	if s.X == nil {
		return
	}
	for i, p := range ps {
		copy(p.W.Data, s.Y[i])
	}
}

// MarshalBinary returns the whole state (z, x, v, weights, mode).
func (o *ScheduleFree) MarshalBinary() ([]byte, error) { return encode(o.Name(), &o.state) }

// UnmarshalBinary restores it.
func (o *ScheduleFree) UnmarshalBinary(b []byte) error {
	var st sfState
	if err := decode(o.Name(), b, &st); err != nil {
		return err
	}
	if st.Eval {
		return fmt.Errorf("%s: state was saved with the evaluation point in the parameters; save in training mode", o.Name())
	}
	st.Y = nil
	o.state = st
	return nil
}
