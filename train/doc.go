// Package train runs training: a model from package nn, an optimizer from
// package optim, a learning-rate controller (package control) and a data
// source, one step at a time, emitting a runlog.Record per step, with
// validation at a set interval, checkpoints that resume to the identical
// next step, and Normalize-and-Project with per-layer effective-LR
// telemetry (spec adaptive.md §5).
//
// Subpackages: nn (tensors, layers, the BLAS backend switch) and optim
// (optimizers and clipping).
//
// A run in brief:
//
//	tr, err := train.New(train.Config{
//		Model: model, Data: data, Optimizer: optim.NewAdamW(0.01),
//		Controller: control.NewFixed(sched), Steps: 2000,
//		ValEvery: 200, Validate: val, Seed: 1,
//		OnRecord: func(r runlog.Record) error { return w.Write(r) },
//	})
//	err = tr.Run(ctx)          // or tr.Step(ctx) in a loop
//	err = tr.Save(f)           // later: tr2.Load(f) on a Trainer built the same way
//
// Controllers: the trainer asks Controller.LR(t) for each step and passes
// the step's Record to Observe. A controller that implements
// control.GradientObserver (hypergradient descent) also gets ⟨g_t, u_{t−1}⟩
// after the backward pass, before LR(t) is asked; one that implements
// control.Searcher (AutoLRS) may search before a step through the trainer
// as a control.Engine (Snapshot, Restore, Step at a given rate), and the
// run's records do not show the search.
//
// Records: LR, Loss (mean over the batch), GradNorm and GradNormL1 (of the
// raw gradient, before clipping), ParamNorm and UpdateNorm (after the
// update and any projection), EffectiveLR (median over parameters flagged
// ScaleInvariant, when there are any), ValLoss and ValMetric (at
// validation steps), ExamplesSeen, WallSeconds (training time, validation
// excluded; it survives a resume).
//
// Determinism: with the same seed, model initialisation, data order and
// build, two runs produce bit-identical records (WallSeconds aside).
// gonum's pure-Go Gemm splits work across goroutines by output block, and
// each output element is summed by one goroutine in a fixed order, so its
// result does not depend on scheduling; the tests check repeatability.
package train
