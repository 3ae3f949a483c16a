package train_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/schedule"
	"github.com/lrkit/lrkit/train"
	"github.com/lrkit/lrkit/train/nn"
	"github.com/lrkit/lrkit/train/optim"
)

// constant is a one-line schedule for the example.
type constant float64

func (c constant) LR(int64) float64 { return float64(c) }
func (c constant) String() string   { return fmt.Sprintf("constant(%g)", float64(c)) }

var _ schedule.Schedule = constant(0)

// xorData serves the four XOR points as one batch, forever.
type xorData struct{}

func (xorData) Next(b *train.Batch) error {
	if b.Inputs == nil {
		b.Inputs = nn.NewTensor(4, 2)
		copy(b.Inputs.Data, []float32{0, 0, 0, 1, 1, 0, 1, 1})
		b.Labels = []int32{0, 1, 1, 0}
	}
	return nil
}
func (xorData) State() ([]byte, error) { return []byte{}, nil }
func (xorData) Restore([]byte) error   { return nil }

func ExampleTrainer() {
	model, err := nn.NewMLP([]int{2, 16, 2}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	var first, last runlog.Record
	tr, err := train.New(train.Config{
		Model: model, Data: xorData{}, Optimizer: optim.NewAdam(),
		Controller: control.NewFixed(constant(0.05)), Steps: 300, Seed: 1,
		OnRecord: func(r runlog.Record) error {
			if r.Step == 0 {
				first = r
			}
			last = r
			return nil
		},
	})
	if err != nil {
		panic(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		panic(err)
	}
	fmt.Println("steps:", tr.StepsDone(), "examples:", last.ExamplesSeen, "lr:", last.LR)
	fmt.Println("loss fell below a tenth:", last.Loss < first.Loss/10)
	// Output:
	// steps: 300 examples: 1200 lr: 0.05
	// loss fell below a tenth: true
}
