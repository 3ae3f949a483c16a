package fed

import (
	"fmt"
	"math"
)

// Staleness is a staleness function s(τ): the factor on an update
// computed from a global model τ server versions old. The three forms are
// FedAsync's (Xie, Koyejo, Gupta 2019, arXiv 1903.03934), as APPFL
// implements them (APPFL/FedCompass src/appfl/aggregator, read for this):
//
//	constant    s(τ) = 1
//	polynomial  s(τ) = (τ + 1)^(−A)
//	hinge       s(τ) = 1 if τ ≤ B, else 1/(A·(τ − B) + 1)
type Staleness struct {
	Fn string  `yaml:"fn" json:"fn"`
	A  float64 `yaml:"a" json:"a,omitempty"`
	B  float64 `yaml:"b" json:"b,omitempty"`
}

// Validate checks the function name and its parameters.
func (s Staleness) Validate() error {
	switch s.Fn {
	case "constant":
		return nil
	case "polynomial", "hinge":
		if !(s.A > 0) || math.IsInf(s.A, 0) {
			return fmt.Errorf("staleness %s: a %v, want a finite number > 0", s.Fn, s.A)
		}
		if s.Fn == "hinge" && (!(s.B >= 0) || math.IsInf(s.B, 0)) {
			return fmt.Errorf("staleness hinge: b %v, want a finite number ≥ 0", s.B)
		}
		return nil
	}
	return fmt.Errorf("unknown staleness function %q (have constant, polynomial, hinge)", s.Fn)
}

// Weight returns s(τ) for a staleness τ ≥ 0 (negative τ counts as 0).
func (s Staleness) Weight(tau int64) float64 {
	u := float64(max(tau, 0))
	switch s.Fn {
	case "polynomial":
		return math.Pow(u+1, -s.A)
	case "hinge":
		if u <= s.B {
			return 1
		}
		return 1 / (s.A*(u-s.B) + 1)
	}
	return 1
}

// String returns the function in the study file's form.
func (s Staleness) String() string {
	switch s.Fn {
	case "polynomial":
		return fmt.Sprintf("polynomial(a=%g)", s.A)
	case "hinge":
		return fmt.Sprintf("hinge(a=%g, b=%g)", s.A, s.B)
	}
	return s.Fn
}
