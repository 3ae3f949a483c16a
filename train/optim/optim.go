// Package optim holds the optimizers lrkit trains with: SGD (momentum,
// Nesterov, coupled weight decay), Adam, AdamW (decoupled weight decay),
// the learning-rate-free baselines Schedule-Free SGD/AdamW and Prodigy
// (spec adaptive.md §9), and global gradient clipping.
//
// Every optimizer takes the learning rate of each step from outside (a
// controller), updates the parameters in place from their gradients, and
// serialises its whole state with MarshalBinary so that a checkpoint
// resumes to the identical next step. Parameters flagged NoDecay get no
// weight decay.
package optim

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math"

	"github.com/lrkit/lrkit/train/nn"
)

// Optimizer updates parameters from their gradients.
type Optimizer interface {
	// Step applies one update with learning rate lr to ps, reading ps[i].G.
	// ps must be the same list, in the same order, at every step.
	Step(ps []*nn.Param, lr float64) error
	// Name is a short description with the hyperparameters.
	Name() string
	// EffectiveLRPower is p in η_eff = η/‖W‖ᵖ for a scale-invariant
	// weight (spec §5): 2 for SGD-like updates, 1 for Adam-like ones.
	EffectiveLRPower() int
	// MarshalBinary returns the whole state; UnmarshalBinary restores it
	// into an optimizer built with the same hyperparameters.
	MarshalBinary() ([]byte, error)
	UnmarshalBinary([]byte) error
}

// EvalSwapper is implemented by optimizers whose parameters hold a
// training point that differs from the point to evaluate (Schedule-Free:
// y during training, x for evaluation). The trainer calls SwapToEval before
// validation and SwapToTrain after it.
type EvalSwapper interface {
	SwapToEval(ps []*nn.Param)
	SwapToTrain(ps []*nn.Param)
}

// ClipGlobalNorm returns the L2 norm of all gradients together and, when
// it exceeds maxNorm > 0, scales every gradient by maxNorm/norm.
func ClipGlobalNorm(ps []*nn.Param, maxNorm float64) float64 {
	var s float64
	for _, p := range ps {
		s += nn.SumSquares(p.G.Data)
	}
	norm := math.Sqrt(s)
	if maxNorm > 0 && norm > maxNorm {
		f := float32(maxNorm / norm)
		for _, p := range ps {
			for i := range p.G.Data {
				p.G.Data[i] *= f
			}
		}
	}
	return norm
}

// buffers returns per-parameter float32 buffers shaped like ps, creating
// them (zero) on first use, or an error if ps changed shape.
func buffers(name string, bufs *[][]float32, ps []*nn.Param) error {
	if *bufs == nil {
		*bufs = make([][]float32, len(ps))
		for i, p := range ps {
			(*bufs)[i] = make([]float32, p.W.Len())
		}
		return nil
	}
	if len(*bufs) != len(ps) {
		return fmt.Errorf("%s: state holds %d parameters, step got %d", name, len(*bufs), len(ps))
	}
	for i, p := range ps {
		if len((*bufs)[i]) != p.W.Len() {
			return fmt.Errorf("%s: parameter %d (%s) has %d values, state holds %d", name, i, p.Name, p.W.Len(), len((*bufs)[i]))
		}
	}
	return nil
}

func encode(name string, v any) ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(v); err != nil {
		return nil, fmt.Errorf("%s: encode state: %w", name, err)
	}
	return b.Bytes(), nil
}

func decode(name string, data []byte, v any) error {
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(v); err != nil {
		return fmt.Errorf("%s: decode state: %w", name, err)
	}
	return nil
}
