// Package losscurve predicts a training run's loss curve from its
// learning-rate schedule, fits such predictors to observed runs with
// prediction intervals, scores predictions on held-out runs, forecasts a
// run in progress, and plans schedules under a fitted law.
//
// A Law maps per-step learning rates lrs[0..T-1] (lrs[i] is the rate used by
// the update at step i) to a predicted loss at every step: the returned
// slice has the same length and element i is the loss after the updates of
// steps 0..i, so S1(i) = Σ_{j≤i} lrs[j] (the convention of the multi-power
// law's released code, thu-yao-01-luo/MultiPowerLaw).
//
// Three laws are provided:
//
//   - MultiPower, the multi-power law of Luo et al. (ICLR 2025, arXiv
//     2503.12811): L = L0 + A·S1^-α − LD with the loss-drop term
//     LD(t) = B·Σ_k (η_{k−1}−η_k)·G(η_k^−γ·S_k(t)), G(x) = 1−(C·x+1)^−β.
//     It is evaluated in O(T) by a sum-of-exponentials expansion of the
//     power kernel with a stated relative error bound (see LossDrop).
//   - Annealing, the LR-annealing law of Tissue, Wang and Wang (arXiv
//     2408.11029): L = L0 + A·S1^-α − C·S2 with the momentum-decayed
//     annealing area S2.
//   - Power, a plain power law in steps, L0 + A·t^-α, that ignores the
//     schedule: the baseline every comparison should include.
//
// Fit fits any of them to one or more Runs and returns a *Fitted: the
// point fit, block-bootstrap refits (of the points or of the residuals,
// FitOptions.Resample) and the residual scale, which give prediction
// intervals (Fitted.Interval), and what it was fitted to (FitInfo: the
// peak rate, the fitted steps, how far the rate decayed). Its prediction
// is the point fit's or, with FitOptions.Aggregate, the refits' mean or
// median at every step (bagging).
// Three recipes exist (FitOptions.Recipe): the default minimises a Huber
// loss on log loss, solving the linear parameters exactly (variable
// projection) and the others by Nelder–Mead from a fixed grid, with a weak
// prior on the multi-power law's exponents; its weight, the resampling
// and the aggregation were chosen on validation runs among settings that
// recover a known law from its noise-free curves (docs/accuracy.md);
// "converged" drops the prior; and
// "released" reproduces the paper's released fitting code step for step.
// A fit reports parameters that end at a bound of the search box.
//
// Evaluate and EvaluateFrom compute the accuracy metrics of the
// multi-power law paper (R², MAE, RMSE, PredE, WorstE), the final loss's
// error and the prediction interval's coverage; Departure finds where a
// held-out run leaves the fit runs' schedules, so points a fit has seen
// are not scored; Spearman checks whether a law ranks schedules right.
//
// Live forecasts a run in progress from its run-log records: the fit, its
// predictions with intervals under the run's schedule and under other
// decays, and whether the run identifies the law at all (a run whose rate
// has not decayed cannot tell how the loss responds to a decay).
//
// Plan finds the non-increasing schedule that minimises a law's predicted
// final loss, never worse under the law than the named schedules it
// compares it with.
//
// ReadRunFile reads a run log (CSV, JSONL, TensorBoard) into a Run with
// errors that point at file:line. Sub-packages read the shared EPFL loss
// curves (epfl) and the multi-power law paper's curves (mplpaper).
package losscurve
