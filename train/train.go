package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/train/nn"
	"github.com/lrkit/lrkit/train/optim"
)

// Batch is one batch of training or validation data: Inputs is the model
// input ([B, …], token ids as float32 for an Embedding) and Labels holds
// one class per row of the model's output (B for a classifier, B·T for a
// language model). Examples is the number of examples the batch counts
// for in Record.ExamplesSeen; 0 means Inputs.Shape[0].
type Batch struct {
	Inputs   *nn.Tensor
	Labels   []int32
	Examples int
}

// Data is a source of training batches with a resumable position.
type Data interface {
	// Next fills b with the next training batch. It may reuse b's
	// storage, so that steady-state training does not allocate.
	Next(b *Batch) error
	// State returns the position (and any RNG state) so that Restore on a
	// source built the same way continues with the identical next batch.
	State() ([]byte, error)
	Restore(state []byte) error
}

// Loss turns model outputs and labels into a scalar loss and its gradient
// with respect to the outputs. nn.SoftmaxCrossEntropy is the default.
type Loss interface {
	Loss(outputs *nn.Tensor, labels []int32) (float64, error)
	Grad() *nn.Tensor
}

// Validator evaluates the model on held-out data and returns the mean loss
// and the workload's metric (accuracy, for example). It runs with the
// optimizer's evaluation point in the parameters (Schedule-Free's x) and
// its time is excluded from Record.WallSeconds.
type Validator func(ctx context.Context, model nn.Layer) (loss, metric float64, err error)

// Config describes a training run. Model, Data, Optimizer, Controller and
// Steps are required.
type Config struct {
	Model      nn.Layer
	Loss       Loss // nil: softmax cross-entropy
	Data       Data
	Optimizer  optim.Optimizer
	Controller control.Controller
	Steps      int64 // total optimizer steps of the run (Run stops there)
	ValEvery   int64 // validate after every ValEvery-th step and the last; 0: never
	Validate   Validator
	ClipNorm   float64 // clip the global gradient L2 norm to this; 0: off
	// NaP turns on Normalize-and-Project: after each step every parameter
	// flagged ScaleInvariant is rescaled to its initial Frobenius norm.
	NaP bool
	// Seed seeds Rand, the trainer's generator (saved in checkpoints).
	Seed uint64
	// OnRecord receives each step's record after the controller has
	// observed it; an error stops the run.
	OnRecord func(runlog.Record) error
}

// LayerStat is the telemetry of one scale-invariant parameter at the last
// step (spec adaptive.md §5).
type LayerStat struct {
	Name       string
	WeightNorm float64 // ‖W‖ after the step (and projection)
	// EffectiveLR is η/‖W‖ᵖ with ‖W‖ before the step and p the optimizer's
	// EffectiveLRPower (2 for SGD, 1 for Adam-like).
	EffectiveLR    float64
	RelativeUpdate float64 // ‖ΔW‖/‖W‖ before the step
	AngularUpdate  float64 // angle between W before and after, radians
	// CumulativeEffectiveLR is Σ EffectiveLR over the run so far.
	CumulativeEffectiveLR float64
	// ProjectionRatio is ‖W‖/‖W₀‖ after the optimizer's update and before
	// any projection.
	ProjectionRatio float64
}

// ErrDiverged is returned (wrapped) by Step and Run when the loss is NaN or
// infinite; the step's record has been emitted with the loss as it was.
var ErrDiverged = errors.New("training diverged")

// Trainer runs the steps of one training run.
type Trainer struct {
	cfg      Config
	loss     Loss
	params   []*nn.Param
	prev     [][]float32 // parameters before the current update
	dir      [][]float32 // last update per unit rate, for a GradientObserver
	rng      *rand.Rand
	pcg      *rand.PCG
	batch    Batch
	step     int64
	examples int64
	wall     float64
	inv      []int // indices of scale-invariant params
	init     []float64
	stats    []LayerStat
	scratch  []float64
}

// New checks cfg and returns a trainer at step 0. The initial norms of the
// scale-invariant parameters are taken now, as NaP's targets.
func New(cfg Config) (*Trainer, error) {
	switch {
	case cfg.Model == nil:
		return nil, errors.New("train: config has no Model")
	case cfg.Data == nil:
		return nil, errors.New("train: config has no Data")
	case cfg.Optimizer == nil:
		return nil, errors.New("train: config has no Optimizer")
	case cfg.Controller == nil:
		return nil, errors.New("train: config has no Controller")
	case cfg.Steps <= 0:
		return nil, fmt.Errorf("train: Steps is %d, want > 0", cfg.Steps)
	case cfg.ValEvery < 0:
		return nil, fmt.Errorf("train: ValEvery is %d, want ≥ 0", cfg.ValEvery)
	case cfg.ValEvery > 0 && cfg.Validate == nil:
		return nil, fmt.Errorf("train: ValEvery is %d but Validate is nil", cfg.ValEvery)
	case cfg.ClipNorm < 0 || math.IsNaN(cfg.ClipNorm):
		return nil, fmt.Errorf("train: ClipNorm is %v, want ≥ 0", cfg.ClipNorm)
	}
	t := &Trainer{cfg: cfg, loss: cfg.Loss, params: cfg.Model.Params()}
	if t.loss == nil {
		t.loss = &nn.SoftmaxCrossEntropy{}
	}
	if len(t.params) == 0 {
		return nil, errors.New("train: model has no parameters")
	}
	t.pcg = rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)
	t.rng = rand.New(t.pcg)
	t.prev = make([][]float32, len(t.params))
	for i, p := range t.params {
		t.prev[i] = make([]float32, p.W.Len())
		if p.ScaleInvariant {
			t.inv = append(t.inv, i)
			t.init = append(t.init, p.W.Norm2())
			t.stats = append(t.stats, LayerStat{Name: p.Name, WeightNorm: p.W.Norm2(), ProjectionRatio: 1})
		}
	}
	for k, i := range t.inv {
		if t.init[k] == 0 && cfg.NaP {
			return nil, fmt.Errorf("train: scale-invariant parameter %s has norm 0, so NaP cannot project to it", t.params[i].Name)
		}
	}
	t.scratch = make([]float64, len(t.inv))
	return t, nil
}

// Rand returns the trainer's seeded generator; its state is part of a
// checkpoint.
func (t *Trainer) Rand() *rand.Rand { return t.rng }

// StepsDone returns the number of completed steps, which is also the index
// of the next step.
func (t *Trainer) StepsDone() int64 { return t.step }

// Params returns the model's parameters in the order the optimizer sees.
func (t *Trainer) Params() []*nn.Param { return t.params }

// LayerStats returns the per-layer telemetry of the last step, one entry
// per parameter flagged ScaleInvariant (nil if there are none). The slice
// is reused by the next step.
func (t *Trainer) LayerStats() []LayerStat { return t.stats }

// Run performs steps until Config.Steps are done. On cancellation it
// returns ctx.Err() after the last completed step, leaving the trainer in
// a state that Save can checkpoint.
func (t *Trainer) Run(ctx context.Context) error {
	for t.step < t.cfg.Steps {
		if _, err := t.Step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Evaluate runs the validator with the optimizer's evaluation point in the
// parameters and restores the training point afterwards.
func (t *Trainer) Evaluate(ctx context.Context) (loss, metric float64, err error) {
	if t.cfg.Validate == nil {
		return 0, 0, errors.New("train: no Validate function configured")
	}
	if sw, ok := t.cfg.Optimizer.(optim.EvalSwapper); ok {
		sw.SwapToEval(t.params)
		defer sw.SwapToTrain(t.params)
	}
	loss, metric, err = t.cfg.Validate(ctx, t.cfg.Model)
	if err != nil {
		return 0, 0, fmt.Errorf("train: validation after step %d: %w", t.step-1, err)
	}
	return loss, metric, nil
}

// Step performs one optimizer step and returns its record, which the
// controller has observed and OnRecord has received.
//
// Controllers that implement control.Searcher (AutoLRS) get their Search
// before the step, with the trainer as its control.Engine; controllers that
// implement control.GradientObserver (hypergradient descent) get
// ⟨g_t, u_{t−1}⟩ after the backward pass and before LR(t) is asked, where
// g_t is the raw (unclipped) gradient and u_{t−1} the previous update per
// unit rate, (θ_{t−1} − θ_t)/η_{t−1}, measured before any NaP projection.
func (t *Trainer) Step(ctx context.Context) (runlog.Record, error) {
	if err := ctx.Err(); err != nil {
		return runlog.Record{}, err
	}
	if t.step >= t.cfg.Steps {
		return runlog.Record{}, fmt.Errorf("train: all %d steps are done", t.cfg.Steps)
	}
	k := t.step
	if s, ok := t.cfg.Controller.(control.Searcher); ok && s.NeedsSearch(k) {
		if err := s.Search(ctx, k, engine{t}); err != nil {
			return runlog.Record{}, fmt.Errorf("train: search before step %d: %w", k, err)
		}
	}
	start := time.Now()
	loss, err := t.forwardBackward(k)
	if err != nil {
		return runlog.Record{}, err
	}
	var l1, l2sq float64
	for _, p := range t.params {
		a, q := nn.SumAbsSquares(p.G.Data)
		l1 += a
		l2sq += q
	}
	l2 := math.Sqrt(l2sq)
	gobs, hd := t.cfg.Controller.(control.GradientObserver)
	if hd {
		var h control.Hypergradient
		if t.dir != nil {
			for i, p := range t.params {
				h.Accumulate(p.G.Data, t.dir[i])
			}
		}
		gobs.ObserveGradient(k, h)
	}
	lr := t.cfg.Controller.LR(k)
	if math.IsNaN(lr) || math.IsInf(lr, 0) || lr < 0 {
		return runlog.Record{}, fmt.Errorf("train: controller %s gave learning rate %v at step %d", t.cfg.Controller, lr, k)
	}
	effLR, err := t.update(k, lr, l2, hd)
	if err != nil {
		return runlog.Record{}, err
	}

	var pn, un float64
	for i, p := range t.params {
		sq, d := nn.SumSquaresDiff(p.W.Data, t.prev[i])
		pn += sq
		un += d
	}
	t.wall += time.Since(start).Seconds()
	t.step++
	n := t.batch.Examples
	if n == 0 && len(t.batch.Inputs.Shape) > 0 {
		n = t.batch.Inputs.Shape[0]
	}
	t.examples += int64(n)

	rec := runlog.Record{Step: k, LR: lr, Loss: loss, GradNorm: l2, GradNormL1: l1,
		ParamNorm: math.Sqrt(pn), UpdateNorm: math.Sqrt(un), ExamplesSeen: t.examples,
		WallSeconds: t.wall,
		Present: runlog.FieldLR | runlog.FieldLoss | runlog.FieldGradNorm | runlog.FieldGradNormL1 |
			runlog.FieldParamNorm | runlog.FieldUpdateNorm | runlog.FieldExamplesSeen | runlog.FieldWallSeconds}
	if len(t.inv) > 0 {
		rec.EffectiveLR = effLR
		rec.Present |= runlog.FieldEffectiveLR
	}
	if t.cfg.ValEvery > 0 && (t.step%t.cfg.ValEvery == 0 || t.step == t.cfg.Steps) {
		vl, vm, err := t.Evaluate(ctx)
		if err != nil {
			return rec, err
		}
		rec.ValLoss, rec.ValMetric = vl, vm
		rec.Present |= runlog.FieldValLoss | runlog.FieldValMetric
	}
	t.cfg.Controller.Observe(rec)
	if t.cfg.OnRecord != nil {
		if err := t.cfg.OnRecord(rec); err != nil {
			return rec, fmt.Errorf("train: record of step %d: %w", k, err)
		}
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return rec, fmt.Errorf("train: step %d: loss %v: %w", k, loss, ErrDiverged)
	}
	return rec, nil
}

// forwardBackward takes the next batch and leaves the loss's gradient in
// the parameters' G.
func (t *Trainer) forwardBackward(k int64) (float64, error) {
	if err := t.cfg.Data.Next(&t.batch); err != nil {
		return 0, fmt.Errorf("train: data for step %d: %w", k, err)
	}
	if t.batch.Inputs == nil || t.batch.Inputs.Len() == 0 {
		return 0, fmt.Errorf("train: data for step %d: empty batch", k)
	}
	nn.ZeroGrads(t.params)
	out, err := t.cfg.Model.Forward(t.batch.Inputs)
	if err != nil {
		return 0, fmt.Errorf("train: step %d: %w", k, err)
	}
	loss, err := t.loss.Loss(out, t.batch.Labels)
	if err != nil {
		return 0, fmt.Errorf("train: step %d: %w", k, err)
	}
	t.cfg.Model.Backward(t.loss.Grad())
	return loss, nil
}

// update clips the gradient (whose L2 norm is l2), applies the optimizer
// with rate lr, records the update direction if keepDir, and runs NaP and
// the telemetry. It returns the median effective rate.
func (t *Trainer) update(k int64, lr, l2 float64, keepDir bool) (float64, error) {
	if c := t.cfg.ClipNorm; c > 0 && l2 > c {
		f := float32(c / l2)
		for _, p := range t.params {
			for i := range p.G.Data {
				p.G.Data[i] *= f
			}
		}
	}
	for i, p := range t.params {
		copy(t.prev[i], p.W.Data)
	}
	if err := t.cfg.Optimizer.Step(t.params, lr); err != nil {
		return 0, fmt.Errorf("train: step %d: %w", k, err)
	}
	if keepDir {
		if t.dir == nil {
			t.dir = make([][]float32, len(t.params))
			for i, p := range t.params {
				t.dir[i] = make([]float32, p.W.Len())
			}
		}
		inv := float32(0)
		if lr > 0 {
			inv = float32(1 / lr)
		}
		for i, p := range t.params {
			d, old := t.dir[i], t.prev[i]
			for j, w := range p.W.Data {
				d[j] = (old[j] - w) * inv
			}
		}
	}
	return t.telemetry(lr), nil
}

// engine lets a control.Searcher drive the trainer: snapshots without the
// controller's state, and steps at a given rate that emit no record, are
// not counted as training steps and leave the controller alone. Their time
// counts in WallSeconds.
type engine struct{ t *Trainer }

func (e engine) Snapshot() (any, error) { return e.t.Snapshot() }

func (e engine) Restore(snapshot any) error {
	b, ok := snapshot.([]byte)
	if !ok {
		return fmt.Errorf("train: restore: snapshot is %T, want the []byte from Snapshot", snapshot)
	}
	return e.t.Rollback(b)
}

func (e engine) Step(lr float64) (float64, error) {
	t := e.t
	if math.IsNaN(lr) || math.IsInf(lr, 0) || lr < 0 {
		return 0, fmt.Errorf("train: search step at learning rate %v", lr)
	}
	start := time.Now()
	defer func() { t.wall += time.Since(start).Seconds() }()
	loss, err := t.forwardBackward(t.step)
	if err != nil {
		return 0, err
	}
	var l2sq float64
	for _, p := range t.params {
		l2sq += nn.SumSquares(p.G.Data)
	}
	if _, err := t.update(t.step, lr, math.Sqrt(l2sq), false); err != nil {
		return 0, err
	}
	return loss, nil
}

// telemetry projects the scale-invariant parameters when NaP is on, fills
// t.stats and returns the median effective learning rate.
func (t *Trainer) telemetry(lr float64) float64 {
	if len(t.inv) == 0 {
		return 0
	}
	pow := float64(t.cfg.Optimizer.EffectiveLRPower())
	for k, i := range t.inv {
		p, old := t.params[i], t.prev[i]
		n0 := math.Sqrt(nn.SumSquares(old))
		n1 := p.W.Norm2()
		s := &t.stats[k]
		s.ProjectionRatio = n1 / t.init[k]
		if t.cfg.NaP {
			Project(p, t.init[k])
			n1 = p.W.Norm2()
		}
		var du, dang float64 // ‖ΔW‖², ‖Ŵ_t − Ŵ_{t+1}‖²
		for j, v := range p.W.Data {
			d := float64(v) - float64(old[j])
			du += d * d
			if n0 > 0 && n1 > 0 {
				a := float64(old[j])/n0 - float64(v)/n1
				dang += a * a
			}
		}
		s.WeightNorm = n1
		s.EffectiveLR = lr / math.Pow(n0, pow)
		s.RelativeUpdate = math.Sqrt(du) / n0
		// The angle between unit vectors at chord length c is 2·asin(c/2),
		// stable for small angles where arccos of the cosine is not.
		s.AngularUpdate = 2 * math.Asin(min(1, math.Sqrt(dang)/2))
		s.CumulativeEffectiveLR += s.EffectiveLR
		t.scratch[k] = s.EffectiveLR
	}
	return median(t.scratch)
}

// median sorts xs in place and returns its median.
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// Project rescales p's weights to Frobenius norm `norm` (spec §5:
// W ← W·‖W₀‖/‖W‖). A zero weight is left as it is.
func Project(p *nn.Param, norm float64) {
	n := p.W.Norm2()
	if n == 0 {
		return
	}
	f := norm / n
	for i, v := range p.W.Data {
		p.W.Data[i] = float32(float64(v) * f)
	}
}
