package nn

import (
	"errors"
	"fmt"
)

// Layer is one differentiable stage of a model. Forward computes the output
// for a batch and remembers what Backward needs; Backward takes the
// gradient of the loss with respect to that output, adds the gradients of
// the layer's parameters into their G tensors (it accumulates: call
// ZeroGrads before each step) and returns the gradient with respect to the
// input. Backward must follow the Forward whose output it differentiates.
//
// A layer owns the tensors it returns and reuses them: after the first
// batch of each size, Forward and Backward do not allocate.
type Layer interface {
	Forward(x *Tensor) (*Tensor, error)
	Backward(dy *Tensor) *Tensor
	Params() []*Param
}

// Sequential applies its layers in order; it is itself a Layer, so blocks
// nest.
type Sequential struct {
	Layers []Layer
}

// NewSequential returns the composition of layers, first applied first.
func NewSequential(layers ...Layer) *Sequential { return &Sequential{Layers: layers} }

// Forward runs each layer on the previous one's output.
func (s *Sequential) Forward(x *Tensor) (*Tensor, error) {
	var err error
	for i, l := range s.Layers {
		if x, err = l.Forward(x); err != nil {
			return nil, fmt.Errorf("layer %d (%T): %w", i, l, err)
		}
	}
	return x, nil
}

// Backward runs the layers' Backward in reverse order (chain rule).
func (s *Sequential) Backward(dy *Tensor) *Tensor {
	for i := len(s.Layers) - 1; i >= 0; i-- {
		dy = s.Layers[i].Backward(dy)
	}
	return dy
}

// Params returns every layer's parameters, in layer order.
func (s *Sequential) Params() []*Param {
	var ps []*Param
	for _, l := range s.Layers {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// Residual computes y = x + Inner(x), the skip connection of a pre-norm
// transformer block. Backward: dx = dy + Inner.Backward(dy).
type Residual struct {
	Inner  Layer
	y, dx  Tensor
	inputX *Tensor
}

// NewResidual wraps inner in a skip connection.
func NewResidual(inner Layer) *Residual { return &Residual{Inner: inner} }

// Forward returns x + Inner(x); Inner must keep the shape.
func (r *Residual) Forward(x *Tensor) (*Tensor, error) {
	h, err := r.Inner.Forward(x)
	if err != nil {
		return nil, err
	}
	if h.Len() != x.Len() {
		return nil, fmt.Errorf("residual: inner layer maps %v to %v, want the same shape", x.Shape, h.Shape)
	}
	r.inputX = x
	r.y.resizeLike(x)
	for i, v := range x.Data {
		r.y.Data[i] = v + h.Data[i]
	}
	return &r.y, nil
}

// Backward returns dy + Inner.Backward(dy).
func (r *Residual) Backward(dy *Tensor) *Tensor {
	dh := r.Inner.Backward(dy)
	r.dx.resizeLike(dy)
	for i, v := range dy.Data {
		r.dx.Data[i] = v + dh.Data[i]
	}
	return &r.dx
}

// Params returns the inner layer's parameters.
func (r *Residual) Params() []*Param { return r.Inner.Params() }

// Flatten reshapes [B, d1, d2, ...] to [B, d1·d2·...]. The output shares
// storage with the input (no copy); Backward reshapes back.
type Flatten struct {
	y, dx   Tensor
	inShape []int
}

// Forward returns x viewed as a matrix with one row per example.
func (f *Flatten) Forward(x *Tensor) (*Tensor, error) {
	if len(x.Shape) < 2 {
		return nil, errors.New("flatten: input needs at least 2 dimensions")
	}
	f.inShape = append(f.inShape[:0], x.Shape...)
	f.y.Data = x.Data
	f.y.Shape = append(f.y.Shape[:0], x.Shape[0], len(x.Data)/x.Shape[0])
	return &f.y, nil
}

// Backward returns dy viewed with the input's shape.
func (f *Flatten) Backward(dy *Tensor) *Tensor {
	f.dx.Data = dy.Data
	f.dx.Shape = append(f.dx.Shape[:0], f.inShape...)
	return &f.dx
}

// Params returns nil: Flatten has no parameters.
func (f *Flatten) Params() []*Param { return nil }
