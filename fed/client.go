package fed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/schedule"
	"github.com/lrkit/lrkit/train"
	"github.com/lrkit/lrkit/workload"
)

// Task is one local round for one client: start from Global, take Steps
// optimizer steps on the client's shard from data position DataState at
// rate LR, report the change. A task carries everything the round
// depends on, so the client that runs it (a goroutine, or a process on
// another machine) keeps no state between rounds and any client process
// can run any client's task with the same result.
type Task struct {
	Env    EnvSpec `json:"env"`
	Client int     `json:"client"`
	Steps  int     `json:"steps"`
	LR     float64 `json:"lr"`
	// CL turns on FedHyper's client-side local rate (FedHyper-CL and
	// -FULL); Participants is then the number of clients in the round
	// (N·frac in the paper's formula) and PrevUpdate the last global update
	// Δ_{r−1} (nil: zero).
	CL           bool      `json:"cl,omitempty"`
	Participants int       `json:"participants,omitempty"`
	DataState    []byte    `json:"data_state,omitempty"` // nil: the start of the client's data order
	Global       []float32 `json:"-"`
	PrevUpdate   []float32 `json:"-"`
}

// Result is what a client reports for a task.
type Result struct {
	Client    int       `json:"client"`
	Update    []float32 `json:"-"` // local model − Global
	DataState []byte    `json:"data_state"`
	Loss      float64   `json:"loss"`    // mean training loss over the round's steps
	LastLR    float64   `json:"last_lr"` // the rate of the round's last step
	// Diverged is set when the loss or the model became NaN or infinite;
	// Update is then nil.
	Diverged bool `json:"diverged,omitempty"`
}

// check validates a task against its environment.
func (t *Task) check(e *Env) error {
	switch {
	case t.Client < 0 || t.Client >= len(e.Shards):
		return fmt.Errorf("task: client %d, want 0..%d", t.Client, len(e.Shards)-1)
	case t.Steps < 1 || t.Steps > 1_000_000:
		return fmt.Errorf("task: %d local steps, want 1..1000000", t.Steps)
	case !(t.LR > 0) || math.IsInf(t.LR, 0):
		return fmt.Errorf("task: learning rate %v, want a finite number > 0", t.LR)
	case len(t.Global) != e.NumParams():
		return fmt.Errorf("task: global model has %d parameters, the model %s has %d", len(t.Global), e.Spec.Model, e.NumParams())
	case t.PrevUpdate != nil && len(t.PrevUpdate) != e.NumParams():
		return fmt.Errorf("task: previous global update has %d parameters, the model %s has %d", len(t.PrevUpdate), e.Spec.Model, e.NumParams())
	case t.CL && t.Participants < 1:
		return fmt.Errorf("task: FedHyper-CL needs the number of participants, got %d", t.Participants)
	case !finite(t.Global):
		return fmt.Errorf("task: global model has a non-finite parameter")
	}
	return nil
}

// dataSeed is the seed of client i's data order.
func dataSeed(seed uint64, client int) uint64 {
	return seed*0x9e3779b97f4a7c15 ^ uint64(client+1)*0xbf58476d1ce4e5b9
}

// Train runs a task: a fresh optimizer, a train.Trainer on the client's
// shard with a constant rate (or FedHyper-CL's controller) for Steps
// steps, from the task's global model and data position.
func (e *Env) Train(ctx context.Context, t *Task) (*Result, error) {
	if err := t.check(e); err != nil {
		return nil, err
	}
	m, err := e.getModel(ctx)
	if err != nil {
		return nil, err
	}
	defer e.putModel(m)
	ps := m.Params()
	if err := unflatten(ps, t.Global); err != nil {
		return nil, err
	}
	src, err := workload.NewClassSource(e.Shards[t.Client], e.Spec.Batch, e.Shape, dataSeed(e.Spec.Seed, t.Client))
	if err != nil {
		return nil, fmt.Errorf("client %d: %w", t.Client, err)
	}
	if t.DataState != nil {
		if err := src.Restore(t.DataState); err != nil {
			return nil, fmt.Errorf("client %d: %w", t.Client, err)
		}
	}
	opt, err := workload.NewOptimizer(e.Spec.Optimizer, e.Spec.WeightDecay)
	if err != nil {
		return nil, err
	}
	var ctrl control.Controller = control.NewFixed(schedule.Constant{Peak: t.LR})
	var cl *LocalHyper
	if t.CL {
		cl = NewLocalHyper(t.LR, t.Participants)
		ctrl = cl
	}
	tr, err := train.New(train.Config{Model: m, Data: src, Optimizer: opt, Controller: ctrl,
		Steps: int64(t.Steps), Seed: dataSeed(e.Spec.Seed, t.Client)})
	if err != nil {
		return nil, err
	}
	res := &Result{Client: t.Client}
	var before, after, last []float32
	ownLast := false
	if cl != nil {
		before = flatten(ps, nil)
		after = make([]float32, len(before))
		last = t.PrevUpdate
	}
	var lossSum float64
	for k := 0; k < t.Steps; k++ {
		rec, err := tr.Step(ctx)
		if errors.Is(err, train.ErrDiverged) {
			return &Result{Client: t.Client, Diverged: true, LastLR: rec.LR}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("client %d: %w", t.Client, err)
		}
		lossSum += rec.Loss
		res.LastLR = rec.LR
		if cl == nil {
			continue
		}
		after = flatten(ps, after)
		d := before // reuse: d_k = x_k − x_{k−1}
		for i := range d {
			d[i] = after[i] - d[i]
		}
		if k > 0 {
			// As in the released code, the first step's change is not
			// used, so the "previous step" of the second is Δ_{r−1}.
			var g, p float64
			if t.PrevUpdate != nil {
				g = dot(d, t.PrevUpdate)
			}
			if last != nil {
				p = dot(d, last)
			}
			cl.Update(g, p)
			if !ownLast {
				last, ownLast = make([]float32, len(d)), true
			}
			copy(last, d)
		}
		before = append(before[:0], after...)
	}
	res.Loss = lossSum / float64(t.Steps)
	res.Update = flatten(ps, nil)
	for i, g := range t.Global {
		res.Update[i] -= g
	}
	if !finite(res.Update) || math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) {
		return &Result{Client: t.Client, Diverged: true, LastLR: res.LastLR}, nil
	}
	if res.DataState, err = src.State(); err != nil {
		return nil, err
	}
	return res, nil
}

// LocalHyper is FedHyper's client-side local learning-rate scheduler,
// FedHyper-CL (Wang et al. 2024, arXiv 2310.03156; adaptive.md §3b;
// ATP-1010/FedHyper src/update.py, read for this). Within a local round,
// after every step k ≥ 2 with parameter change d_k = x_k − x_{k−1}:
//
//	γ = min(1.1, 1 + 0.1·⟨d_k, Δ_{r−1}⟩/P + ⟨d_k, d_prev⟩)
//	β ← clip(γ·β, 0.1, 10)
//	rate = η0·β
//
// where Δ_{r−1} is the last global update, P the number of clients in the
// round and d_prev the previous step's change (Δ_{r−1} at the second
// step, as in the released code). β starts at 1 every round. The caller
// computes the two inner products and passes them to Update.
type LocalHyper struct {
	LR0          float64
	Participants int
	beta         float64
	steps        int64
}

// NewLocalHyper returns a CL controller with base rate lr0 for a round of
// participants clients.
func NewLocalHyper(lr0 float64, participants int) *LocalHyper {
	return &LocalHyper{LR0: lr0, Participants: participants, beta: 1}
}

// Update applies one step of the rule with g = ⟨d_k, Δ_{r−1}⟩ and
// p = ⟨d_k, d_prev⟩. Non-finite inputs leave β unchanged.
func (c *LocalHyper) Update(g, p float64) {
	gamma := min(1.1, 1+0.1*g/float64(c.Participants)+p)
	c.steps++
	if math.IsNaN(gamma) || math.IsInf(gamma, 0) {
		return
	}
	c.beta = min(10, max(0.1, gamma*c.beta))
}

// Beta returns the current multiplier β.
func (c *LocalHyper) Beta() float64 { return c.beta }

// LR returns η0·β.
func (c *LocalHyper) LR(int64) float64 { return c.LR0 * c.beta }

// Observe does nothing: the rule learns from Update.
func (c *LocalHyper) Observe(runlog.Record) {}

type localHyperState struct {
	Beta  float64 `json:"beta"`
	Steps int64   `json:"steps"`
}

// State returns β and the number of updates as JSON.
func (c *LocalHyper) State() ([]byte, error) {
	return json.Marshal(localHyperState{Beta: c.beta, Steps: c.steps})
}

// Restore sets the state State returned.
func (c *LocalHyper) Restore(b []byte) error {
	var st localHyperState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("fedhyper-cl: restore state: %w", err)
	}
	if !(st.Beta >= 0.1 && st.Beta <= 10) {
		return fmt.Errorf("fedhyper-cl: restore state: beta %v outside [0.1, 10]", st.Beta)
	}
	c.beta, c.steps = st.Beta, st.Steps
	return nil
}

// String names the controller.
func (c *LocalHyper) String() string {
	return fmt.Sprintf("fedhyper-cl(lr=%g, participants=%d)", c.LR0, c.Participants)
}
