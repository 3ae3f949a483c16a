package workload_test

import (
	"context"
	"fmt"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/schedule"
	"github.com/lrkit/lrkit/train"
	"github.com/lrkit/lrkit/workload"
)

func ExampleLookup() {
	w, err := workload.Lookup("mnist-mlp")
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s: %s target %g within %d steps at batch %d (%s, peak %g)\n",
		w.Name, w.Metric.Name, w.Target, w.StepHint, w.DefaultBatch, w.DefaultOptimizer, w.DefaultPeak)
	// Output:
	// mnist-mlp: accuracy target 0.97 within 2000 steps at batch 128 (adamw, peak 0.001)
}

// Build a workload and train it for a few steps under a schedule.
func ExampleWorkload_Build() {
	w, err := workload.Lookup("logreg-illcond-100")
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	s, err := w.Build(ctx, workload.Options{Seed: 1})
	if err != nil {
		panic(err)
	}
	opt, _ := workload.NewOptimizer(w.DefaultOptimizer, w.WeightDecay)
	sched, _ := schedule.Parse("linear(peak=1, steps=400)")
	tr, err := train.New(train.Config{Model: s.Model, Data: s.Data, Optimizer: opt,
		Controller: control.NewFixed(sched), Steps: 400, ValEvery: 400, Validate: s.Validate, Seed: 1})
	if err != nil {
		panic(err)
	}
	if err := tr.Run(ctx); err != nil {
		panic(err)
	}
	loss, _, _ := tr.Evaluate(ctx)
	fmt.Printf("%d training and %d validation examples, batch %d\n", s.Train, s.Val, s.Batch)
	fmt.Printf("validation loss below 0.45: %v (target %.3f)\n", loss < 0.45, w.Target)
	// Output:
	// 8192 training and 2048 validation examples, batch 64
	// validation loss below 0.45: true (target 0.375)
}
