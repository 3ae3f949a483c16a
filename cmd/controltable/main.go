// Command controltable trains a workload under the schedules and
// controllers of package control and writes docs/control.md's comparison
// table: final validation metric of linear decay, cosine, refined-from-
// linear, plateau, Adam-HD, AutoLRS, Schedule-Free AdamW and Prodigy, for
// several seeds, with the compute each spent (AutoLRS's rolled-back search
// steps counted).
//
//	go run ./cmd/controltable -workload mnist-mlp -steps 600 -seeds 1,2,3 -out docs/control-table.md
//
// Refined-from-linear uses the L1 gradient norms (AdamW is Adam-type) of
// the linear run with the same seed, the same horizon and the same peak.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/schedule"
	"github.com/lrkit/lrkit/train"
	"github.com/lrkit/lrkit/workload"
)

// method is one row of the table: a controller built for a peak rate and
// a run length (nil for refined, which is built from the linear run).
type method struct {
	name, optimizer string
	ctrl            func(peak float64, steps int64) (control.Controller, error)
}

// fixed returns a method's controller that follows a schedule value.
func fixed(s schedule.Schedule) (control.Controller, error) {
	s, err := schedule.New(s)
	if err != nil {
		return nil, err
	}
	return control.NewFixed(s), nil
}

func methods() []method {
	return []method{
		{"linear decay", "adamw", func(p float64, n int64) (control.Controller, error) {
			return fixed(schedule.Linear{Peak: p, Steps: n})
		}},
		{"cosine", "adamw", func(p float64, n int64) (control.Controller, error) {
			return fixed(schedule.Cosine{Peak: p, Steps: n})
		}},
		{"refined from linear (L1)", "adamw", nil},
		{"plateau", "adamw", func(p float64, n int64) (control.Controller, error) {
			c := control.NewPlateau(schedule.Constant{Peak: p})
			c.Factor, c.Patience = 0.5, 1
			return c, nil
		}},
		{"Adam-HD", "adam", func(p float64, n int64) (control.Controller, error) { return control.NewAdamHD(p, 1e-7), nil }},
		{"AutoLRS", "adamw", func(p float64, n int64) (control.Controller, error) {
			tau := max(10, n/3) // candidates train tau/10 steps
			c := control.NewAutoLRS(p/100, p*100)
			c.Tau, c.TauMax = tau, 2*tau
			c.Reset()
			return c, nil
		}},
		{"Schedule-Free AdamW", "sfadamw", func(float64, int64) (control.Controller, error) {
			return fixed(schedule.Constant{Peak: 0.0025})
		}},
		{"Prodigy", "prodigy", func(float64, int64) (control.Controller, error) { return fixed(schedule.Constant{Peak: 1}) }},
	}
}

type result struct {
	metric  float64
	compute int64 // optimizer steps incl. search
	wall    float64
	note    string
	skipped bool
}

func main() {
	var (
		wname = flag.String("workload", "mnist-mlp", "workload")
		steps = flag.Int64("steps", 600, "steps per run")
		seeds = flag.String("seeds", "1,2,3", "comma-separated seeds")
		peak  = flag.Float64("peak", 0, "peak rate of the scheduled methods (0: the workload's default)")
		limit = flag.Int("limit", 0, "cap the examples read (0: all)")
		out   = flag.String("out", "", "write the markdown here (default: stdout)")
		only  = flag.String("only", "", "comma-separated method names to run (default: all)")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *wname, *steps, *seeds, *peak, *limit, *out, *only); err != nil {
		fmt.Fprintln(os.Stderr, "controltable:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, wname string, steps int64, seedList string, peak float64, limit int, out, only string) error {
	w, err := workload.Lookup(wname)
	if err != nil {
		return err
	}
	if peak == 0 {
		peak = w.DefaultPeak
	}
	var seeds []uint64
	for _, s := range strings.Split(seedList, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return fmt.Errorf("-seeds: %q is not a seed", s)
		}
		seeds = append(seeds, v)
	}
	ms := methods()
	res := make([][]result, len(ms))
	linearNorms := map[uint64][]float64{}
	start := time.Now()
	for mi, m := range ms {
		if only != "" && !strings.Contains(","+only+",", ","+m.name+",") && mi != 0 {
			res[mi] = nil
			continue
		}
		for _, seed := range seeds {
			var ctrl control.Controller
			if m.ctrl == nil {
				g, ok := linearNorms[seed]
				if !ok {
					return errors.New("refined needs the linear run of the same seed first")
				}
				lrs, err := control.Refine(g, control.RuleL1, control.RefineOptions{})
				if err != nil {
					return err
				}
				s, err := control.RefinedTable(lrs, peak)
				if err != nil {
					return err
				}
				ctrl = control.NewFixed(s)
			} else if ctrl, err = m.ctrl(peak, steps); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			r, recs, err := trainOne(ctx, w, m.optimizer, ctrl, steps, seed, limit)
			if err != nil {
				return fmt.Errorf("%s seed %d: %w", m.name, seed, err)
			}
			if mi == 0 {
				g, _, err := control.GradNormsOf(recs, control.RuleL1)
				if err != nil {
					return err
				}
				linearNorms[seed] = g
			}
			res[mi] = append(res[mi], r)
			fmt.Fprintf(os.Stderr, "[%5.0fs] %-26s seed %d: %s %.4f, %d steps computed %s\n",
				time.Since(start).Seconds(), m.name, seed, w.Metric.Name, r.metric, r.compute, r.note)
		}
	}
	var dst io.Writer = os.Stdout
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		dst = f
	}
	return writeTable(dst, w, ms, res, seeds, steps, peak, limit)
}

// trainOne trains one run of the table; the trainer runs a searching
// controller's (AutoLRS's) candidate steps itself and rolls them back, and
// compute counts them.
func trainOne(ctx context.Context, w *workload.Workload, optName string, ctrl control.Controller, steps int64, seed uint64, limit int) (result, []runlog.Record, error) {
	cfg, _, err := w.TrainConfig(ctx, workload.TrainOptions{Options: workload.Options{Seed: seed, Limit: limit},
		Optimizer: optName, EvalEvery: max(1, steps/10)})
	if err != nil {
		return result{}, nil, err
	}
	var recs []runlog.Record
	cfg.Controller, cfg.Steps = ctrl, steps
	cfg.OnRecord = func(r runlog.Record) error { recs = append(recs, r); return nil }
	tr, err := train.New(cfg)
	if err != nil {
		return result{}, nil, err
	}
	res := result{metric: math.NaN()}
	if err := tr.Run(ctx); err != nil {
		if !errors.Is(err, train.ErrDiverged) {
			return result{}, nil, err
		}
		res.note = "(diverged)"
	} else if last := recs[len(recs)-1]; last.Has(runlog.FieldValMetric) {
		res.metric = last.ValMetric
	}
	res.compute = int64(len(recs))
	if searcher, ok := ctrl.(control.Searcher); ok {
		res.compute += searcher.SearchSteps()
	}
	if len(recs) > 0 {
		res.wall = recs[len(recs)-1].WallSeconds
	}
	describe(ctrl, &res)
	return res, recs, nil
}

// describe notes what a learning controller did.
func describe(ctrl control.Controller, res *result) {
	if hd, ok := ctrl.(*control.HD); ok {
		st, _ := hd.State()
		if strings.Contains(string(st), `"steps":0`) {
			res.skipped = true
			res.note = "(the train loop never called ObserveGradient: HD ran at its initial rate)"
		} else {
			res.note = fmt.Sprintf("(final α %.3g)", hd.LR(0))
		}
	}
	if a, ok := ctrl.(*control.AutoLRS); ok {
		var ps []string
		for _, h := range a.History() {
			ps = append(ps, fmt.Sprintf("%.2g", h.LR))
			var cs []string
			for _, c := range h.Candidates {
				cs = append(cs, fmt.Sprintf("%.3g→%.3g (last %.3g)", c.LR, c.Forecast, c.Last))
			}
			fmt.Fprintf(os.Stderr, "  autolrs stage at %d: %s\n", h.Start, strings.Join(cs, ", "))
		}
		res.note = "(stage rates " + strings.Join(ps, ", ") + ")"
	}
}

func meanSD(xs []float64) (float64, float64) {
	var s float64
	for _, x := range xs {
		s += x
	}
	m := s / float64(len(xs))
	var v float64
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	if len(xs) > 1 {
		v /= float64(len(xs) - 1)
	}
	return m, math.Sqrt(v)
}

func writeTable(w io.Writer, wl *workload.Workload, ms []method, res [][]result, seeds []uint64, steps int64, peak float64, limit int) error {
	fmt.Fprintf(w, "### %s, %d steps, seeds %v", wl.Name, steps, seeds)
	if limit > 0 {
		fmt.Fprintf(w, ", first %d examples", limit)
	}
	better := "lower is better"
	if wl.Metric.HigherIsBetter {
		better = "higher is better"
	}
	fmt.Fprintf(w, "\n\nFinal validation %s (mean ± sd over seeds; %s). Peak rate of the scheduled methods %g. Compute is optimizer steps per run, AutoLRS's rolled-back search steps included.\n\n", wl.Metric.Name, better, peak)
	fmt.Fprintln(w, "| method | optimizer | spec | final val "+wl.Metric.Name+" | per seed | compute (steps/run) | notes |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for mi, m := range ms {
		if res[mi] == nil {
			continue
		}
		spec := "table(...) refined from the linear run"
		if m.ctrl != nil {
			c, err := m.ctrl(peak, steps)
			if err != nil {
				return err
			}
			spec = "`" + c.String() + "`"
		}
		var vals []float64
		var per []string
		var comp int64
		var notes []string
		for _, r := range res[mi] {
			vals = append(vals, r.metric)
			per = append(per, fmt.Sprintf("%.4f", r.metric))
			comp += r.compute
			if r.note != "" {
				notes = append(notes, r.note)
			}
		}
		mean, sd := meanSD(vals)
		cell := fmt.Sprintf("%.4f ± %.4f", mean, sd)
		if res[mi][0].skipped {
			cell = fmt.Sprintf("n/a: HD inactive (constant-rate Adam gave %.4f)", mean)
			notes = notes[:1]
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %d | %s |\n", m.name, m.optimizer, spec, cell,
			strings.Join(per, ", "), comp/int64(len(res[mi])), strings.Join(notes, " "))
	}
	if res[0] != nil && res[2] != nil {
		better := 0
		for i := range res[0] {
			if (res[2][i].metric > res[0][i].metric) == wl.Metric.HigherIsBetter && res[2][i].metric != res[0][i].metric {
				better++
			}
		}
		fmt.Fprintf(w, "\nRefined beat linear decay on %d of %d seeds.\n", better, len(res[0]))
	}
	return nil
}
