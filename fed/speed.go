package fed

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Speeds describes simulated device heterogeneity: each client's mean
// time for one local step, in virtual seconds, drawn once per federation
// from a distribution, and a per-round jitter.
//
//	fixed        every client takes Mean
//	uniform      U[Min, Max]
//	exponential  Exp(mean Mean), floored at Mean/20 (a heavy right tail:
//	             a few stragglers many times slower than the median)
//	lognormal    Mean·exp(Sigma·z − Sigma²/2), z ~ N(0, 1) (mean Mean)
//
// A client's local round of Q steps then takes Q·t_i·max(0.1, 1 + Jitter·z)
// virtual seconds, with z ~ N(0, 1) drawn from a generator seeded by the
// federation's seed, the client and the client's round number, so that
// durations depend neither on the order in which the server handles
// events nor on this machine's load.
type Speeds struct {
	Dist   string  `yaml:"dist" json:"dist"`
	Mean   float64 `yaml:"mean" json:"mean"`
	Sigma  float64 `yaml:"sigma" json:"sigma,omitempty"`
	Min    float64 `yaml:"min" json:"min,omitempty"`
	Max    float64 `yaml:"max" json:"max,omitempty"`
	Jitter float64 `yaml:"jitter" json:"jitter"`
}

// Validate checks the distribution and its parameters.
func (s Speeds) Validate() error {
	pos := func(name string, v float64) error {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("speeds: %s %v, want a finite number > 0", name, v)
		}
		return nil
	}
	switch s.Dist {
	case "fixed", "exponential":
		if err := pos("mean", s.Mean); err != nil {
			return err
		}
	case "lognormal":
		if err := pos("mean", s.Mean); err != nil {
			return err
		}
		if err := pos("sigma", s.Sigma); err != nil {
			return err
		}
	case "uniform":
		if err := pos("min", s.Min); err != nil {
			return err
		}
		if err := pos("max", s.Max); err != nil {
			return err
		}
		if s.Max < s.Min {
			return fmt.Errorf("speeds: max %v is below min %v", s.Max, s.Min)
		}
	default:
		return fmt.Errorf("speeds: unknown distribution %q (have fixed, uniform, exponential, lognormal)", s.Dist)
	}
	if !(s.Jitter >= 0 && s.Jitter <= 1) {
		return fmt.Errorf("speeds: jitter %v, want in [0, 1]", s.Jitter)
	}
	return nil
}

// StepTimes draws each client's mean time per local step.
func (s Speeds) StepTimes(clients int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 0x7370656564))
	t := make([]float64, clients)
	for i := range t {
		switch s.Dist {
		case "fixed":
			t[i] = s.Mean
		case "uniform":
			t[i] = s.Min + (s.Max-s.Min)*rng.Float64()
		case "exponential":
			t[i] = max(s.Mean/20, s.Mean*rng.ExpFloat64())
		case "lognormal":
			t[i] = s.Mean * math.Exp(s.Sigma*rng.NormFloat64()-s.Sigma*s.Sigma/2)
		}
	}
	return t
}

// roundTime is the virtual duration of a client's k-th local round of
// steps steps at mean step time stepTime.
func (s Speeds) roundTime(stepTime float64, steps int, seed uint64, client, k int) float64 {
	f := 1.0
	if s.Jitter > 0 {
		rng := rand.New(rand.NewPCG(seed^0x6a6974746572, uint64(client)<<32|uint64(k)))
		f = max(0.1, 1+s.Jitter*rng.NormFloat64())
	}
	return float64(steps) * stepTime * f
}
