package workload

import (
	"context"
	"fmt"
	"math"

	"github.com/lrkit/lrkit/train"
)

// TrainOptions choose how a workload becomes a training run; each zero
// value takes the workload's default.
type TrainOptions struct {
	Options          // seed, batch size, example limit
	Optimizer string // a name NewOptimizer accepts; "": DefaultOptimizer
	// EvalEvery validates every K steps and after the last; 0: the
	// workload's EvalEvery; < 0: never.
	EvalEvery int64
	// Clip is the global gradient-norm clip; nil: the workload's ClipNorm;
	// 0: off.
	Clip *float64
}

// TrainConfig builds the workload for o and returns the train.Config of a
// run on it (model, data, optimizer, validation, clip, seed) and the
// built Setup. The caller sets the run's Controller and Steps, and
// OnRecord if it wants the records, then calls train.New or
// train.RunSession. It is the one place a workload becomes a trainer.
func (w *Workload) TrainConfig(ctx context.Context, o TrainOptions) (train.Config, *Setup, error) {
	name := o.Optimizer
	if name == "" {
		name = w.DefaultOptimizer
	}
	opt, err := NewOptimizer(name, w.WeightDecay)
	if err != nil {
		return train.Config{}, nil, err
	}
	clip := w.ClipNorm
	if o.Clip != nil {
		clip = *o.Clip
	}
	if clip < 0 || math.IsNaN(clip) || math.IsInf(clip, 0) {
		return train.Config{}, nil, fmt.Errorf("workload %s: gradient clip %v, want a finite number >= 0 (0: off)", w.Name, clip)
	}
	every := o.EvalEvery
	switch {
	case every == 0:
		every = w.EvalEvery
	case every < 0:
		every = 0
	}
	setup, err := w.Build(ctx, o.Options)
	if err != nil {
		return train.Config{}, nil, err
	}
	cfg := train.Config{Model: setup.Model, Data: setup.Data, Optimizer: opt, ValEvery: every,
		Validate: setup.Validate, ClipNorm: clip, Seed: o.Seed}
	if every == 0 {
		cfg.Validate = nil
	}
	return cfg, setup, nil
}
