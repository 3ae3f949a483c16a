package nn

import (
	"fmt"
	"math"
)

// SoftmaxCrossEntropy is the mean cross-entropy of softmax(logits) against
// integer labels. Logits are read as a matrix [N, C] (leading dimensions
// flattened, so [B, T, V] language-model logits pair with B·T labels):
//
//	loss = (1/N) Σ_i (logsumexp(z_i) − z_i[y_i])
//	dz_i = (softmax(z_i) − onehot(y_i)) / N
type SoftmaxCrossEntropy struct {
	grad Tensor
}

// Loss returns the mean loss and keeps dloss/dlogits for Grad. A label
// outside [0, C) or a label count different from N is an error.
func (s *SoftmaxCrossEntropy) Loss(logits *Tensor, labels []int32) (float64, error) {
	n, c := logits.Rows(), logits.Cols()
	if len(labels) != n {
		return 0, fmt.Errorf("cross-entropy: %d labels for %d rows of logits %v", len(labels), n, logits.Shape)
	}
	s.grad.resizeLike(logits)
	inv := 1 / float64(n)
	var total float64
	for i, y := range labels {
		if y < 0 || int(y) >= c {
			return 0, fmt.Errorf("cross-entropy: label %d is %d, want a class in [0, %d)", i, y, c)
		}
		z := logits.Data[i*c : (i+1)*c]
		g := s.grad.Data[i*c : (i+1)*c]
		m := z[0]
		for _, v := range z[1:] {
			m = max(m, v)
		}
		var sum float64
		for j, v := range z {
			e := math.Exp(float64(v - m))
			g[j] = float32(e)
			sum += e
		}
		total += math.Log(sum) + float64(m) - float64(z[y])
		f := float32(inv / sum)
		for j := range g {
			g[j] *= f
		}
		g[y] -= float32(inv)
	}
	return total * inv, nil
}

// Grad returns dloss/dlogits from the last Loss call.
func (s *SoftmaxCrossEntropy) Grad() *Tensor { return &s.grad }

// Correct counts the rows whose largest logit is at the label (ties go to
// the lowest class).
func Correct(logits *Tensor, labels []int32) int {
	c := logits.Cols()
	n := 0
	for i, y := range labels {
		z := logits.Data[i*c : (i+1)*c]
		best := 0
		for j, v := range z {
			if v > z[best] {
				best = j
			}
		}
		if int32(best) == y {
			n++
		}
	}
	return n
}
