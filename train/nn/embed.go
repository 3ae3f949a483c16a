package nn

import (
	"fmt"
	"math/rand/v2"
)

// Embedding maps token ids to vectors: the input [B, T] holds ids as
// float32 values (exact for ids below 2²⁴), the output [B, T, Dim] holds
// row id of the table E [Vocab, Dim] at each position.
//
// Gradient: dE[id] += dy[b, t] for every position holding id; the input
// gets no gradient (Backward returns nil).
type Embedding struct {
	Vocab, Dim int
	E          *Param
	ids        []int32
	y          Tensor
	shape      []int
}

// NewEmbedding returns an embedding table drawn from N(0, 1), so that a
// LayerNorm after it sees unit-scale inputs.
func NewEmbedding(name string, vocab, dim int, rng *rand.Rand) *Embedding {
	e := &Embedding{Vocab: vocab, Dim: dim, E: newParam(name+".e", true, vocab, dim)}
	fillNormal(e.E.W, 1, rng)
	return e
}

// Forward looks up each id; an id that is not an integer in [0, Vocab)
// is an error.
func (e *Embedding) Forward(x *Tensor) (*Tensor, error) {
	n := x.Len()
	e.ids = grow(e.ids, n)
	for i, v := range x.Data {
		id := int32(v)
		if float32(id) != v || id < 0 || int(id) >= e.Vocab {
			return nil, fmt.Errorf("embedding %s: input %d is %v, want an integer id in [0, %d)", e.E.Name, i, v, e.Vocab)
		}
		e.ids[i] = id
	}
	e.shape = append(append(e.shape[:0], x.Shape...), e.Dim)
	e.y.Resize(e.shape...)
	d := e.Dim
	for i, id := range e.ids {
		copy(e.y.Data[i*d:(i+1)*d], e.E.W.Data[int(id)*d:(int(id)+1)*d])
	}
	return &e.y, nil
}

// Backward scatters dy into the rows of dE. It returns nil: ids have no
// gradient, so Embedding must be the first layer.
func (e *Embedding) Backward(dy *Tensor) *Tensor {
	d := e.Dim
	g := e.E.G.Data
	for i, id := range e.ids {
		row := g[int(id)*d : (int(id)+1)*d]
		for j, v := range dy.Data[i*d : (i+1)*d] {
			row[j] += v
		}
	}
	return nil
}

// Params returns the table.
func (e *Embedding) Params() []*Param { return []*Param{e.E} }

// PositionalEmbedding adds a learned vector per position:
// y[b, t] = x[b, t] + P[t] for an input [B, T, Dim] with T ≤ Context.
// Gradients: dP[t] += Σ_b dy[b, t], dx = dy.
type PositionalEmbedding struct {
	Context, Dim int
	P            *Param
	y            Tensor
	t            int
}

// NewPositionalEmbedding returns position vectors drawn from N(0, 1).
func NewPositionalEmbedding(name string, context, dim int, rng *rand.Rand) *PositionalEmbedding {
	p := &PositionalEmbedding{Context: context, Dim: dim, P: newParam(name+".p", true, context, dim)}
	fillNormal(p.P.W, 1, rng)
	return p
}

// Forward adds P[t] at position t.
func (p *PositionalEmbedding) Forward(x *Tensor) (*Tensor, error) {
	if len(x.Shape) != 3 || x.Shape[2] != p.Dim || x.Shape[1] > p.Context {
		return nil, fmt.Errorf("positional embedding %s: input %v, want [B, T≤%d, %d]", p.P.Name, x.Shape, p.Context, p.Dim)
	}
	p.t = x.Shape[1]
	p.y.resizeLike(x)
	td := p.t * p.Dim
	for b := 0; b < x.Shape[0]; b++ {
		xs, ys := x.Data[b*td:(b+1)*td], p.y.Data[b*td:(b+1)*td]
		for i, v := range xs {
			ys[i] = v + p.P.W.Data[i]
		}
	}
	return &p.y, nil
}

// Backward accumulates dP and returns dy unchanged.
func (p *PositionalEmbedding) Backward(dy *Tensor) *Tensor {
	td := p.t * p.Dim
	g := p.P.G.Data[:td]
	for b := 0; b < dy.Len()/td; b++ {
		for i, v := range dy.Data[b*td : (b+1)*td] {
			g[i] += v
		}
	}
	return dy
}

// Params returns P.
func (p *PositionalEmbedding) Params() []*Param { return []*Param{p.P} }
