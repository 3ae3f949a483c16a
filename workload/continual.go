package workload

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/lrkit/lrkit/train"
	"github.com/lrkit/lrkit/train/nn"
	"github.com/lrkit/lrkit/workload/data"
)

// Phases is a training source whose data distribution changes at given
// steps: phase 0 serves until At[0], phase 1 until At[1], and so on. With
// Replay > 0, from the first switch on a fraction Replay of the rows of
// every batch (rounded to whole examples) is drawn from phase 0's source
// instead, the rest from the current phase: replay of the old data.
// Validators holds one validator per phase, for measuring forgetting
// (phase 0 after the switch) and adaptation (the current phase); a
// workload's Setup.Data is a *Phases when it shifts.
type Phases struct {
	Names      []string
	Sources    []train.Data
	Validators []train.Validator
	At         []int64 // first step of phases 1, 2, ...; increasing
	Replay     float64
	k          int64 // batches served
	seed       uint64
	old, cur   train.Batch
}

// NewPhases checks and returns a phased source.
func NewPhases(names []string, srcs []train.Data, vals []train.Validator, at []int64, replay float64, seed uint64) (*Phases, error) {
	if len(srcs) == 0 || len(names) != len(srcs) || len(vals) != len(srcs) || len(at) != len(srcs)-1 {
		return nil, fmt.Errorf("phases: %d names, %d sources, %d validators and %d switch steps, want n, n, n and n−1 with n ≥ 1", len(names), len(srcs), len(vals), len(at))
	}
	for i, a := range at {
		if a < 0 || (i > 0 && a <= at[i-1]) {
			return nil, fmt.Errorf("phases: switch steps %v, want increasing steps ≥ 0", at)
		}
	}
	if !(replay >= 0 && replay <= 1) {
		return nil, fmt.Errorf("phases: replay %v, want a fraction in [0, 1]", replay)
	}
	return &Phases{Names: names, Sources: srcs, Validators: vals, At: at, Replay: replay, seed: seed}, nil
}

// Phase returns the phase that serves batch (step) k.
func (p *Phases) Phase(k int64) int {
	n := 0
	for _, a := range p.At {
		if k >= a {
			n++
		}
	}
	return n
}

// Next fills b with the next batch: the current phase's, with its first
// rows replaced by phase 0's when replaying.
func (p *Phases) Next(b *train.Batch) error {
	ph := p.Phase(p.k)
	p.k++
	if ph == 0 || p.Replay == 0 {
		return p.Sources[ph].Next(b)
	}
	if p.Replay == 1 {
		return p.Sources[0].Next(b)
	}
	if err := p.Sources[ph].Next(&p.cur); err != nil {
		return err
	}
	if err := p.Sources[0].Next(&p.old); err != nil {
		return err
	}
	return mixRows(b, &p.old, &p.cur, p.Replay)
}

// mixRows fills b with the first round(f·B) rows of old and the remaining
// rows of cur (both batches of B rows with the same shape).
func mixRows(b, old, cur *train.Batch, f float64) error {
	rows := cur.Inputs.Shape[0]
	if old.Inputs.Shape[0] != rows || old.Inputs.Len() != cur.Inputs.Len() || len(old.Labels) != len(cur.Labels) {
		return fmt.Errorf("phases: replay batch %v with %d labels does not match %v with %d", old.Inputs.Shape, len(old.Labels), cur.Inputs.Shape, len(cur.Labels))
	}
	m := int(math.Round(f * float64(rows)))
	per, lab := cur.Inputs.Len()/rows, len(cur.Labels)/rows
	if b.Inputs == nil {
		b.Inputs = &nn.Tensor{}
	}
	b.Inputs.Resize(cur.Inputs.Shape...)
	copy(b.Inputs.Data[:m*per], old.Inputs.Data[:m*per])
	copy(b.Inputs.Data[m*per:], cur.Inputs.Data[m*per:])
	b.Labels = append(append(b.Labels[:0], old.Labels[:m*lab]...), cur.Labels[m*lab:]...)
	b.Examples = cur.Examples
	return nil
}

type phasesState struct {
	K       int64             `json:"k"`
	Sources []json.RawMessage `json:"sources"`
}

// State returns the batch counter and every phase source's state.
func (p *Phases) State() ([]byte, error) {
	st := phasesState{K: p.k}
	for i, s := range p.Sources {
		b, err := s.State()
		if err != nil {
			return nil, fmt.Errorf("phase %s: %w", p.Names[i], err)
		}
		st.Sources = append(st.Sources, b)
	}
	return json.Marshal(st)
}

// Restore sets the state State returned.
func (p *Phases) Restore(state []byte) error {
	var st phasesState
	if err := json.Unmarshal(state, &st); err != nil {
		return fmt.Errorf("phases position: %w", err)
	}
	if len(st.Sources) != len(p.Sources) || st.K < 0 {
		return fmt.Errorf("phases position: %d sources at batch %d, this source has %d", len(st.Sources), st.K, len(p.Sources))
	}
	for i, s := range p.Sources {
		if err := s.Restore(st.Sources[i]); err != nil {
			return fmt.Errorf("phase %s: %w", p.Names[i], err)
		}
	}
	p.k = st.K
	return nil
}

// ContinualOptions shape a continual workload.
type ContinualOptions struct {
	// SwitchAt is the step at which training moves to the new data; 0
	// trains on the new data (or the mixture, with Replay) from the start.
	SwitchAt int64
	// Replay is the fraction of each batch after the switch drawn from the
	// old data. SwitchAt 0 with Replay 0.5 trains from scratch on an even
	// mixture of both: the retraining baseline.
	Replay float64
}

// continualVal is the number of test examples each phase's validator uses.
const continualVal = 2000

// ContinualMNISTFashion is the continual workload "mnist-then-fashion":
// the mnist-mlp network (784-256-256-10, AdamW 1e-3) trained on MNIST
// until o.SwitchAt, then on Fashion-MNIST (both 28×28 grey images of 10
// classes, so the model is the same). Setup.Data is a *Phases whose
// validators measure accuracy on 2,000 test images of each; the
// workload's own validator measures the current phase's data.
func ContinualMNISTFashion(o ContinualOptions) (*Workload, error) {
	if o.SwitchAt < 0 || !(o.Replay >= 0 && o.Replay <= 1) {
		return nil, fmt.Errorf("mnist-then-fashion: switch at %d with replay %v, want a step ≥ 0 and a fraction in [0, 1]", o.SwitchAt, o.Replay)
	}
	name := "mnist-then-fashion"
	return &Workload{
		Name:        name,
		Description: fmt.Sprintf("784-256-256-10 MLP trained on MNIST, then from step %d on Fashion-MNIST (replay %g of each batch from MNIST); validation on the current task", o.SwitchAt, o.Replay),
		Metric:      Accuracy, Target: 0.8, StepHint: 2 * max(o.SwitchAt, 500), DefaultBatch: 128,
		DefaultOptimizer: "adamw", DefaultPeak: 1e-3, WeightDecay: 0.01, EvalEvery: 100,
		build: func(ctx context.Context, w *Workload, bo Options) (*Setup, error) {
			mtr, mte, err := data.MNIST(bo.Limit)
			if err != nil {
				return nil, err
			}
			ftr, fte, err := data.FashionMNIST(bo.Limit)
			if err != nil {
				return nil, err
			}
			model, err := nn.NewMLP([]int{784, 256, 256, 10}, modelRand(bo.Seed))
			if err != nil {
				return nil, err
			}
			return phasedSetup(model, []string{"mnist", "fashion"}, []*data.Set{mtr, ftr}, []*data.Set{mte, fte}, []int64{o.SwitchAt}, o.Replay, bo)
		},
	}, nil
}

// phasedSetup builds a Setup whose data are the phases' training sets in
// turn and whose validator follows the current phase.
func phasedSetup(model nn.Layer, names []string, trains, tests []*data.Set, at []int64, replay float64, o Options) (*Setup, error) {
	var srcs []train.Data
	var vals []train.Validator
	for i, tr := range trains {
		src, err := NewClassSource(tr, o.Batch, nil, dataSeed(o.Seed)+uint64(i))
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, src)
		vals = append(vals, ClassValidator(limitSet(tests[i], continualVal), 1000, nil, Accuracy))
	}
	s, err := phased(model, names, srcs, vals, at, replay, o.Seed, trains[0].Len())
	if err != nil {
		return nil, err
	}
	s.Val = continualVal
	return s, nil
}

// phased builds a Setup over phase sources whose validator follows the
// current phase (the phase of the last batch served).
func phased(model nn.Layer, names []string, srcs []train.Data, vals []train.Validator, at []int64, replay float64, seed uint64, trainLen int) (*Setup, error) {
	ph, err := NewPhases(names, srcs, vals, at, replay, seed)
	if err != nil {
		return nil, err
	}
	current := func(ctx context.Context, m nn.Layer) (float64, float64, error) {
		if ph.k == 0 {
			return ph.Validators[0](ctx, m)
		}
		return ph.Validators[ph.Phase(ph.k-1)](ctx, m)
	}
	return &Setup{Model: model, Data: ph, Validate: current, Train: trainLen, Val: 1}, nil
}

// PermutedOptions shape the permuted-MNIST plasticity workload.
type PermutedOptions struct {
	Tasks        int   // number of tasks (pixel permutations; task 0 is unpermuted)
	StepsPerTask int64 // training steps on each task
	Hidden       int   // width of the two hidden layers
	Train        int   // training images per task (the first of MNIST's)
}

// DefaultPermuted is permuted-mnist's shape: 5 tasks of 500 steps, width
// 128, 10,000 training images per task.
var DefaultPermuted = PermutedOptions{Tasks: 5, StepsPerTask: 500, Hidden: 128, Train: 10000}

// NormMLP returns the plasticity network: dense, LayerNorm, ReLU twice
// (sizes[0] → sizes[1] → sizes[2]) and a dense output layer to sizes[3].
// The weights of the dense layers followed by LayerNorm are flagged
// ScaleInvariant, so the trainer reports their effective learning rates
// and Normalize-and-Project keeps their norms.
func NormMLP(sizes [4]int, rng *rand.Rand) nn.Layer {
	fc1 := nn.NewDense("fc1", sizes[0], sizes[1], rng)
	fc2 := nn.NewDense("fc2", sizes[1], sizes[2], rng)
	fc1.W.ScaleInvariant, fc2.W.ScaleInvariant = true, true
	return nn.NewSequential(fc1, nn.NewLayerNorm("ln1", sizes[1]), &nn.ReLU{},
		fc2, nn.NewLayerNorm("ln2", sizes[2]), &nn.ReLU{}, nn.NewDense("out", sizes[2], sizes[3], rng))
}

// PermutedMNIST is the "permuted-mnist" workload: a sequence of tasks,
// each MNIST with its pixels shuffled by a fixed permutation (task 0
// unpermuted), StepsPerTask steps each, on NormMLP with Adam (no weight
// decay) at a constant 1e-3 by default. Setup.Data is a *Phases with one
// validator per task (2,000 test images through the task's permutation).
func PermutedMNIST(o PermutedOptions) (*Workload, error) {
	if o.Tasks < 1 || o.StepsPerTask < 1 || o.Hidden < 1 || o.Train < 1 {
		return nil, fmt.Errorf("permuted-mnist: options %+v, want positive values", o)
	}
	return &Workload{
		Name:        "permuted-mnist",
		Description: fmt.Sprintf("%d permuted-MNIST tasks of %d steps each (%d training images per task), MLP 784-%d-%d-10 with LayerNorm; validation on the current task", o.Tasks, o.StepsPerTask, o.Train, o.Hidden, o.Hidden),
		Metric:      Accuracy, Target: 0.9, StepHint: int64(o.Tasks) * o.StepsPerTask, DefaultBatch: 128,
		DefaultOptimizer: "adam", DefaultPeak: 1e-3, EvalEvery: o.StepsPerTask,
		build: func(ctx context.Context, w *Workload, bo Options) (*Setup, error) {
			n := o.Train
			if bo.Limit > 0 {
				n = min(n, bo.Limit)
			}
			tr, te, err := data.MNIST(max(n, continualVal))
			if err != nil {
				return nil, err
			}
			tr, te = limitSet(tr, n), limitSet(te, continualVal)
			var names []string
			var trains, tests []*data.Set
			var at []int64
			for k := range o.Tasks {
				perm := taskPermutation(k, tr.D)
				names = append(names, fmt.Sprintf("task%d", k))
				trains = append(trains, permuted(tr, perm))
				tests = append(tests, permuted(te, perm))
				if k > 0 {
					at = append(at, int64(k)*o.StepsPerTask)
				}
			}
			model := NormMLP([4]int{784, o.Hidden, o.Hidden, 10}, modelRand(bo.Seed))
			return phasedSetup(model, names, trains, tests, at, 0, bo)
		},
	}, nil
}

// taskPermutation is task k's pixel permutation: the identity for task 0,
// otherwise a shuffle seeded by k alone (the same for every run seed, so
// the tasks are the same across seeds).
func taskPermutation(k, d int) []int {
	p := make([]int, d)
	for i := range p {
		p[i] = i
	}
	if k > 0 {
		rng := rand.New(rand.NewPCG(uint64(k), 0x9e7))
		rng.Shuffle(d, func(i, j int) { p[i], p[j] = p[j], p[i] })
	}
	return p
}

// permuted returns a copy of s whose feature j is s's feature perm[j].
func permuted(s *data.Set, perm []int) *data.Set {
	out := &data.Set{Name: s.Name, D: s.D, Classes: s.Classes, Shape: s.Shape, Y: s.Y, X: make([]float32, len(s.X))}
	for i := range s.Len() {
		src, dst := s.Row(i), out.X[i*s.D:(i+1)*s.D]
		for j, q := range perm {
			dst[j] = src[q]
		}
	}
	return out
}

// shiftWorkloads are the default continual and plasticity workloads
// registered in All().
func shiftWorkloads() []*Workload {
	c, err := ContinualMNISTFashion(ContinualOptions{SwitchAt: 500})
	if err != nil {
		panic(err) // the options above are valid
	}
	p, err := PermutedMNIST(DefaultPermuted)
	if err != nil {
		panic(err)
	}
	return []*Workload{c, p}
}
