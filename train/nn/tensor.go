package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Tensor is a dense row-major float32 array. Data holds the values and
// Shape the dimensions; len(Data) is the product of Shape. Layers own the
// tensors they return and overwrite them on the next call, so a caller who
// needs a value past the next Forward or Backward must copy it.
type Tensor struct {
	Data  []float32
	Shape []int
}

// NewTensor returns a zero tensor of the given shape.
func NewTensor(shape ...int) *Tensor {
	t := &Tensor{}
	t.Resize(shape...)
	return t
}

// Len returns the number of elements, the product of the shape.
func (t *Tensor) Len() int { return len(t.Data) }

// Rows returns the product of all dimensions but the last: the number of
// rows when the tensor is read as a matrix with Cols columns.
func (t *Tensor) Rows() int {
	if len(t.Shape) == 0 {
		return 0
	}
	return len(t.Data) / t.Shape[len(t.Shape)-1]
}

// Cols returns the last dimension.
func (t *Tensor) Cols() int {
	if len(t.Shape) == 0 {
		return 0
	}
	return t.Shape[len(t.Shape)-1]
}

// Resize gives t the shape, reusing its storage when it is large enough, so
// that a buffer resized to sizes it has held before does not allocate. The
// values after Resize are unspecified; use Zero to clear them.
func (t *Tensor) Resize(shape ...int) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if cap(t.Data) >= n {
		t.Data = t.Data[:n]
	} else {
		t.Data = make([]float32, n)
	}
	if cap(t.Shape) >= len(shape) {
		t.Shape = t.Shape[:len(shape)]
	} else {
		t.Shape = make([]int, len(shape))
	}
	copy(t.Shape, shape)
}

// resizeLike gives t the shape of u.
func (t *Tensor) resizeLike(u *Tensor) { t.Resize(u.Shape...) }

// Zero sets every element to 0.
func (t *Tensor) Zero() { clear(t.Data) }

// CopyFrom makes t an exact copy of u (shape and values).
func (t *Tensor) CopyFrom(u *Tensor) {
	t.resizeLike(u)
	copy(t.Data, u.Data)
}

// String describes the shape, for error messages.
func (t *Tensor) String() string { return fmt.Sprintf("tensor%v", t.Shape) }

// Norm2 returns the L2 (Frobenius) norm, accumulated in float64.
func (t *Tensor) Norm2() float64 { return math.Sqrt(SumSquares(t.Data)) }

// Param is a trainable parameter: its value W, the gradient G of the loss
// with respect to W (same shape), and flags the optimizers and the trainer
// read.
type Param struct {
	Name string
	W    *Tensor
	G    *Tensor
	// NoDecay exempts the parameter from weight decay (biases, gains).
	NoDecay bool
	// ScaleInvariant marks a weight whose layer output is followed by a
	// normalisation, so that the loss does not change when W is scaled:
	// the trainer reports its effective learning rate and, with
	// Normalize-and-Project on, projects it back to its initial norm.
	ScaleInvariant bool
}

func newParam(name string, noDecay bool, shape ...int) *Param {
	return &Param{Name: name, W: NewTensor(shape...), G: NewTensor(shape...), NoDecay: noDecay}
}

// ZeroGrads clears the gradients of ps.
func ZeroGrads(ps []*Param) {
	for _, p := range ps {
		p.G.Zero()
	}
}

// NumParams returns the number of scalar parameters in ps.
func NumParams(ps []*Param) int {
	n := 0
	for _, p := range ps {
		n += p.W.Len()
	}
	return n
}

// fillNormal fills t with N(0, std²) draws from rng.
func fillNormal(t *Tensor, std float64, rng *rand.Rand) {
	for i := range t.Data {
		t.Data[i] = float32(rng.NormFloat64() * std)
	}
}
