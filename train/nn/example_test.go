package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/lrkit/lrkit/train/nn"
)

// One forward and backward pass of a Dense layer with the loss.
func Example() {
	d := nn.NewDense("fc", 2, 3, rand.New(rand.NewPCG(1, 1)))
	copy(d.W.W.Data, []float32{1, 0, 0, 0, 1, 0}) // logits = [x0, x1, 0]
	x := nn.NewTensor(1, 2)
	copy(x.Data, []float32{0, 0})
	logits, err := d.Forward(x)
	if err != nil {
		panic(err)
	}
	var ce nn.SoftmaxCrossEntropy
	loss, err := ce.Loss(logits, []int32{2})
	if err != nil {
		panic(err)
	}
	nn.ZeroGrads(d.Params())
	d.Backward(ce.Grad())
	fmt.Printf("loss %.4f (ln 3), db %.4f\n", loss, d.B.G.Data)
	// Output:
	// loss 1.0986 (ln 3), db [0.3333 0.3333 -0.6667]
}
