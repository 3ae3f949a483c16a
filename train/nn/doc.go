// Package nn is lrkit's numeric engine: float32 tensors and layers with
// explicit forward and backward kernels. Matrix products run on the
// blocked product of package internal/matmul in the default, pure-Go
// build (an AVX2/FMA assembly micro-kernel on x86-64 machines that have
// them, a Go one elsewhere), or on OpenBLAS through gonum's blas32 with the
// build tag openblas; see Backend.
//
// Every layer states its gradients in its doc comment and is checked
// against central finite differences in the tests. Layers keep their
// buffers between calls, so a training step allocates nothing once each
// batch size has been seen.
//
// The API in brief:
//
//	Tensor{Data []float32; Shape []int}      row-major values
//	Param{Name, W, G, NoDecay, ScaleInvariant}
//	Layer interface { Forward(*Tensor) (*Tensor, error); Backward(*Tensor) *Tensor; Params() []*Param }
//	layers: Dense, ReLU, GELU (tanh form), LayerNorm, Embedding,
//	        PositionalEmbedding, CausalSelfAttention, Residual, Conv2D,
//	        MaxPool2D, Flatten, Sequential
//	builders: NewMLP, NewTransformerBlock, NewDecoder
//	loss: SoftmaxCrossEntropy (mean over rows, integer labels), Correct
//
// A training step is
//
//	nn.ZeroGrads(ps)
//	logits, err := model.Forward(x)
//	loss, err := ce.Loss(logits, labels)
//	model.Backward(ce.Grad())
//	// then an optimizer from package optim updates ps
//
// Large jobs (attention heads, GELU, LayerNorm rows, Adam updates) are
// split into a fixed number of chunks run on a process-wide pool of
// GOMAXPROCS worker goroutines (ParallelChunks); results are bit-identical
// to a serial run and independent of the core count; so are the matrix
// products, which large layers split across the same pool. A training
// step allocates nothing in this package, in either build.
//
// Inputs are [B, features] for an MLP, [B, C, H, W] for convolutions and
// [B, T] token ids stored as float32 for an Embedding.
package nn
