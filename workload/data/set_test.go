package data

import (
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func seqSet(n, d int) *Set {
	s := &Set{Name: "seq", D: d, Classes: 3, Shape: []int{d}}
	for i := range n {
		for j := range d {
			s.X = append(s.X, float32(i*10+j))
		}
		s.Y = append(s.Y, int32(i%3))
	}
	return s
}

func TestSplit(t *testing.T) {
	s := seqSet(100, 2)
	tr, va, err := s.Split(0.2, 7)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 80 || va.Len() != 20 {
		t.Fatalf("split %d/%d, want 80/20", tr.Len(), va.Len())
	}
	var ids []int
	for _, part := range []*Set{tr, va} {
		for i := range part.Len() {
			r := part.Row(i)
			id := int(r[0]) / 10
			if r[1] != r[0]+1 || part.Y[i] != int32(id%3) {
				t.Fatalf("row %v label %d do not belong together", r, part.Y[i])
			}
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for i, id := range ids {
		if id != i {
			t.Fatalf("the split loses or repeats example %d", i)
		}
	}
	tr2, _, _ := s.Split(0.2, 7)
	tr3, _, _ := s.Split(0.2, 8)
	if !equalF32(tr.X, tr2.X) {
		t.Error("same seed, different split")
	}
	if equalF32(tr.X, tr3.X) {
		t.Error("different seeds, same split")
	}
	for _, f := range []float64{0, 1, -0.1, math.NaN()} {
		if _, _, err := s.Split(f, 1); err == nil {
			t.Errorf("fraction %v: want an error", f)
		}
	}
	if _, _, err := seqSet(1, 2).Split(0.5, 1); err == nil {
		t.Error("1 example: want an error")
	}
}

func TestStandardizer(t *testing.T) {
	s := &Set{Name: "s", D: 2, Classes: 1, X: []float32{1, 5, 3, 5, 5, 5}, Y: []int32{0, 0, 0}}
	st := FitStandardizer(s)
	st.Apply(s)
	sd := math.Sqrt(8.0 / 3)
	want := []float32{float32(-2 / sd), 0, 0, 0, float32(2 / sd), 0}
	for i := range want {
		if math.Abs(float64(s.X[i]-want[i])) > 1e-6 {
			t.Fatalf("standardized %v, want %v", s.X, want)
		}
	}
}

func TestCheck(t *testing.T) {
	bad := []*Set{
		{Name: "a", D: 2, Classes: 2, X: []float32{1}, Y: []int32{0}},
		{Name: "b", D: 1, Classes: 2, X: []float32{1}, Y: []int32{2}},
		{Name: "c", D: 1, Classes: 2, X: []float32{float32(math.NaN())}, Y: []int32{0}},
		{Name: "d", D: 0, Classes: 2},
	}
	for _, s := range bad {
		if err := s.Check(); err == nil {
			t.Errorf("%s: want an error", s.Name)
		}
	}
}

func TestIllConditioned(t *testing.T) {
	p := IllConditioned{Kappa: 100, Dim: 6, Train: 20000, Val: 4000, LogitScale: 3, Seed: 1}
	res, err := p.Generate()
	if err != nil {
		t.Fatal(err)
	}
	again, _ := p.Generate()
	if !equalF32(res.Train.X, again.Train.X) || !equalInt32(res.Val.Y, again.Val.Y) {
		t.Fatal("same seed, different data")
	}
	// The sample covariance's eigenvalues span [1/κ, 1].
	d := p.Dim
	cov := mat.NewSymDense(d, nil)
	n := res.Train.Len()
	for i := range d {
		for j := i; j < d; j++ {
			var s float64
			for e := range n {
				r := res.Train.Row(e)
				s += float64(r[i]) * float64(r[j])
			}
			cov.SetSym(i, j, s/float64(n))
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(cov, false) {
		t.Fatal("eigendecomposition failed")
	}
	ev := eig.Values(nil)
	if lo, hi := ev[0], ev[d-1]; math.Abs(hi-1) > 0.05 || math.Abs(lo-0.01)/0.01 > 0.05 {
		t.Errorf("covariance eigenvalues %v, want 0.01 .. 1", ev)
	}
	// The true logit has standard deviation LogitScale.
	var ss float64
	for e := range n {
		var z float64
		for i, v := range res.Train.Row(e) {
			z += res.W[i] * float64(v)
		}
		ss += z * z
	}
	if sd := math.Sqrt(ss / float64(n)); math.Abs(sd-3) > 0.1 {
		t.Errorf("logit standard deviation %v, want 3", sd)
	}
	// For a logit z ~ N(0, 9), the Bayes accuracy E[max(σ(z), 1−σ(z))] is
	// 0.836 and the loss E[H(σ(z))] 0.360 nats (Monte Carlo, 400,000 draws);
	// 4,000 validation examples give a standard error near 0.006.
	if math.Abs(res.BayesAccuracy-0.836) > 0.025 || math.Abs(res.BayesLoss-0.360) > 0.025 {
		t.Errorf("Bayes accuracy %v, loss %v; want about 0.836 and 0.360", res.BayesAccuracy, res.BayesLoss)
	}
	for _, bad := range []IllConditioned{
		{Kappa: 0.5, Dim: 4, Train: 1, Val: 1, LogitScale: 1},
		{Kappa: math.Inf(1), Dim: 4, Train: 1, Val: 1, LogitScale: 1},
		{Kappa: 10, Dim: 1, Train: 1, Val: 1, LogitScale: 1},
		{Kappa: 10, Dim: 4, Train: 0, Val: 1, LogitScale: 1},
		{Kappa: 10, Dim: 4, Train: 1, Val: 1, LogitScale: 0},
	} {
		if _, err := bad.Generate(); err == nil {
			t.Errorf("%+v: want an error", bad)
		}
	}
}
