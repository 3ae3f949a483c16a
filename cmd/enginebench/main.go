// Command enginebench times lrkit's training engine on one workload model
// for the side-by-side benchmark against PyTorch (bench/engine/run.sh):
// it builds the workload's model and data source, runs warm-up steps, times
// the next steps with AdamW at a constant rate, and prints one JSON line
// with steps/s and the process's peak resident memory.
//
//	go run ./cmd/enginebench --model mnist-mlp --batch 32 --steps 200
//	go run -tags openblas ./cmd/enginebench --model kjv-gpt --batch 32 --steps 20
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/schedule"
	"github.com/lrkit/lrkit/train"
	"github.com/lrkit/lrkit/train/nn"
	"github.com/lrkit/lrkit/workload"
)

// result is the JSON line the driver prints; torch_models.py prints the
// same fields.
type result struct {
	Impl      string  `json:"impl"`
	Model     string  `json:"model"`
	Batch     int     `json:"batch"`
	Steps     int     `json:"steps"`
	StepsPerS float64 `json:"steps_per_s"`
	PeakRSSMB float64 `json:"peak_rss_mb"`
	Params    int     `json:"params"`
	Vocab     int     `json:"vocab,omitempty"`
	FinalLoss float64 `json:"final_loss"`
	Threads   int     `json:"threads"`
}

func main() {
	model := flag.String("model", "mnist-mlp", "workload whose model to time: mnist-mlp or kjv-gpt")
	batch := flag.Int("batch", 32, "batch size")
	warm := flag.Int("warmup", 5, "untimed steps first")
	steps := flag.Int("steps", 50, "timed steps")
	lr := flag.Float64("lr", 1e-3, "AdamW learning rate")
	prof := flag.String("cpuprofile", "", "write a CPU profile of the timed steps to this file")
	memProf := flag.String("memprofile", "", "write a heap profile after the timed steps to this file")
	flag.Parse()
	if err := run(*model, *batch, *warm, *steps, *lr, *prof, *memProf); err != nil {
		fmt.Fprintln(os.Stderr, "enginebench:", err)
		os.Exit(1)
	}
}

func run(name string, batch, warm, steps int, lr float64, prof, memProf string) error {
	if steps <= 0 || warm < 0 {
		return fmt.Errorf("--steps %d and --warmup %d, want > 0 and ≥ 0", steps, warm)
	}
	w, err := workload.Lookup(name)
	if err != nil {
		return err
	}
	ctx := context.Background()
	// The timed steps need a few batches of data, not the whole set: a
	// slice keeps the data set's memory out of the engine's peak RSS (the
	// PyTorch side trains on a pool of 8 random batches).
	limit := 8 * batch
	if name == "kjv-gpt" {
		limit = 0 // 4.4 MB of text as bytes; the model needs its whole vocabulary
	}
	s, err := w.Build(ctx, workload.Options{Seed: 1, Batch: batch, Limit: limit})
	if err != nil {
		return err
	}
	opt, err := workload.NewOptimizer("adamw", 0.01)
	if err != nil {
		return err
	}
	sched, err := schedule.New(schedule.Constant{Peak: lr})
	if err != nil {
		return err
	}
	tr, err := train.New(train.Config{Model: s.Model, Data: s.Data, Optimizer: opt, Controller: control.NewFixed(sched),
		Steps: int64(warm + steps), ClipNorm: w.ClipNorm, Seed: 1})
	if err != nil {
		return err
	}
	for range warm {
		if _, err := tr.Step(ctx); err != nil {
			return err
		}
	}
	if prof != "" {
		f, err := os.Create(prof)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	var last float64
	for range steps {
		r, err := tr.Step(ctx)
		if err != nil {
			return err
		}
		last = r.Loss
	}
	el := time.Since(start).Seconds()
	if memProf != "" {
		f, err := os.Create(memProf)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.WriteHeapProfile(f); err != nil {
			return err
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return err
	}
	res := result{Impl: "lrkit-" + nn.Backend(), Model: name, Batch: batch, Steps: steps, StepsPerS: float64(steps) / el,
		PeakRSSMB: float64(ru.Maxrss) / 1024, Params: nn.NumParams(s.Model.Params()), FinalLoss: last,
		Threads: runtime.GOMAXPROCS(0)}
	if name == "kjv-gpt" {
		res.Vocab = s.Model.Params()[0].W.Shape[0]
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}
