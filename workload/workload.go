// Package workload holds lrkit's training workloads: a data set that a
// package ships, a model built from package train/nn, a train/validation
// split, a validation metric with a target, and a step budget hint. A
// workload builds everything a train.Trainer needs for one seed.
//
// The workloads:
//
//	logreg-digits, logreg-breast-cancer, logreg-wine, logreg-iris
//	    multinomial logistic regression on scikit-learn's bundled tables
//	logreg-illcond-<κ>
//	    binary logistic regression on synthetic features whose covariance
//	    has condition number κ (any κ ≥ 1, e.g. logreg-illcond-1000)
//	mnist-mlp     784-256-256-10 ReLU network on MNIST
//	fashion-cnn   two 3×3 conv layers with max pooling and two dense
//	              layers on Fashion-MNIST
//	kjv-gpt       character-level decoder-only transformer (pre-norm,
//	              causal attention, GELU MLP) on the King James Bible
//	kjv-gpt-small the same at half the width and context, sized so a
//	              trial at its step hint takes well under a minute on
//	              one core (docs/workloads.md)
//
// Data comes from package data (subdirectory data), never from a download
// at run time; a missing data set gives an error naming the command that
// installs it.
package workload

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/lrkit/lrkit/train"
	"github.com/lrkit/lrkit/train/nn"
	"github.com/lrkit/lrkit/train/optim"
	"github.com/lrkit/lrkit/workload/data"
)

// Metric names a workload's validation metric and its direction.
type Metric struct {
	Name           string // "accuracy" or "loss" (mean cross-entropy, nats)
	HigherIsBetter bool
}

// Accuracy is the fraction of validation examples classified correctly.
var Accuracy = Metric{Name: "accuracy", HigherIsBetter: true}

// Loss is the mean validation cross-entropy in nats (per example, or per
// character for a language model).
var Loss = Metric{Name: "loss", HigherIsBetter: false}

// Options choose how a workload is built.
type Options struct {
	Seed  uint64 // model initialisation and data order
	Batch int    // training batch size; 0 uses the workload's default
	// Limit, if > 0, caps the training and validation examples (for a text,
	// the bytes read), so tests run on a small slice.
	Limit int
	// Sets, if not nil, shares decoded image data sets between builds (a
	// benchmark's trials); nil decodes them on every build.
	Sets *data.SetCache
}

// Setup is a built workload: what a train.Config needs besides the
// optimizer and the controller.
type Setup struct {
	Model    nn.Layer
	Data     train.Data
	Validate train.Validator
	// Train and Val are the sizes of the splits (examples; characters for
	// a text).
	Train, Val int
	Batch      int
}

// Workload describes one training task. Build constructs its model and
// data sources for a seed.
type Workload struct {
	Name        string
	Description string
	Metric      Metric
	// Target is the validation metric a run should reach (at least, for
	// accuracy; at most, for loss).
	Target float64
	// StepHint is the step budget in which a good schedule reaches Target
	// at DefaultBatch.
	StepHint         int64
	DefaultBatch     int
	DefaultOptimizer string  // a name NewOptimizer accepts
	DefaultPeak      float64 // a peak learning rate that works with it
	// PeakRange is the range of peak learning rates a tuning grid should
	// start from (low, high); zero means a decade either side of
	// DefaultPeak. A benchmark extends the grid when its best point sits
	// at an edge, so the range is a starting point, not a bound.
	PeakRange   [2]float64
	WeightDecay float64 // for the optimizers with decoupled decay
	ClipNorm    float64 // global gradient-norm clip; 0: none
	EvalEvery   int64   // a sensible validation interval

	build func(ctx context.Context, w *Workload, o Options) (*Setup, error)
}

// PeakSearchRange returns PeakRange, or a decade either side of
// DefaultPeak when PeakRange is unset.
func (w *Workload) PeakSearchRange() (low, high float64) {
	if w.PeakRange[0] > 0 && w.PeakRange[1] > w.PeakRange[0] {
		return w.PeakRange[0], w.PeakRange[1]
	}
	return w.DefaultPeak / 10, w.DefaultPeak * 10
}

// Build constructs the model, the training data source and the validator
// for the options. The same options give bit-identical setups.
func (w *Workload) Build(ctx context.Context, o Options) (*Setup, error) {
	if o.Batch < 0 || o.Limit < 0 {
		return nil, fmt.Errorf("workload %s: batch %d and limit %d, want ≥ 0", w.Name, o.Batch, o.Limit)
	}
	if o.Batch == 0 {
		o.Batch = w.DefaultBatch
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, err := w.build(ctx, w, o)
	if err != nil {
		return nil, fmt.Errorf("workload %s: %w", w.Name, err)
	}
	s.Batch = o.Batch
	return s, nil
}

// Reached reports whether a validation metric value meets the target.
func (w *Workload) Reached(metric float64) bool {
	if math.IsNaN(metric) {
		return false
	}
	if w.Metric.HigherIsBetter {
		return metric >= w.Target
	}
	return metric <= w.Target
}

// IllCondPrefix starts the names of the synthetic ill-conditioned
// workloads; the condition number follows (logreg-illcond-1000).
const IllCondPrefix = "logreg-illcond-"

// All returns the fixed workloads and two ill-conditioned examples
// (κ = 100 and 1000), sorted by name.
func All() []*Workload {
	ws := []*Workload{mnistMLP(), fashionCNN(), kjvGPT(), kjvGPTSmall()}
	ws = append(ws, shiftWorkloads()...)
	for _, t := range sklearnWorkloads {
		ws = append(ws, logregSklearn(t.name, t.table, t.desc, t.target, t.batch, t.steps, t.peak, t.peakRange))
	}
	for _, k := range []float64{100, 1000} {
		w, err := illCond(k)
		if err != nil {
			panic(err) // the κ values above are valid
		}
		ws = append(ws, w)
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].Name < ws[j].Name })
	return ws
}

// Lookup returns the workload with the given name; logreg-illcond-<κ>
// accepts any condition number κ ≥ 1 (1000 or 1e3).
func Lookup(name string) (*Workload, error) {
	if rest, ok := strings.CutPrefix(name, IllCondPrefix); ok {
		k, err := strconv.ParseFloat(rest, 64)
		if err != nil {
			return nil, fmt.Errorf("workload %q: condition number %q is not a number", name, rest)
		}
		return illCond(k)
	}
	var names []string
	for _, w := range All() {
		if w.Name == name {
			return w, nil
		}
		if !strings.HasPrefix(w.Name, IllCondPrefix) {
			names = append(names, w.Name)
		}
	}
	return nil, fmt.Errorf("unknown workload %q (have %s, %s<kappa>)", name, strings.Join(names, ", "), IllCondPrefix)
}

// Optimizers lists the names NewOptimizer accepts.
var Optimizers = []string{"sgd", "momentum", "nesterov", "adam", "adamw", "sfsgd", "sfadamw", "prodigy"}

// NewOptimizer returns a fresh optimizer by name: sgd (plain), momentum and
// nesterov (SGD with momentum 0.9), adam, adamw, sfsgd and sfadamw
// (Schedule-Free), prodigy. weightDecay applies to the decoupled ones
// (adamw, sfadamw, prodigy).
func NewOptimizer(name string, weightDecay float64) (optim.Optimizer, error) {
	switch name {
	case "sgd":
		return &optim.SGD{}, nil
	case "momentum":
		return &optim.SGD{Momentum: 0.9}, nil
	case "nesterov":
		return &optim.SGD{Momentum: 0.9, Nesterov: true}, nil
	case "adam":
		return optim.NewAdam(), nil
	case "adamw":
		return optim.NewAdamW(weightDecay), nil
	case "sfsgd":
		return optim.NewScheduleFreeSGD(), nil
	case "sfadamw":
		return optim.NewScheduleFreeAdamW(weightDecay), nil
	case "prodigy":
		return optim.NewProdigy(weightDecay), nil
	}
	return nil, fmt.Errorf("unknown optimizer %q (have %s)", name, strings.Join(Optimizers, ", "))
}
