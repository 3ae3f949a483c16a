package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/scaling"
	"github.com/lrkit/lrkit/schedule"
	"github.com/lrkit/lrkit/train"
	"github.com/lrkit/lrkit/workload"
)

// The kjv-gpt scaling sweep: widths, run lengths, and the batch and
// context that fix the tokens per step.
var (
	kjvWidths    = []int{32, 48, 64, 96}
	kjvDurations = []int64{300, 600, 1200}
	kjvPeaks     = []float64{1e-3, 2e-3, 4e-3}
)

const (
	kjvBatch      = 16
	kjvContext    = 64
	kjvSelectSeed = 100
)

func kjvShape(proc string, steps int64) schedule.Schedule {
	w := steps / 20
	if proc == "cosine" {
		return schedule.Warmup{Base: schedule.Cosine{Peak: 1, Floor: 0.1, Steps: steps - w}, Steps: w, Prefix: true}
	}
	return schedule.WSD{Peak: 1, Steps: steps, Warmup: schedule.Steps(w), Decay: schedule.Fraction(0.2), Shape: "linear"}
}

// runKJVScaling trains the sweep and writes its points (groups cosine,
// wsd and constant) as a CSV for `lrkit scaling --points`.
func runKJVScaling(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("kjv-scaling", flag.ContinueOnError)
	out := fs.String("out", "out/papers/kjv-scaling", "run logs and points.csv")
	if err := fs.Parse(args); err != nil {
		return err
	}
	peaks := map[string]float64{}
	for _, proc := range []string{"cosine", "wsd"} {
		p, err := kjvTune(ctx, proc, *out)
		if err != nil {
			return err
		}
		peaks[proc] = p
		fmt.Fprintf(os.Stderr, "%s: peak %g chosen on seed %d\n", proc, p, kjvSelectSeed)
	}
	var pts []scaling.Point
	for _, width := range kjvWidths {
		for _, proc := range []string{"cosine", "wsd"} {
			for _, steps := range kjvDurations {
				r, err := kjvRun(ctx, width, proc, steps, peaks[proc], 1, *out)
				if err != nil {
					return err
				}
				tokens := float64(steps * kjvBatch * kjvContext)
				pts = append(pts, scaling.Point{Group: proc, N: r.params, D: tokens, Loss: r.final})
				if proc == "wsd" && steps == kjvDurations[len(kjvDurations)-1] {
					pts = append(pts, r.constant...)
				}
			}
		}
	}
	f, err := os.Create(filepath.Join(*out, "points.csv"))
	if err != nil {
		return err
	}
	if err := scaling.WritePoints(f, pts); err != nil {
		f.Close()
		return err
	}
	fmt.Fprintf(os.Stderr, "peaks: cosine %g, wsd %g\n", peaks["cosine"], peaks["wsd"])
	return f.Close()
}

// kjvResult is one sweep run: its parameter count, final validation loss
// and, for the longest WSD run, the constant-phase validation losses.
type kjvResult struct {
	params, final float64
	constant      []scaling.Point
}

func kjvRun(ctx context.Context, width int, proc string, steps int64, peak float64, seed uint64, out string) (kjvResult, error) {
	w, err := workload.KJVGPTSized(workload.GPTConfig{Context: kjvContext, Dim: width, Heads: 4, Layers: 2, FFN: 4 * width}, kjvBatch)
	if err != nil {
		return kjvResult{}, err
	}
	var params float64
	j := job{w: w, shape: kjvShape(proc, steps), peak: peak, steps: steps, seed: seed, every: kjvDurations[0],
		log: filepath.Join(out, fmt.Sprintf("d%d", width), fmt.Sprintf("%s-T%d-p%s-s%d.csv", proc, steps, peakName(peak), seed)),
		config: func(cfg *train.Config, s *workload.Setup) error {
			for _, p := range s.Model.Params() {
				params += float64(p.W.Len())
			}
			return nil
		}}
	recs, err := j.run(ctx)
	if err != nil {
		return kjvResult{}, err
	}
	if params == 0 { // the run was read back: count the parameters
		cfg, _, err := w.TrainConfig(ctx, workload.TrainOptions{Options: workload.Options{Seed: seed, Limit: 200000}})
		if err != nil {
			return kjvResult{}, err
		}
		for _, p := range cfg.Model.Params() {
			params += float64(p.W.Len())
		}
	}
	r := kjvResult{params: params, final: finalVal(recs, steps)}
	if math.IsNaN(r.final) {
		return r, fmt.Errorf("%s: no final validation loss (diverged?)", j.log)
	}
	decay := steps - int64(math.Round(0.2*float64(steps)))
	for _, rec := range recs {
		if rec.Has(runlog.FieldValLoss) && rec.Step+1 <= decay {
			r.constant = append(r.constant, scaling.Point{Group: "constant", N: params, D: float64((rec.Step + 1) * kjvBatch * kjvContext), Loss: rec.ValLoss})
		}
	}
	return r, nil
}

// kjvTune picks a procedure's peak at width 64 and the shortest length on
// the selection seed from kjvPeaks, doubling past the grid's top (up to
// three times) while the best peak is the largest tried.
func kjvTune(ctx context.Context, proc string, out string) (float64, error) {
	grid := append([]float64(nil), kjvPeaks...)
	best, peak := math.Inf(1), 0.0
	for i := 0; i < len(grid); i++ {
		r, err := kjvRun(ctx, 64, proc, kjvDurations[0], grid[i], kjvSelectSeed, out)
		if err != nil && !strings.Contains(err.Error(), "no final validation loss") {
			return 0, err
		}
		if err == nil && r.final < best {
			best, peak = r.final, grid[i]
		}
		if i == len(grid)-1 && peak == grid[i] && len(grid) < len(kjvPeaks)+3 {
			grid = append(grid, 2*grid[i])
		}
	}
	return peak, nil
}
