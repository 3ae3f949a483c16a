package workload

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/lrkit/lrkit/train"
	"github.com/lrkit/lrkit/train/nn"
	"github.com/lrkit/lrkit/workload/data"
)

// ClassSource serves batches of a classification set in a fresh random
// order each epoch. The order of epoch e is a shuffle by a generator
// seeded with (seed, e), so the position (epoch, index) is the whole
// state. Batches run across epoch boundaries and are always full.
type ClassSource struct {
	set   *data.Set
	batch int
	shape []int // input shape: [batch, per-example dims...]
	seed  uint64
	epoch int64
	pos   int
	perm  []int
	pcg   *rand.PCG
	rng   *rand.Rand
}

// NewClassSource serves set in batches of batch examples shaped
// [batch, exampleShape...] (exampleShape nil: [batch, D]).
func NewClassSource(set *data.Set, batch int, exampleShape []int, seed uint64) (*ClassSource, error) {
	if batch <= 0 {
		return nil, fmt.Errorf("batch size %d, want > 0", batch)
	}
	if set.Len() == 0 {
		return nil, fmt.Errorf("%s: no examples", set.Name)
	}
	if exampleShape == nil {
		exampleShape = []int{set.D}
	}
	n := 1
	for _, d := range exampleShape {
		n *= d
	}
	if n != set.D {
		return nil, fmt.Errorf("%s: example shape %v holds %d values, the set has %d features", set.Name, exampleShape, n, set.D)
	}
	s := &ClassSource{set: set, batch: batch, shape: append([]int{batch}, exampleShape...), seed: seed,
		perm: make([]int, set.Len()), pcg: rand.NewPCG(seed, 0)}
	s.rng = rand.New(s.pcg)
	s.shuffle()
	return s, nil
}

func (s *ClassSource) shuffle() {
	for i := range s.perm {
		s.perm[i] = i
	}
	s.pcg.Seed(s.seed, uint64(s.epoch))
	s.rng.Shuffle(len(s.perm), func(i, j int) { s.perm[i], s.perm[j] = s.perm[j], s.perm[i] })
}

// Next fills b with the next batch, reusing its storage.
func (s *ClassSource) Next(b *train.Batch) error {
	if b.Inputs == nil {
		b.Inputs = &nn.Tensor{}
	}
	b.Inputs.Resize(s.shape...)
	b.Labels = b.Labels[:0]
	b.Examples = s.batch
	d := s.set.D
	for i := range s.batch {
		if s.pos == len(s.perm) {
			s.epoch++
			s.pos = 0
			s.shuffle()
		}
		k := s.perm[s.pos]
		s.pos++
		copy(b.Inputs.Data[i*d:(i+1)*d], s.set.Row(k))
		b.Labels = append(b.Labels, s.set.Y[k])
	}
	return nil
}

type classState struct {
	Epoch int64 `json:"epoch"`
	Pos   int   `json:"pos"`
}

// State returns the position as JSON {"epoch":e,"pos":i}.
func (s *ClassSource) State() ([]byte, error) {
	return json.Marshal(classState{Epoch: s.epoch, Pos: s.pos})
}

// Restore moves to a position that State returned.
func (s *ClassSource) Restore(state []byte) error {
	var st classState
	if err := json.Unmarshal(state, &st); err != nil {
		return fmt.Errorf("%s data position: %w", s.set.Name, err)
	}
	if st.Epoch < 0 || st.Pos < 0 || st.Pos > len(s.perm) {
		return fmt.Errorf("%s data position: epoch %d index %d is outside 0..%d", s.set.Name, st.Epoch, st.Pos, len(s.perm))
	}
	s.epoch, s.pos = st.Epoch, st.Pos
	s.shuffle()
	return nil
}

// ClassValidator returns a validator that runs the model over set in
// chunks of at most chunk examples (inputs shaped [n, exampleShape...],
// viewed in place, not copied) and returns the mean cross-entropy and the
// metric: the accuracy for Accuracy, the mean cross-entropy again for Loss.
func ClassValidator(set *data.Set, chunk int, exampleShape []int, metric Metric) train.Validator {
	if exampleShape == nil {
		exampleShape = []int{set.D}
	}
	return func(ctx context.Context, m nn.Layer) (float64, float64, error) {
		var ce nn.SoftmaxCrossEntropy
		var loss float64
		correct := 0
		x := &nn.Tensor{}
		for lo := 0; lo < set.Len(); lo += chunk {
			if err := ctx.Err(); err != nil {
				return 0, 0, err
			}
			hi := min(lo+chunk, set.Len())
			x.Data = set.X[lo*set.D : hi*set.D]
			x.Shape = append(append(x.Shape[:0], hi-lo), exampleShape...)
			out, err := m.Forward(x)
			if err != nil {
				return 0, 0, err
			}
			l, err := ce.Loss(out, set.Y[lo:hi])
			if err != nil {
				return 0, 0, err
			}
			loss += l * float64(hi-lo)
			correct += nn.Correct(out, set.Y[lo:hi])
		}
		n := float64(set.Len())
		if !metric.HigherIsBetter {
			return loss / n, loss / n, nil
		}
		return loss / n, float64(correct) / n, nil
	}
}

// TextSource serves language-model batches: batch windows of context+1
// consecutive tokens starting at uniformly random positions, the first
// context as inputs [batch, context] and the last context as labels. The
// starts of batch k come from a generator seeded with (seed, k), so the
// batch counter is the whole state.
type TextSource struct {
	tokens         []uint8
	batch, context int
	seed           uint64
	k              uint64
	pcg            *rand.PCG
	rng            *rand.Rand
}

// NewTextSource serves windows of tokens.
func NewTextSource(tokens []uint8, batch, context int, seed uint64) (*TextSource, error) {
	if batch <= 0 || context <= 0 {
		return nil, fmt.Errorf("batch %d and context %d, want > 0", batch, context)
	}
	if len(tokens) < context+2 {
		return nil, fmt.Errorf("%d training tokens, want more than context %d + 1", len(tokens), context)
	}
	p := rand.NewPCG(seed, 0)
	return &TextSource{tokens: tokens, batch: batch, context: context, seed: seed, pcg: p, rng: rand.New(p)}, nil
}

// Next fills b with the next batch.
func (s *TextSource) Next(b *train.Batch) error {
	if b.Inputs == nil {
		b.Inputs = &nn.Tensor{}
	}
	T := s.context
	b.Inputs.Resize(s.batch, T)
	b.Labels = b.Labels[:0]
	b.Examples = s.batch
	s.pcg.Seed(s.seed, s.k)
	s.k++
	for i := range s.batch {
		start := s.rng.IntN(len(s.tokens) - T)
		w := s.tokens[start : start+T+1]
		row := b.Inputs.Data[i*T : (i+1)*T]
		for j := range T {
			row[j] = float32(w[j])
			b.Labels = append(b.Labels, int32(w[j+1]))
		}
	}
	return nil
}

type textState struct {
	Batch uint64 `json:"batch"`
}

// State returns the batch counter as JSON {"batch":k}.
func (s *TextSource) State() ([]byte, error) { return json.Marshal(textState{Batch: s.k}) }

// Restore sets the batch counter from State's JSON.
func (s *TextSource) Restore(state []byte) error {
	var st textState
	if err := json.Unmarshal(state, &st); err != nil {
		return fmt.Errorf("text data position: %w", err)
	}
	s.k = st.Batch
	return nil
}

// TextValidator returns a validator over windows evenly spaced through
// tokens (windows of them of seqLen+1 tokens, or fewer if the text is
// short), evaluated in
// chunks of chunk windows. Both returned values are the mean cross-entropy
// per predicted character, in nats.
func TextValidator(tokens []uint8, seqLen, windows, chunk int) (train.Validator, error) {
	span := len(tokens) - seqLen - 1
	if seqLen <= 0 || chunk <= 0 || span < 0 {
		return nil, fmt.Errorf("%d validation tokens for context %d and chunk %d, want context, chunk > 0 and more tokens than the context", len(tokens), seqLen, chunk)
	}
	windows = max(1, min(windows, span+1))
	var inputs []*nn.Tensor
	var labels [][]int32
	for lo := 0; lo < windows; lo += chunk {
		hi := min(lo+chunk, windows)
		x := nn.NewTensor(hi-lo, seqLen)
		var y []int32
		for i := lo; i < hi; i++ {
			start := 0
			if windows > 1 {
				start = i * span / (windows - 1)
			}
			w := tokens[start : start+seqLen+1]
			for j := range seqLen {
				x.Data[(i-lo)*seqLen+j] = float32(w[j])
				y = append(y, int32(w[j+1]))
			}
		}
		inputs = append(inputs, x)
		labels = append(labels, y)
	}
	return func(ctx context.Context, m nn.Layer) (float64, float64, error) {
		var ce nn.SoftmaxCrossEntropy
		var total float64
		var n int
		for i, x := range inputs {
			if err := ctx.Err(); err != nil {
				return 0, 0, err
			}
			out, err := m.Forward(x)
			if err != nil {
				return 0, 0, err
			}
			l, err := ce.Loss(out, labels[i])
			if err != nil {
				return 0, 0, err
			}
			total += l * float64(len(labels[i]))
			n += len(labels[i])
		}
		return total / float64(n), total / float64(n), nil
	}, nil
}
