// Package scaling fits scaling laws to the final losses of training runs
// of several model sizes and data budgets, predicts held-out sizes, and
// compares the laws of two training procedures.
//
// Forms (N: parameters, D: training tokens, C = 6·N·D: compute in FLOPs):
//
//	chinchilla  L(N, D) = E + A/N^α + B/D^β
//	            (Hoffmann et al. 2022, approach 3: fitted in log space,
//	            log L̂ = LSE(a − α·log N, b − β·log D, e), by a Huber loss
//	            with δ = 10⁻³ on log L − log L̂, L-BFGS from a grid of
//	            starts; A = eᵃ, B = eᵇ, E = eᵉ)
//	compute     L(C) = E + A·C^−α on the compute-optimal frontier (the
//	            saturating power law of the LAION scaling studies that
//	            compare two procedures, e.g. CLIP against MaMMUT)
//	power       L(C) = A·C^−α on the frontier (Cherti et al. 2023, a line
//	            in log-log space)
//
// Uncertainty comes from a cluster bootstrap: model sizes are resampled
// with replacement (a size's runs stay together, since they share a model
// and data order), the law is refitted, and percentile intervals are read
// from the refits.
package scaling
