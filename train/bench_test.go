package train

import (
	"context"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/train/nn"
	"github.com/lrkit/lrkit/train/optim"
)

// fixedData serves the same batch every step: no allocation, no copying.
type fixedData struct{ b Batch }

func (f *fixedData) Next(b *Batch) error        { *b = f.b; return nil }
func (f *fixedData) State() ([]byte, error)     { return []byte{}, nil }
func (f *fixedData) Restore(state []byte) error { return nil }

func mlpTrainer(tb testing.TB, batch int, steps int64) *Trainer {
	rng := rand.New(rand.NewPCG(1, 1))
	model, err := nn.NewMLP([]int{784, 256, 256, 10}, rng)
	if err != nil {
		tb.Fatal(err)
	}
	x := nn.NewTensor(batch, 784)
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	labels := make([]int32, batch)
	for i := range labels {
		labels[i] = int32(rng.IntN(10))
	}
	tr, err := New(Config{Model: model, Data: &fixedData{Batch{Inputs: x, Labels: labels}},
		Optimizer: optim.NewAdam(), Controller: control.NewFixed(linearDecay{1e-3, steps + 1}), Steps: steps})
	if err != nil {
		tb.Fatal(err)
	}
	return tr
}

func decoderTrainer(tb testing.TB, batch, context, width int, steps int64) *Trainer {
	rng := rand.New(rand.NewPCG(1, 1))
	const vocab = 96
	model, err := nn.NewDecoder(vocab, context, width, 4, 4*width, 1, rng)
	if err != nil {
		tb.Fatal(err)
	}
	x := nn.NewTensor(batch, context)
	labels := make([]int32, batch*context)
	for i := range x.Data {
		x.Data[i] = float32(rng.IntN(vocab))
		labels[i] = int32(rng.IntN(vocab))
	}
	tr, err := New(Config{Model: model, Data: &fixedData{Batch{Inputs: x, Labels: labels}},
		Optimizer: optim.NewAdamW(0.01), Controller: control.NewFixed(linearDecay{1e-3, steps + 1}), Steps: steps})
	if err != nil {
		tb.Fatal(err)
	}
	return tr
}

func benchSteps(b *testing.B, tr *Trainer) {
	ctx := context.Background()
	if _, err := tr.Step(ctx); err != nil { // first step sizes the buffers
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := tr.Step(ctx); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time of the whole process (all threads, BLAS included) per step:
	// on a shared machine it is steadier than wall time.
	b.ReportMetric((cpuTime()-cpu0).Seconds()*1e3/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
}

// BenchmarkMLPStep is one Adam step of the 784-256-256-10 ReLU MLP.
func BenchmarkMLPStep(b *testing.B) {
	for _, batch := range []int{128, 32} {
		b.Run(map[int]string{128: "B=128", 32: "B=32"}[batch], func(b *testing.B) {
			benchSteps(b, mlpTrainer(b, batch, int64(b.N)+1))
		})
	}
}

// BenchmarkTransformerStep is one AdamW step of a one-block pre-norm
// decoder (width 128, 4 heads, FFN 512, vocabulary 96) at batch 32 and
// context 128, embeddings and head included.
func BenchmarkTransformerStep(b *testing.B) {
	benchSteps(b, decoderTrainer(b, 32, 128, 128, int64(b.N)+1))
}

// TestStepDoesNotAllocate: once buffers are sized, a training step
// allocates nothing in lrkit's code. The sizes keep every Gemm below
// gonum's parallel threshold, whose goroutines allocate (and OpenBLAS runs
// in C), so the count is exactly 0.
func TestStepDoesNotAllocate(t *testing.T) {
	cases := map[string]*Trainer{
		"decoder": decoderTrainer(t, 2, 8, 16, 100),
	}
	rng := rand.New(rand.NewPCG(2, 2))
	mlp, err := nn.NewMLP([]int{20, 32, 8}, rng)
	if err != nil {
		t.Fatal(err)
	}
	x := nn.NewTensor(16, 20)
	cnn := nn.NewSequential(nn.NewConv2D("c", 1, 4, 3, 1, rng), &nn.ReLU{}, &nn.MaxPool2D{K: 2}, &nn.Flatten{}, nn.NewDense("d", 4*4*4, 3, rng))
	xc := nn.NewTensor(4, 1, 8, 8)
	for name, m := range map[string]struct {
		model nn.Layer
		x     *nn.Tensor
		n     int
		opt   optim.Optimizer
	}{
		"mlp-sgd": {mlp, x, 16, &optim.SGD{Momentum: 0.9}},
		"cnn-sf":  {cnn, xc, 4, optim.NewScheduleFreeAdamW(0)},
	} {
		tr, err := New(Config{Model: m.model, Data: &fixedData{Batch{Inputs: m.x, Labels: make([]int32, m.n)}},
			Optimizer: m.opt, Controller: control.NewFixed(linearDecay{1e-3, 1000}), Steps: 100})
		if err != nil {
			t.Fatal(err)
		}
		cases[name] = tr
	}
	if nn.Backend() == "openblas" {
		// Full-size models take the parallel paths; OpenBLAS's Gemm runs
		// in C, so here too a step allocates nothing. (gonum's pure-Go
		// Gemm starts goroutines that allocate.)
		cases["mlp-784-256-256-10"] = mlpTrainer(t, 128, 100)
		cases["decoder-32x128x128"] = decoderTrainer(t, 32, 128, 128, 100)
	}
	for name, tr := range cases {
		if _, err := tr.Step(context.Background()); err != nil {
			t.Fatal(err)
		}
		runs := 20
		if testing.Short() || name == "decoder-32x128x128" {
			runs = 2
		}
		allocs := testing.AllocsPerRun(runs, func() {
			if _, err := tr.Step(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per step, want 0", name, allocs)
		}
	}
}

// BenchmarkCNNStep is one Adam step of a Fashion-MNIST-sized CNN (conv 1→16
// and 16→32, 3×3, each with ReLU and 2×2 max-pooling, then 1568-128-10) at
// batch 128.
func BenchmarkCNNStep(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	model := nn.NewSequential(
		nn.NewConv2D("conv1", 1, 16, 3, 1, rng), &nn.ReLU{}, &nn.MaxPool2D{K: 2},
		nn.NewConv2D("conv2", 16, 32, 3, 1, rng), &nn.ReLU{}, &nn.MaxPool2D{K: 2},
		&nn.Flatten{}, nn.NewDense("fc1", 32*7*7, 128, rng), &nn.ReLU{}, nn.NewDense("fc2", 128, 10, rng))
	const batch = 128
	x := nn.NewTensor(batch, 1, 28, 28)
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	labels := make([]int32, batch)
	for i := range labels {
		labels[i] = int32(rng.IntN(10))
	}
	tr, err := New(Config{Model: model, Data: &fixedData{Batch{Inputs: x, Labels: labels}},
		Optimizer: optim.NewAdam(), Controller: control.NewFixed(linearDecay{1e-3, int64(b.N) + 2}), Steps: int64(b.N) + 1})
	if err != nil {
		b.Fatal(err)
	}
	benchSteps(b, tr)
}

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
