// Package losscurve predicts a training run's loss curve from its
// learning-rate schedule, fits such predictors to observed runs, scores
// predictions and plans schedules under a fitted law.
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
// Fit fits any of them to one or more Runs by a Huber loss on log loss,
// solving the parameters that enter linearly exactly (variable
// projection) and optimising the others with gonum's Nelder–Mead from a
// deterministic grid of starting points. Evaluate computes the accuracy
// metrics of the multi-power law paper (R², MAE, RMSE, PredE, WorstE).
// Plan finds the non-increasing schedule that minimises a law's predicted
// final loss and compares it with named schedules.
package losscurve
