package control

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/schedule"
)

// Plateau reduces the learning rate when a metric stops improving, with
// the semantics of PyTorch's torch.optim.lr_scheduler.ReduceLROnPlateau
// (adaptive.md §4), and works inside a composition, which PyTorch's cannot:
// the rate at step t is
//
//	LR(t) = Base.LR(t) · s
//
// where s, the reduction scale, starts at 1. Each record that carries the
// metric (Metric: val_loss, loss or val_metric) is one PyTorch step(metric):
//
//  1. if is_better(metric, best): best = metric, bad = 0; else bad++
//     (min/rel: metric < best·(1−threshold); min/abs: metric < best −
//     threshold; max mirrors it);
//  2. if cooldown_counter > 0: cooldown_counter−−, bad = 0;
//  3. if bad > patience: with b = Base.LR(record step), old = b·s,
//     new = max(old·factor, min_lr); if old − new > eps then s = new/b;
//     then cooldown_counter = cooldown and bad = 0.
//
// best is not reset after a reduction. With Base = constant(peak=lr) this is
// PyTorch's scheduler exactly. With a varying base (warmup, then plateau),
// min_lr and eps apply to the rate at the moment of the reduction, as in
// PyTorch; a base that keeps changing afterwards moves the rate with it.
// Records without the metric are ignored.
type Plateau struct {
	Base          schedule.Schedule `spec:"base" doc:"schedule the reduction scale multiplies"`
	Metric        string            `spec:"metric" default:"val_loss" choices:"val_loss|loss|val_metric" doc:"record field watched"`
	Mode          string            `spec:"mode" default:"min" choices:"min|max" doc:"min: lower is better; max: higher is better"`
	Factor        float64           `spec:"factor" default:"0.1" doc:"multiplier per reduction, in (0, 1)"`
	Patience      int64             `spec:"patience" default:"10" doc:"evaluations without improvement tolerated before a reduction"`
	Threshold     float64           `spec:"threshold" default:"0.0001" doc:"smallest improvement that counts"`
	ThresholdMode string            `spec:"threshold_mode" default:"rel" choices:"rel|abs" doc:"threshold relative to best or absolute"`
	Cooldown      int64             `spec:"cooldown" default:"0" doc:"evaluations ignored after a reduction"`
	MinLR         float64           `spec:"min_lr" default:"0" doc:"lower bound of a reduced rate"`
	Eps           float64           `spec:"eps" default:"1e-08" doc:"smallest change of the rate applied"`

	st plateauState
}

type plateauState struct {
	Scale       runlog.Num `json:"scale"`
	Best        runlog.Num `json:"best"`
	NumBad      int64      `json:"num_bad"`
	CooldownCtr int64      `json:"cooldown_counter"`
	Epochs      int64      `json:"epochs"`
	Reductions  int64      `json:"reductions"`
}

// NewPlateau returns a plateau controller over base with PyTorch's defaults
// (mode min, factor 0.1, patience 10, threshold 1e-4 rel, cooldown 0,
// min_lr 0, eps 1e-8) observing val_loss.
func NewPlateau(base schedule.Schedule) *Plateau {
	p := &Plateau{Base: base, Metric: "val_loss", Mode: "min", Factor: 0.1, Patience: 10,
		Threshold: 1e-4, ThresholdMode: "rel", Eps: 1e-8}
	p.Reset()
	return p
}

// Reset puts the controller in its initial state (scale 1, best ±∞).
func (p *Plateau) Reset() {
	best := math.Inf(1)
	if p.Mode == "max" {
		best = math.Inf(-1)
	}
	p.st = plateauState{Scale: 1, Best: runlog.Num(best)}
}

// Validate checks the parameters as PyTorch does (factor < 1) and more.
func (p *Plateau) Validate() error {
	switch {
	case p.Base == nil:
		return &schedule.ParamError{Param: "base", Msg: "is missing: give the schedule to reduce, e.g. base=constant(peak=0.1)"}
	case p.Metric != "val_loss" && p.Metric != "loss" && p.Metric != "val_metric":
		return &schedule.ParamError{Param: "metric", Msg: fmt.Sprintf("must be one of val_loss, loss, val_metric, got %q", p.Metric)}
	case p.Mode != "min" && p.Mode != "max":
		return &schedule.ParamError{Param: "mode", Msg: fmt.Sprintf("must be min or max, got %q", p.Mode)}
	case !(p.Factor > 0 && p.Factor < 1):
		return &schedule.ParamError{Param: "factor", Msg: fmt.Sprintf("must be in (0, 1), got %g", p.Factor)}
	case p.Patience < 0:
		return &schedule.ParamError{Param: "patience", Msg: fmt.Sprintf("must not be negative, got %d", p.Patience)}
	case !(p.Threshold >= 0) || math.IsInf(p.Threshold, 0):
		return &schedule.ParamError{Param: "threshold", Msg: fmt.Sprintf("must be a finite number >= 0, got %g", p.Threshold)}
	case p.ThresholdMode != "rel" && p.ThresholdMode != "abs":
		return &schedule.ParamError{Param: "threshold_mode", Msg: fmt.Sprintf("must be rel or abs, got %q", p.ThresholdMode)}
	case p.Cooldown < 0:
		return &schedule.ParamError{Param: "cooldown", Msg: fmt.Sprintf("must not be negative, got %d", p.Cooldown)}
	case !(p.MinLR >= 0) || math.IsInf(p.MinLR, 0):
		return &schedule.ParamError{Param: "min_lr", Msg: fmt.Sprintf("must be a finite number >= 0, got %g", p.MinLR)}
	case !(p.Eps >= 0) || math.IsInf(p.Eps, 0):
		return &schedule.ParamError{Param: "eps", Msg: fmt.Sprintf("must be a finite number >= 0, got %g", p.Eps)}
	}
	return nil
}

// LR returns Base.LR(step) times the current reduction scale.
func (p *Plateau) LR(step int64) float64 { return p.Base.LR(step) * float64(p.st.Scale) }

// Scale returns the current reduction scale s (1 before any reduction).
func (p *Plateau) Scale() float64 { return float64(p.st.Scale) }

// Reductions returns how many reductions were applied.
func (p *Plateau) Reductions() int64 { return p.st.Reductions }

// metricOf returns the observed metric of r, if present.
func (p *Plateau) metricOf(r runlog.Record) (float64, bool) {
	switch p.Metric {
	case "loss":
		return r.Loss, r.Has(runlog.FieldLoss)
	case "val_metric":
		return r.ValMetric, r.Has(runlog.FieldValMetric)
	default:
		return r.ValLoss, r.Has(runlog.FieldValLoss)
	}
}

func (p *Plateau) isBetter(a, best float64) bool {
	switch {
	case p.Mode == "min" && p.ThresholdMode == "rel":
		return a < best*(1-p.Threshold)
	case p.Mode == "min":
		return a < best-p.Threshold
	case p.ThresholdMode == "rel":
		return a > best*(1+p.Threshold)
	default:
		return a > best+p.Threshold
	}
}

// Observe takes one PyTorch step(metric) when r carries the metric.
func (p *Plateau) Observe(r runlog.Record) {
	m, ok := p.metricOf(r)
	if !ok {
		return
	}
	p.StepMetric(r.Step, m)
}

// StepMetric is PyTorch's step(metric) for an evaluation made after update
// step; the base rate at that step anchors min_lr and eps.
func (p *Plateau) StepMetric(step int64, metric float64) {
	s := &p.st
	s.Epochs++
	if p.isBetter(metric, float64(s.Best)) {
		s.Best = runlog.Num(metric)
		s.NumBad = 0
	} else {
		s.NumBad++
	}
	if s.CooldownCtr > 0 {
		s.CooldownCtr--
		s.NumBad = 0
	}
	if s.NumBad > p.Patience {
		b := p.Base.LR(step)
		old := b * float64(s.Scale)
		nw := math.Max(old*p.Factor, p.MinLR)
		if old-nw > p.Eps {
			s.Scale = runlog.Num(nw / b)
			s.Reductions++
		}
		s.CooldownCtr = p.Cooldown
		s.NumBad = 0
	}
}

// State returns the reduction scale, best metric, counters as JSON.
func (p *Plateau) State() ([]byte, error) { return json.Marshal(p.st) }

// Restore sets the state State returned.
func (p *Plateau) Restore(data []byte) error {
	var st plateauState
	if err := restoreJSON("plateau", data, &st); err != nil {
		return err
	}
	if !(st.Scale >= 0) || math.IsInf(float64(st.Scale), 0) {
		return fmt.Errorf("plateau: restore state: scale %v is not a finite number >= 0", float64(st.Scale))
	}
	p.st = st
	return nil
}

// String returns the controller's spec text.
func (p *Plateau) String() string { return schedule.Format(p) }

// Prepare puts the controller in its initial state; Parse calls it.
func (p *Plateau) Prepare() (schedule.Schedule, error) {
	p.Reset()
	return p, nil
}
