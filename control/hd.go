package control

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/schedule"
)

// GradientObserver is implemented by controllers that learn from the
// gradient itself, which a runlog.Record does not carry (hypergradient
// descent). A training loop that finds its controller implements it must,
// at every step t:
//
//  1. compute the gradient g_t;
//  2. call ObserveGradient(t, h) with h accumulated over all parameters
//     from g_t and u_{t−1} (see Hypergradient);
//  3. call LR(t) and apply the update θ_{t+1} = θ_t − LR(t)·u_t;
//  4. keep u_t for the next step.
//
// u_t is the optimizer's update direction per unit learning rate, exactly
// what it multiplies by the rate (weight decay included if the optimizer
// adds it to the gradient): the gradient for plain SGD, the momentum or
// Nesterov vector for SGD with momentum (sgd_hd.py), and
// √(1−β2^t)/(1−β1^t) · m_t/(√v_t + ε) for Adam (adam_hd.py). At step 0
// there is no u_{−1}: pass the zero Hypergradient (or skip the call).
type GradientObserver interface {
	ObserveGradient(step int64, h Hypergradient)
}

// Hypergradient carries what hypergradient descent needs from one step:
// Dot = ⟨g_t, u_{t−1}⟩ = −∂f(θ_t)/∂α, and the squared norms of both
// vectors (for the multiplicative variant's cosine). Sum it over
// parameter tensors with Accumulate.
type Hypergradient struct {
	Dot    float64 // ⟨g_t, u_{t−1}⟩ over all parameters
	GradSq float64 // ‖g_t‖²
	DirSq  float64 // ‖u_{t−1}‖²
}

// Accumulate adds one tensor's gradient and previous direction (equal
// lengths; the shorter length is used otherwise). Sums are in float64.
func (h *Hypergradient) Accumulate(grad, prevDir []float32) {
	n := min(len(grad), len(prevDir))
	var dot, gg, uu float64
	for i := range n {
		g, u := float64(grad[i]), float64(prevDir[i])
		dot += g * u
		gg += g * g
		uu += u * u
	}
	h.Dot += dot
	h.GradSq += gg
	h.DirSq += uu
}

// Cos returns the cosine between g_t and u_{t−1}, 0 when either is zero.
func (h Hypergradient) Cos() float64 {
	if h.GradSq == 0 || h.DirSq == 0 {
		return 0
	}
	return h.Dot / math.Sqrt(h.GradSq*h.DirSq)
}

// HD is hypergradient descent on the learning rate (Baydin et al. 2018,
// "Online Learning Rate Adaptation with Hypergradient Descent", arXiv
// 1703.04782; gbaydin/hypergradient-descent sgd_hd.py and adam_hd.py).
// One global rate α over all parameters. At each step, before the update:
//
//	additive:        α ← α + β·⟨g_t, u_{t−1}⟩
//	multiplicative:  α ← α·(1 + β·cos(g_t, u_{t−1}))
//
// then α is clamped to [min, max] (max 0 means no ceiling; the released
// code has no clamp, the floor 0 is lrkit's). The same rule serves SGD-HD
// (kind hd, β default 1e-6 as sgd_hd.py) and Adam-HD (kind adam_hd, β
// default 1e-8 as adam_hd.py): only the direction u the optimizer feeds
// differs (see GradientObserver). adam_hd.py updates α once per tensor;
// for the additive rule that equals one update with the sum, which is what
// HD does.
//
// LR(step) returns the current α whatever the step: the rate is state fed
// by ObserveGradient, and Observe(Record) learns nothing.
type HD struct {
	Init  float64 `spec:"lr" doc:"initial rate α0"`
	Beta  float64 `spec:"beta" default:"1e-06" doc:"hypergradient rate β"`
	Min   float64 `spec:"min" default:"0" doc:"floor of the rate"`
	Max   float64 `spec:"max" default:"0" doc:"ceiling of the rate; 0 means none"`
	Mult  bool    `spec:"mult" default:"false" doc:"multiplicative variant α·(1+β·cos)"`
	Adam  bool    // kind adam_hd (set by the kind, not a parameter)
	state hdState
}

type hdState struct {
	Alpha runlog.Num `json:"alpha"`
	Steps int64      `json:"steps"` // gradients observed
	Last  int64      `json:"last_step"`
}

// NewHD returns an SGD-HD controller starting at lr with hyper-rate beta.
func NewHD(lr, beta float64) *HD {
	h := &HD{Init: lr, Beta: beta}
	h.Reset()
	return h
}

// NewAdamHD returns an Adam-HD controller starting at lr with hyper-rate beta.
func NewAdamHD(lr, beta float64) *HD {
	h := &HD{Init: lr, Beta: beta, Adam: true}
	h.Reset()
	return h
}

// Reset sets α back to its initial value.
func (h *HD) Reset() { h.state = hdState{Alpha: runlog.Num(h.clamp(h.Init)), Last: -1} }

// Validate checks the parameters.
func (h *HD) Validate() error {
	fin := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case !fin(h.Init) || h.Init < 0:
		return &schedule.ParamError{Param: "lr", Msg: fmt.Sprintf("must be a finite number >= 0, got %g", h.Init)}
	case !fin(h.Beta) || h.Beta < 0:
		return &schedule.ParamError{Param: "beta", Msg: fmt.Sprintf("must be a finite number >= 0, got %g", h.Beta)}
	case !fin(h.Min) || h.Min < 0:
		return &schedule.ParamError{Param: "min", Msg: fmt.Sprintf("must be a finite number >= 0, got %g", h.Min)}
	case !fin(h.Max) || h.Max < 0:
		return &schedule.ParamError{Param: "max", Msg: fmt.Sprintf("must be a finite number >= 0 (0: no ceiling), got %g", h.Max)}
	case h.Max > 0 && h.Max < h.Min:
		return &schedule.ParamError{Param: "max", Msg: fmt.Sprintf("must not be below min (%g < %g)", h.Max, h.Min)}
	}
	return nil
}

func (h *HD) clamp(a float64) float64 {
	if a < h.Min {
		a = h.Min
	}
	if h.Max > 0 && a > h.Max {
		a = h.Max
	}
	return a
}

// ObserveGradient updates α from the step's hypergradient. A non-finite
// hypergradient (a diverged step) leaves α unchanged.
func (h *HD) ObserveGradient(step int64, g Hypergradient) {
	a := float64(h.state.Alpha)
	var next float64
	if h.Mult {
		next = a * (1 + h.Beta*g.Cos())
	} else {
		next = a + h.Beta*g.Dot
	}
	if !math.IsNaN(next) && !math.IsInf(next, 0) {
		h.state.Alpha = runlog.Num(h.clamp(next))
	}
	h.state.Steps++
	h.state.Last = step
}

// LR returns the current α.
func (h *HD) LR(int64) float64 { return float64(h.state.Alpha) }

// Observe does nothing: HD learns from ObserveGradient.
func (h *HD) Observe(runlog.Record) {}

// State returns α and the step count as JSON.
func (h *HD) State() ([]byte, error) { return json.Marshal(h.state) }

// Restore sets the state State returned.
func (h *HD) Restore(data []byte) error {
	var st hdState
	if err := restoreJSON(h.SpecKind(), data, &st); err != nil {
		return err
	}
	if a := float64(st.Alpha); !(a >= 0) || math.IsInf(a, 0) {
		return fmt.Errorf("%s: restore state: alpha %v is not a finite number >= 0", h.SpecKind(), a)
	}
	h.state = st
	return nil
}

// String returns the spec text.
func (h *HD) String() string { return schedule.Format(h) }

// SpecKind names the kind: hd, or adam_hd when Adam is set.
func (h *HD) SpecKind() string {
	if h.Adam {
		return "adam_hd"
	}
	return "hd"
}

// Prepare puts the controller in its initial state; Parse calls it.
func (h *HD) Prepare() (schedule.Schedule, error) {
	h.Reset()
	return h, nil
}
