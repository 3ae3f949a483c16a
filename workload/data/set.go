package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Set is a labelled classification data set held in memory: N examples of
// D float32 features each, and a class label in [0, Classes) per example.
type Set struct {
	Name    string
	X       []float32 // N×D, row-major
	Y       []int32   // N labels
	D       int       // features per example
	Classes int       // number of classes
	Shape   []int     // the shape of one example, e.g. [1 28 28]; [D] for a table
}

// Len returns the number of examples.
func (s *Set) Len() int { return len(s.Y) }

// Row returns example i's features (a view, not a copy).
func (s *Set) Row(i int) []float32 { return s.X[i*s.D : (i+1)*s.D] }

// Check verifies that the set is consistent: len(X) = N·D and every label
// lies in [0, Classes).
func (s *Set) Check() error {
	if s.D <= 0 || s.Classes <= 0 {
		return fmt.Errorf("%s: %d features and %d classes, want both > 0", s.Name, s.D, s.Classes)
	}
	if len(s.X) != len(s.Y)*s.D {
		return fmt.Errorf("%s: %d feature values for %d examples of %d features", s.Name, len(s.X), len(s.Y), s.D)
	}
	for i, y := range s.Y {
		if y < 0 || int(y) >= s.Classes {
			return fmt.Errorf("%s: example %d has label %d, want a class in [0, %d)", s.Name, i, y, s.Classes)
		}
	}
	for i, v := range s.X {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%s: example %d feature %d is %v", s.Name, i/s.D, i%s.D, v)
		}
	}
	return nil
}

// Subset returns the examples at the given indices, in that order, as a
// new set (the values are copied).
func (s *Set) Subset(name string, idx []int) *Set {
	out := &Set{Name: name, D: s.D, Classes: s.Classes, Shape: append([]int(nil), s.Shape...),
		X: make([]float32, 0, len(idx)*s.D), Y: make([]int32, 0, len(idx))}
	for _, i := range idx {
		out.X = append(out.X, s.Row(i)...)
		out.Y = append(out.Y, s.Y[i])
	}
	return out
}

// Split shuffles the examples with a generator seeded by seed and returns
// the first N−⌈frac·N⌉ as the training set and the rest as the validation
// set. The same seed gives the same split on every machine
// (math/rand/v2's PCG is specified exactly).
func (s *Set) Split(frac float64, seed uint64) (train, val *Set, err error) {
	if !(frac > 0 && frac < 1) {
		return nil, nil, fmt.Errorf("%s: validation fraction %v, want in (0, 1)", s.Name, frac)
	}
	n := s.Len()
	nv := int(math.Ceil(frac * float64(n)))
	if nv < 1 || nv >= n {
		return nil, nil, fmt.Errorf("%s: %d examples are too few for a %v validation split", s.Name, n, frac)
	}
	perm := rand.New(rand.NewPCG(seed, 0x6c726b6974)).Perm(n)
	return s.Subset(s.Name+"/train", perm[:n-nv]), s.Subset(s.Name+"/val", perm[n-nv:]), nil
}

// Standardizer maps each feature to zero mean and unit variance using
// statistics of a training set, so validation data is scaled the same way.
type Standardizer struct {
	Mean, Scale []float32 // x' = (x − Mean)·Scale
}

// FitStandardizer computes per-feature means and 1/standard deviations of
// s. A constant feature gets scale 1 (it becomes 0).
func FitStandardizer(s *Set) *Standardizer {
	mean := make([]float64, s.D)
	sq := make([]float64, s.D)
	for i := range s.Len() {
		for j, v := range s.Row(i) {
			mean[j] += float64(v)
		}
	}
	n := float64(s.Len())
	for j := range mean {
		mean[j] /= n
	}
	for i := range s.Len() {
		for j, v := range s.Row(i) {
			d := float64(v) - mean[j]
			sq[j] += d * d
		}
	}
	st := &Standardizer{Mean: make([]float32, s.D), Scale: make([]float32, s.D)}
	for j := range mean {
		st.Mean[j] = float32(mean[j])
		sd := math.Sqrt(sq[j] / n)
		if sd < 1e-12 {
			st.Scale[j] = 1
		} else {
			st.Scale[j] = float32(1 / sd)
		}
	}
	return st
}

// Apply rescales s in place.
func (st *Standardizer) Apply(s *Set) {
	for i := range s.Len() {
		r := s.Row(i)
		for j := range r {
			r[j] = (r[j] - st.Mean[j]) * st.Scale[j]
		}
	}
}
