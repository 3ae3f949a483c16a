package fed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/lrkit/lrkit/train/nn"
	"github.com/lrkit/lrkit/workload"
	"github.com/lrkit/lrkit/workload/data"
)

// Datasets lists the data sets a federation can partition.
var Datasets = []string{"mnist", "fashion-mnist"}

// EnvSpec says how to build what the clients of a federation share: the
// data set and its Dirichlet partition, the model and its initial weights,
// the local batch size and optimizer, and the server's evaluation set. It
// travels with every task, so a client process can build the same
// environment as the server from it alone.
type EnvSpec struct {
	Dataset string `json:"dataset"` // mnist or fashion-mnist
	// Limit, if > 0, keeps only the first Limit training and test examples
	// (smoke tests).
	Limit     int     `json:"limit,omitempty"`
	Clients   int     `json:"clients"`
	Dirichlet float64 `json:"dirichlet"` // α of the label partition
	MinShard  int     `json:"min_shard"` // fewest examples a client may get
	// Model is "logistic" (one dense layer), "mlp:H1,H2,…" (ReLU hidden
	// layers of those widths) or the name of a workload whose model is
	// used (mnist-mlp, fashion-cnn).
	Model       string  `json:"model"`
	Batch       int     `json:"batch"`
	Optimizer   string  `json:"optimizer"` // a name workload.NewOptimizer accepts; fresh every local round
	WeightDecay float64 `json:"weight_decay,omitempty"`
	// EvalExamples is the size of the server's evaluation set, a fixed
	// random subset of the test set (0: all of it).
	EvalExamples int `json:"eval_examples,omitempty"`
	// Seed draws the partition, the initial model and the clients' data
	// orders.
	Seed uint64 `json:"seed"`
}

// key is a canonical text of the spec, for caching environments.
func (s EnvSpec) key() string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Validate checks the spec's fields.
func (s EnvSpec) Validate() error {
	known := false
	for _, d := range Datasets {
		known = known || d == s.Dataset
	}
	switch {
	case !known:
		return fmt.Errorf("unknown dataset %q (have %s)", s.Dataset, strings.Join(Datasets, ", "))
	case s.Limit < 0:
		return fmt.Errorf("limit %d, want ≥ 0", s.Limit)
	case s.Clients < 1 || s.Clients > 10000:
		return fmt.Errorf("clients %d, want 1..10000", s.Clients)
	case !(s.Dirichlet > 0) || math.IsInf(s.Dirichlet, 0):
		return fmt.Errorf("dirichlet alpha %v, want a finite number > 0", s.Dirichlet)
	case s.MinShard < 1:
		return fmt.Errorf("min shard %d, want ≥ 1", s.MinShard)
	case s.Batch < 1:
		return fmt.Errorf("batch %d, want ≥ 1", s.Batch)
	case s.EvalExamples < 0:
		return fmt.Errorf("eval examples %d, want ≥ 0", s.EvalExamples)
	case s.WeightDecay < 0 || math.IsNaN(s.WeightDecay) || math.IsInf(s.WeightDecay, 0):
		return fmt.Errorf("weight decay %v, want a finite number ≥ 0", s.WeightDecay)
	}
	if _, err := workload.NewOptimizer(s.Optimizer, s.WeightDecay); err != nil {
		return err
	}
	if _, err := parseModel(s.Model); err != nil {
		return err
	}
	return nil
}

// ImageWorkloads are the workloads whose models take 28×28 images, which
// EnvSpec.Model may name.
var ImageWorkloads = []string{"mnist-mlp", "fashion-cnn"}

// modelSpec is a parsed EnvSpec.Model.
type modelSpec struct {
	hidden   []int  // mlp widths (empty: logistic)
	workload string // a workload's model
}

func parseModel(m string) (modelSpec, error) {
	switch {
	case m == "logistic":
		return modelSpec{}, nil
	case strings.HasPrefix(m, "mlp:"):
		var ms modelSpec
		for _, f := range strings.Split(strings.TrimPrefix(m, "mlp:"), ",") {
			w, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || w < 1 || w > 1<<16 {
				return modelSpec{}, fmt.Errorf("model %q: hidden width %q, want an integer in 1..65536", m, f)
			}
			ms.hidden = append(ms.hidden, w)
		}
		return ms, nil
	}
	if !slices.Contains(ImageWorkloads, m) {
		return modelSpec{}, fmt.Errorf("model %q: want logistic, mlp:<widths> or the model of a workload on 28×28 images (%s)", m, strings.Join(ImageWorkloads, ", "))
	}
	return modelSpec{workload: m}, nil
}

// Env is a built environment: the clients' shards, the evaluation set and
// the initial global model. It is safe for concurrent use; models are
// taken from a free list so that concurrent local rounds do not share one.
type Env struct {
	Spec   EnvSpec
	Shards []*data.Set
	Val    *data.Set
	// Shape is the input shape of one example as the model takes it
	// ([784] for a dense model, [1 28 28] for a convolutional one).
	Shape []int
	// Init is the initial global model, flattened.
	Init []float32

	ms      modelSpec
	classes int
	mu      sync.Mutex
	free    []nn.Layer
}

// Weights returns each client's share of the training examples, n_i/n.
func (e *Env) Weights() []float64 {
	w := make([]float64, len(e.Shards))
	n := 0
	for _, s := range e.Shards {
		n += s.Len()
	}
	for i, s := range e.Shards {
		w[i] = float64(s.Len()) / float64(n)
	}
	return w
}

// NumParams returns the number of model parameters.
func (e *Env) NumParams() int { return len(e.Init) }

// newModel builds a model with the initial weights of the spec's seed.
func (e *Env) newModel(ctx context.Context) (nn.Layer, error) {
	rng := rand.New(rand.NewPCG(e.Spec.Seed, 0x6d6f64656c))
	if e.ms.workload != "" {
		w, err := workload.Lookup(e.ms.workload)
		if err != nil {
			return nil, err
		}
		s, err := w.Build(ctx, workload.Options{Seed: e.Spec.Seed, Limit: 1})
		if err != nil {
			return nil, err
		}
		return s.Model, nil
	}
	widths := append(append([]int{e.Val.D}, e.ms.hidden...), e.classes)
	return nn.NewMLP(widths, rng)
}

// getModel returns a model from the free list, or a new one.
func (e *Env) getModel(ctx context.Context) (nn.Layer, error) {
	e.mu.Lock()
	if n := len(e.free); n > 0 {
		m := e.free[n-1]
		e.free = e.free[:n-1]
		e.mu.Unlock()
		return m, nil
	}
	e.mu.Unlock()
	return e.newModel(ctx)
}

func (e *Env) putModel(m nn.Layer) {
	e.mu.Lock()
	e.free = append(e.free, m)
	e.mu.Unlock()
}

// Evaluate returns the mean cross-entropy and the accuracy of the model
// with the given weights on the evaluation set.
func (e *Env) Evaluate(ctx context.Context, weights []float32) (loss, acc float64, err error) {
	m, err := e.getModel(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer e.putModel(m)
	if err := unflatten(m.Params(), weights); err != nil {
		return 0, 0, err
	}
	return workload.ClassValidator(e.Val, 500, e.Shape, workload.Accuracy)(ctx, m)
}

// evalSeed fixes the evaluation subset of the test set: every run of every
// seed is scored on the same examples.
const evalSeed = 20260511

// Envs builds environments and caches them, and the data sets they are
// cut from, by spec. An environment holds a copy of its data set (the
// shards), so the cache keeps only the MaxEnvs most recently used ones
// (4 by default); an evicted one is rebuilt, identically, when asked for
// again. It is safe for concurrent use.
type Envs struct {
	// MaxEnvs bounds the cached environments (4 when ≤ 0).
	MaxEnvs int

	mu   sync.Mutex
	sets map[string][2]*data.Set
	envs map[string]*Env
	used []string // keys of envs, least recently used first
}

// NewEnvs returns an empty cache.
func NewEnvs() *Envs {
	return &Envs{sets: map[string][2]*data.Set{}, envs: map[string]*Env{}}
}

// touch marks key as the most recently used and evicts beyond MaxEnvs.
func (c *Envs) touch(key string) {
	if i := slices.Index(c.used, key); i >= 0 {
		c.used = slices.Delete(c.used, i, i+1)
	}
	c.used = append(c.used, key)
	limit := c.MaxEnvs
	if limit <= 0 {
		limit = 4
	}
	for len(c.used) > limit {
		delete(c.envs, c.used[0])
		c.used = c.used[1:]
	}
}

// Get returns the environment for spec, building it on first use.
func (c *Envs) Get(ctx context.Context, spec EnvSpec) (*Env, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("fed environment: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.envs[spec.key()]; ok {
		c.touch(spec.key())
		return e, nil
	}
	dkey := fmt.Sprintf("%s/%d", spec.Dataset, spec.Limit)
	sets, ok := c.sets[dkey]
	if !ok {
		var tr, te *data.Set
		var err error
		switch spec.Dataset {
		case "mnist":
			tr, te, err = data.MNIST(spec.Limit)
		case "fashion-mnist":
			tr, te, err = data.FashionMNIST(spec.Limit)
		}
		if err != nil {
			return nil, fmt.Errorf("fed environment: %w", err)
		}
		sets = [2]*data.Set{tr, te}
		c.sets[dkey] = sets
	}
	e, err := buildEnv(ctx, spec, sets[0], sets[1])
	if err != nil {
		return nil, fmt.Errorf("fed environment: %w", err)
	}
	c.envs[spec.key()] = e
	c.touch(spec.key())
	return e, nil
}

func buildEnv(ctx context.Context, spec EnvSpec, tr, te *data.Set) (*Env, error) {
	ms, err := parseModel(spec.Model)
	if err != nil {
		return nil, err
	}
	parts, err := DirichletPartition(tr.Y, tr.Classes, spec.Clients, spec.Dirichlet, spec.MinShard, spec.Seed)
	if err != nil {
		return nil, err
	}
	e := &Env{Spec: spec, ms: ms, classes: tr.Classes}
	for i, p := range parts {
		e.Shards = append(e.Shards, tr.Subset(fmt.Sprintf("%s/client%d", tr.Name, i), p))
	}
	e.Val = te
	if n := spec.EvalExamples; n > 0 && n < te.Len() {
		perm := rand.New(rand.NewPCG(evalSeed, 0)).Perm(te.Len())[:n]
		e.Val = te.Subset(te.Name+"/eval", perm)
	}
	m, err := e.newModel(ctx)
	if err != nil {
		return nil, err
	}
	// The model takes flat vectors if its first layer accepts one, else
	// the examples' own shape (a convolutional model).
	e.Shape = []int{tr.D}
	probe := nn.NewTensor(1, tr.D)
	if _, err := m.Forward(probe); err != nil {
		probe = nn.NewTensor(append([]int{1}, tr.Shape...)...)
		if _, err2 := m.Forward(probe); err2 != nil {
			return nil, fmt.Errorf("model %s takes neither [1 %d] nor %v inputs: %w", spec.Model, tr.D, probe.Shape, errors.Join(err, err2))
		}
		e.Shape = append([]int(nil), tr.Shape...)
	}
	e.Init = flatten(m.Params(), nil)
	e.free = append(e.free, m)
	return e, nil
}
