package workload

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/train"
	"github.com/lrkit/lrkit/train/nn"
	"github.com/lrkit/lrkit/workload/data"
)

// constSet is a set of n examples of 2 features, all equal to v, labelled v.
func constSet(v float32, n int) *data.Set {
	s := &data.Set{Name: fmt.Sprint("set", v), D: 2, Classes: 10, Shape: []int{2}}
	for range n {
		s.X = append(s.X, v, v)
		s.Y = append(s.Y, int32(v))
	}
	return s
}

func noVal(context.Context, nn.Layer) (float64, float64, error) { return 0, 0, nil }

func phases(t *testing.T, at []int64, replay float64) *Phases {
	t.Helper()
	var srcs []train.Data
	var names []string
	var vals []train.Validator
	for i := range len(at) + 1 {
		src, err := NewClassSource(constSet(float32(i+1), 32), 8, nil, uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		srcs, names, vals = append(srcs, src), append(names, fmt.Sprint("p", i)), append(vals, noVal)
	}
	p, err := NewPhases(names, srcs, vals, at, replay, 1)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPhasesSwitch: the batches come from phase 0 before the switch and
// from phase 1 after it; with replay 0.25 of a batch of 8, the first 2
// rows after the switch are phase 0's.
func TestPhasesSwitch(t *testing.T) {
	cases := []struct {
		replay float64
		after  []int32 // labels of a batch after the switch
	}{
		{0, []int32{2, 2, 2, 2, 2, 2, 2, 2}},
		{0.25, []int32{1, 1, 2, 2, 2, 2, 2, 2}},
		{0.5, []int32{1, 1, 1, 1, 2, 2, 2, 2}},
		{1, []int32{1, 1, 1, 1, 1, 1, 1, 1}},
	}
	for _, c := range cases {
		p := phases(t, []int64{3}, c.replay)
		var b train.Batch
		for k := range 6 {
			if err := p.Next(&b); err != nil {
				t.Fatal(err)
			}
			want := []int32{1, 1, 1, 1, 1, 1, 1, 1}
			if k >= 3 {
				want = c.after
			}
			if !slices.Equal(b.Labels, want) || b.Examples != 8 || !slices.Equal(b.Inputs.Shape, []int{8, 2}) {
				t.Fatalf("replay %v, batch %d: labels %v shape %v, want %v", c.replay, k, b.Labels, b.Inputs.Shape, want)
			}
			for i, y := range b.Labels {
				if b.Inputs.Data[2*i] != float32(y) {
					t.Fatalf("replay %v, batch %d row %d: input %v with label %d", c.replay, k, i, b.Inputs.Data[2*i], y)
				}
			}
		}
		if got := p.Phase(2) + 10*p.Phase(3); got != 10 {
			t.Errorf("Phase(2), Phase(3) = %d, %d, want 0, 1", p.Phase(2), p.Phase(3))
		}
	}
}

// TestPhasesResume: a source restored from State serves what the original
// serves next, across the switch.
func TestPhasesResume(t *testing.T) {
	a := phases(t, []int64{2, 5}, 0.25)
	var b train.Batch
	for range 3 {
		if err := a.Next(&b); err != nil {
			t.Fatal(err)
		}
	}
	st, err := a.State()
	if err != nil {
		t.Fatal(err)
	}
	r := phases(t, []int64{2, 5}, 0.25)
	if err := r.Restore(st); err != nil {
		t.Fatal(err)
	}
	for k := 3; k < 8; k++ {
		var x, y train.Batch
		if err := a.Next(&x); err != nil {
			t.Fatal(err)
		}
		if err := r.Next(&y); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(x.Labels, y.Labels) || !slices.Equal(x.Inputs.Data, y.Inputs.Data) {
			t.Fatalf("batch %d differs after restore: %v vs %v", k, x.Labels, y.Labels)
		}
	}
	if err := r.Restore([]byte(`{"k":1,"sources":[]}`)); err == nil || !strings.Contains(err.Error(), "0 sources at batch 1, this source has 3") {
		t.Errorf("restore of a wrong state: %v", err)
	}
}

func TestNewPhasesErrors(t *testing.T) {
	src, _ := NewClassSource(constSet(1, 4), 2, nil, 1)
	cases := []struct {
		at     []int64
		replay float64
		want   string
	}{
		{[]int64{}, 0, "want n, n, n and n−1"},
		{[]int64{5, 5}, 0, "switch steps [5 5], want increasing"},
		{[]int64{3}, 1.5, "replay 1.5"},
	}
	for _, c := range cases {
		n := len(c.at) + 1
		if len(c.at) == 0 {
			n = 2
		}
		srcs := make([]train.Data, n)
		names := make([]string, n)
		vals := make([]train.Validator, n)
		for i := range srcs {
			srcs[i], vals[i] = src, noVal
		}
		if _, err := NewPhases(names, srcs, vals, c.at, c.replay, 1); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("at %v replay %v: error %v, want %q", c.at, c.replay, err, c.want)
		}
	}
	if _, err := ContinualMNISTFashion(ContinualOptions{SwitchAt: -1}); err == nil {
		t.Error("negative switch: no error")
	}
	if _, err := PermutedMNIST(PermutedOptions{}); err == nil {
		t.Error("empty permuted options: no error")
	}
}

// rowKeys indexes the rows of a set by their bytes.
func rowKeys(s *data.Set) map[string]bool {
	m := map[string]bool{}
	for i := range s.Len() {
		m[fmt.Sprint(s.Row(i))] = true
	}
	return m
}

// TestContinualMNISTFashionSwitch: every row of a batch before the switch
// is an MNIST training image, every row after it a Fashion-MNIST one, and
// the validators follow the phase.
func TestContinualMNISTFashionSwitch(t *testing.T) {
	w, err := ContinualMNISTFashion(ContinualOptions{SwitchAt: 4})
	if err != nil {
		t.Fatal(err)
	}
	s := buildOrSkip(t, w, Options{Seed: 1, Batch: 16, Limit: 256})
	mtr, _, err := data.MNIST(256)
	if err != nil {
		t.Fatal(err)
	}
	ftr, _, err := data.FashionMNIST(256)
	if err != nil {
		t.Skip(err)
	}
	mk, fk := rowKeys(mtr), rowKeys(ftr)
	ph, ok := s.Data.(*Phases)
	if !ok || !slices.Equal(ph.Names, []string{"mnist", "fashion"}) || len(ph.Validators) != 2 {
		t.Fatalf("data %T %+v, want *Phases of mnist and fashion", s.Data, ph)
	}
	var b train.Batch
	for k := range 8 {
		if err := s.Data.Next(&b); err != nil {
			t.Fatal(err)
		}
		for i := range 16 {
			row := fmt.Sprint(b.Inputs.Data[i*784 : (i+1)*784])
			inM, inF := mk[row], fk[row]
			if (k < 4 && (!inM || inF)) || (k >= 4 && (!inF || inM)) {
				t.Fatalf("batch %d row %d: in MNIST %v, in Fashion %v", k, i, inM, inF)
			}
		}
	}
	// A fresh model is near chance on both; the current-phase validator
	// after the switch equals the Fashion validator.
	cur, _, err := s.Validate(context.Background(), s.Model)
	if err != nil {
		t.Fatal(err)
	}
	fl, fa, err := ph.Validators[1](context.Background(), s.Model)
	if err != nil {
		t.Fatal(err)
	}
	if cur != fl || fa > 0.3 || math.IsNaN(fl) {
		t.Errorf("current-phase loss %v, fashion loss %v accuracy %v", cur, fl, fa)
	}
}

// TestPermutedTasks: task 0 is MNIST as it is, task k a fixed permutation
// of its pixels, the same for every run seed.
func TestPermutedTasks(t *testing.T) {
	if p := taskPermutation(0, 5); !slices.Equal(p, []int{0, 1, 2, 3, 4}) {
		t.Errorf("task 0 permutation %v", p)
	}
	p1, p2 := taskPermutation(1, 784), taskPermutation(2, 784)
	if slices.Equal(p1, p2) || !slices.Equal(p1, taskPermutation(1, 784)) {
		t.Error("task permutations: not distinct or not deterministic")
	}
	sorted := slices.Clone(p1)
	slices.Sort(sorted)
	for i, v := range sorted {
		if v != i {
			t.Fatalf("task 1's permutation is not a bijection: %d at %d", v, i)
		}
	}
	s := &data.Set{Name: "x", D: 3, Classes: 2, X: []float32{1, 2, 3, 4, 5, 6}, Y: []int32{0, 1}}
	if got := permuted(s, []int{2, 0, 1}); !slices.Equal(got.X, []float32{3, 1, 2, 6, 4, 5}) {
		t.Errorf("permuted rows %v", got.X)
	}
	w, err := PermutedMNIST(PermutedOptions{Tasks: 3, StepsPerTask: 2, Hidden: 8, Train: 64})
	if err != nil {
		t.Fatal(err)
	}
	st := buildOrSkip(t, w, Options{Seed: 1, Batch: 4})
	ph := st.Data.(*Phases)
	if !slices.Equal(ph.At, []int64{2, 4}) || len(ph.Validators) != 3 {
		t.Errorf("phases at %v with %d validators, want [2 4] and 3", ph.At, len(ph.Validators))
	}
	var inv int
	for _, p := range st.Model.Params() {
		if p.ScaleInvariant {
			inv++
		}
	}
	if inv != 2 {
		t.Errorf("%d scale-invariant parameters, want fc1.w and fc2.w", inv)
	}
}

// TestKJVTestaments: the split falls at Matthew 1:1, both parts share the
// whole book's vocabulary, and decoding gives back the text.
func TestKJVTestaments(t *testing.T) {
	vocab, ot, nt, err := KJVTestaments(40_000)
	if err != nil {
		t.Skipf("KJV text: %v", err)
	}
	if ot.Decode(ot.Train[:6]) != "Ge1:1 " || nt.Decode(nt.Train[:7]) != "Mat1:1 " {
		t.Errorf("old starts %q, new starts %q", ot.Decode(ot.Train[:6]), nt.Decode(nt.Train[:7]))
	}
	if !slices.Equal(ot.Vocab, vocab) || !slices.Equal(nt.Vocab, vocab) {
		t.Error("the testaments do not share the book's vocabulary")
	}
	if got := len(ot.Train) + len(ot.Val); got != 40_000 {
		t.Errorf("old testament: %d tokens, want the limit 40000", got)
	}
}

// TestContinualKJVSwitch: windows before the switch come from the Old
// Testament, after it from the New.
func TestContinualKJVSwitch(t *testing.T) {
	w, err := ContinualKJV(ContinualOptions{SwitchAt: 2}, GPTConfig{Context: 32, Dim: 16, Heads: 2, Layers: 1, FFN: 32}, 4)
	if err != nil {
		t.Fatal(err)
	}
	s := buildOrSkip(t, w, Options{Seed: 1, Limit: 60_000})
	_, ot, nt, err := KJVTestaments(60_000)
	if err != nil {
		t.Fatal(err)
	}
	oldText, newText := ot.Decode(ot.Train), nt.Decode(nt.Train)
	var b train.Batch
	for k := range 4 {
		if err := s.Data.Next(&b); err != nil {
			t.Fatal(err)
		}
		for i := range 4 {
			ids := make([]uint8, 32)
			for j := range ids {
				ids[j] = uint8(b.Inputs.Data[i*32+j])
			}
			win := ot.Decode(ids)
			inOld, inNew := strings.Contains(oldText, win), strings.Contains(newText, win)
			if (k < 2 && !inOld) || (k >= 2 && !inNew) {
				t.Fatalf("batch %d window %d %q: in old %v, in new %v", k, i, win, inOld, inNew)
			}
		}
	}
	ph := s.Data.(*Phases)
	if !slices.Equal(ph.Names, []string{"old-testament", "new-testament"}) {
		t.Errorf("phases %v", ph.Names)
	}
	l, _, err := ph.Validators[1](context.Background(), s.Model)
	if err != nil || math.Abs(l-math.Log(float64(len(ot.Vocab)))) > 1 {
		t.Errorf("untrained new-testament loss %v (%v), want about log(vocab) = %v", l, err, math.Log(float64(len(ot.Vocab))))
	}
}
