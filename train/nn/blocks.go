package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// NewMLP returns Dense–ReLU–…–Dense through the given widths (sizes[0] is
// the input width, the last the number of outputs). Hidden weights use He
// initialisation, N(0, 2/in); the last layer N(0, 1/in).
func NewMLP(sizes []int, rng *rand.Rand) (*Sequential, error) {
	if len(sizes) < 2 {
		return nil, fmt.Errorf("mlp: %d widths, want at least input and output", len(sizes))
	}
	s := &Sequential{}
	for i := 0; i+1 < len(sizes); i++ {
		if sizes[i] <= 0 || sizes[i+1] <= 0 {
			return nil, fmt.Errorf("mlp: width %d is %d, want > 0", i, sizes[i])
		}
		d := NewDense(fmt.Sprintf("fc%d", i), sizes[i], sizes[i+1], rng)
		s.Layers = append(s.Layers, d)
		if i+2 < len(sizes) {
			for j := range d.W.W.Data {
				d.W.W.Data[j] *= math.Sqrt2
			}
			s.Layers = append(s.Layers, &ReLU{})
		}
	}
	return s, nil
}

// NewTransformerBlock returns a pre-norm decoder block on [B, T, dim]:
//
//	x = x + Attention(LayerNorm(x))
//	x = x + Dense(GELU(Dense(LayerNorm(x))))   (hidden width ffn)
func NewTransformerBlock(name string, dim, heads, ffn int, rng *rand.Rand) (*Sequential, error) {
	att, err := NewCausalSelfAttention(name+".att", dim, heads, rng)
	if err != nil {
		return nil, err
	}
	return NewSequential(
		NewResidual(NewSequential(NewLayerNorm(name+".ln1", dim), att)),
		NewResidual(NewSequential(
			NewLayerNorm(name+".ln2", dim),
			NewDense(name+".ff1", dim, ffn, rng),
			&GELU{Overwrite: true}, // its dy is the next Dense's own input gradient
			NewDense(name+".ff2", ffn, dim, rng))),
	), nil
}

// NewDecoder returns a decoder-only character transformer: token and
// learned position embeddings, `layers` pre-norm blocks (NewTransformerBlock
// with hidden width ffn), a final LayerNorm and a Dense head to vocab
// logits. Input [B, T ≤ context] token ids, output [B, T, vocab].
func NewDecoder(vocab, context, dim, heads, ffn, layers int, rng *rand.Rand) (*Sequential, error) {
	if vocab <= 0 || context <= 0 || dim <= 0 || ffn <= 0 || layers < 0 {
		return nil, fmt.Errorf("decoder: vocab %d, context %d, width %d, ffn %d, layers %d: want positive sizes", vocab, context, dim, ffn, layers)
	}
	s := NewSequential(NewEmbedding("tok", vocab, dim, rng), NewPositionalEmbedding("pos", context, dim, rng))
	for i := 0; i < layers; i++ {
		b, err := NewTransformerBlock(fmt.Sprintf("block%d", i), dim, heads, ffn, rng)
		if err != nil {
			return nil, err
		}
		s.Layers = append(s.Layers, b)
	}
	s.Layers = append(s.Layers, NewLayerNorm("lnf", dim), NewDense("head", dim, vocab, rng))
	return s, nil
}
