package fed

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// partitionAttempts bounds the redraws of a Dirichlet partition that left
// some client with too few examples.
const partitionAttempts = 1000

// DirichletPartition splits the examples with the given labels among
// clients by the Dirichlet label partition of Hsu, Qi and Brown 2019
// (arXiv 1909.06335), the usual non-IID split in federated learning
// benchmarks (FedCompass's and FedHyper's papers use it): for every class
// c, the shares p_c ~ Dir(α·1) over the clients are drawn and the
// examples of class c, in a random order, are cut into consecutive runs
// of lengths ⌊p_c,1·n_c⌋, … (the last client takes the remainder).
// Small α gives each client few classes; α → ∞ tends to an IID split.
//
// If a client gets fewer than minSize examples, the whole partition is
// drawn again (up to 1000 times), as the common implementations do. The
// result lists each client's example indices in increasing order and
// depends only on the labels, clients, alpha, minSize and seed.
func DirichletPartition(labels []int32, classes, clients int, alpha float64, minSize int, seed uint64) ([][]int, error) {
	switch {
	case clients < 1:
		return nil, fmt.Errorf("dirichlet partition: %d clients, want ≥ 1", clients)
	case !(alpha > 0) || math.IsInf(alpha, 0):
		return nil, fmt.Errorf("dirichlet partition: alpha %v, want a finite number > 0", alpha)
	case classes < 1:
		return nil, fmt.Errorf("dirichlet partition: %d classes, want ≥ 1", classes)
	case minSize < 0:
		return nil, fmt.Errorf("dirichlet partition: min size %d, want ≥ 0", minSize)
	case len(labels) < clients*minSize:
		return nil, fmt.Errorf("dirichlet partition: %d examples cannot give %d clients %d each", len(labels), clients, minSize)
	}
	byClass := make([][]int, classes)
	for i, y := range labels {
		if y < 0 || int(y) >= classes {
			return nil, fmt.Errorf("dirichlet partition: example %d has label %d, want a class in [0, %d)", i, y, classes)
		}
		byClass[y] = append(byClass[y], i)
	}
	rng := rand.New(rand.NewPCG(seed, 0x6469726963686c74))
	shares := make([]float64, clients)
	for attempt := 0; attempt < partitionAttempts; attempt++ {
		parts := make([][]int, clients)
		for _, idx := range byClass {
			idx = slices.Clone(idx)
			rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
			dirichlet(rng, alpha, shares)
			lo := 0
			cum := 0.0
			for k := range clients {
				cum += shares[k]
				hi := int(math.Floor(cum * float64(len(idx))))
				if k == clients-1 || hi > len(idx) {
					hi = len(idx)
				}
				hi = max(hi, lo)
				parts[k] = append(parts[k], idx[lo:hi]...)
				lo = hi
			}
		}
		small := false
		for _, p := range parts {
			if len(p) < minSize {
				small = true
				break
			}
		}
		if !small {
			for _, p := range parts {
				slices.Sort(p)
			}
			return parts, nil
		}
	}
	return nil, fmt.Errorf("dirichlet partition: after %d draws some client still had fewer than %d examples (alpha %g, %d clients, %d examples); raise alpha or lower the minimum shard size",
		partitionAttempts, minSize, alpha, clients, len(labels))
}

// dirichlet fills p with a draw from Dir(α, …, α): independent Gamma(α, 1)
// variates normalised to sum 1. If every variate underflows to 0 (tiny α),
// one coordinate chosen uniformly gets all the mass, the limit of the
// distribution as α → 0.
func dirichlet(rng *rand.Rand, alpha float64, p []float64) {
	var sum float64
	for i := range p {
		p[i] = gammaRand(rng, alpha)
		sum += p[i]
	}
	if sum == 0 || math.IsInf(sum, 0) {
		for i := range p {
			p[i] = 0
		}
		p[rng.IntN(len(p))] = 1
		return
	}
	for i := range p {
		p[i] /= sum
	}
}

// gammaRand draws from Gamma(shape a, scale 1) by Marsaglia and Tsang's
// method (ACM TOMS 26(3), 2000); for a < 1 it uses Gamma(a) =
// Gamma(a+1)·U^(1/a).
func gammaRand(rng *rand.Rand, a float64) float64 {
	if a < 1 {
		u := rng.Float64()
		return gammaRand(rng, a+1) * math.Pow(u, 1/a)
	}
	d := a - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x {
			return d * v
		}
		if math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}
