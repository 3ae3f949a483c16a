package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/lrkit/lrkit/losscurve"
	"github.com/lrkit/lrkit/losscurve/mplpaper"
)

// The released recipe's optimiser path (losscurve.ReleasedPath): where
// its early stop lands, and where a stop chosen on held-out points would.
const (
	pathSteps = 200   // the released recipe's most AdamW steps
	pathEvery = 10    // checkpoints every pathEvery steps
	pathCut   = 16000 // the validation path fits the fit runs' points up to here (2/3 of 24000)
)

// paperPath is one model size's two paths: on the whole fit runs (scored
// on the test runs) and on the fit runs cut at pathCut (scored on their
// later points, the validation points).
type paperPath struct {
	size      string
	full, val []losscurve.ReleasedStep
	test      []float64 // mean test PredE at each step of full
	valPredE  []float64 // mean PredE of the fit runs after pathCut at each step of val
	err       error
}

// runPaperPaths follows the released optimiser on every size's fit runs,
// whole and cut, and scores every checkpoint.
func runPaperPaths(ctx context.Context, train, test map[string][]losscurve.Run, workers int) ([]paperPath, error) {
	paths := make([]paperPath, len(mplpaper.Sizes))
	for i, sz := range mplpaper.Sizes {
		paths[i].size = sz
	}
	err := forEach(ctx, 2*len(paths), workers, func(i int) {
		pp := &paths[i/2]
		runs := train[pp.size]
		if i%2 == 0 {
			if pp.full, pp.err = losscurve.ReleasedPath(ctx, runs, losscurve.FitOptions{}, pathSteps, pathEvery); pp.err == nil {
				pp.test, pp.err = scorePath(pp.full, test[pp.size], 0)
			}
			return
		}
		var later []losscurve.Run // the fit runs with points after the cut
		for _, r := range runs {
			if r.Points[len(r.Points)-1].Step > pathCut {
				later = append(later, r)
			}
		}
		if pp.val, pp.err = losscurve.ReleasedPath(ctx, runs, losscurve.FitOptions{MaxStep: pathCut}, pathSteps, pathEvery); pp.err == nil {
			pp.valPredE, pp.err = scorePath(pp.val, later, pathCut+1)
		}
	})
	if err != nil {
		return nil, err
	}
	for _, pp := range paths {
		if pp.err != nil {
			return nil, fmt.Errorf("%sM, released path: %w", pp.size, pp.err)
		}
	}
	return paths, nil
}

// scorePath returns, for each step of path, the mean PredE of its law on
// runs from step from on.
func scorePath(path []losscurve.ReleasedStep, runs []losscurve.Run, from int) ([]float64, error) {
	out := make([]float64, len(path))
	for i, s := range path {
		var err error
		if out[i], err = meanRunPredE(s.Law, runs, from); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// meanRunPredE is the mean over runs of PredE from step from on.
func meanRunPredE(law losscurve.Law, runs []losscurve.Run, from int) (float64, error) {
	if len(runs) == 0 {
		return math.NaN(), nil
	}
	total := 0.0
	for _, r := range runs {
		s, err := losscurve.EvaluateFrom(law, r, from, level)
		if err != nil {
			return 0, err
		}
		total += s.PredE
	}
	return total / float64(len(runs)), nil
}

// pathReport writes the path section of the paper report.
func pathReport(b *strings.Builder, paths []paperPath) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("\n## Where the released recipe's number comes from: its optimiser path\n\n")
	p("`losscurve.ReleasedPath` follows the released recipe's AdamW from its initialisation for %d steps (its most) ", pathSteps)
	p("without its stopping rule. *objective* is its Huber objective on the fit runs at that step, *test* the mean ")
	p("PredE on the six test runs. *val* comes from a second path, fitted on the fit runs' points up to step %d only and ", pathCut)
	p("scored on their later points (constant_24000 and cosine_24000 after step %d): a held-out check that needs no test ", pathCut)
	p("curve. ◀ marks the step the released recipe reads out.\n\n")
	p("| step |")
	for _, pp := range paths {
		p(" %sM objective | %sM val | %sM test |", pp.size, pp.size, pp.size)
	}
	p("\n|---|")
	for range paths {
		p("---|---|---|")
	}
	p("\n")
	steps := map[int]bool{}
	var order []int
	for _, pp := range paths {
		for _, s := range pp.full {
			if !steps[s.Step] {
				steps[s.Step] = true
				order = append(order, s.Step)
			}
		}
	}
	slices.Sort(order)
	for _, st := range order {
		p("| %d |", st)
		for _, pp := range paths {
			i := stepIndex(pp.full, st)
			if i < 0 {
				p(" | | |")
				continue
			}
			mark := ""
			if pp.full[i].ReadOut {
				mark = " ◀"
			}
			v := "—"
			if j := stepIndex(pp.val, st); j >= 0 {
				v = pct(pp.valPredE[j])
			}
			p(" %.3g | %s | %s%s |", pp.full[i].Objective, v, pct(pp.test[i]), mark)
		}
		p("\n")
	}
	p("\n")
	for _, pp := range paths {
		ro, lo, hi := -1, math.Inf(1), math.Inf(-1)
		minObj := math.Inf(1)
		for i, s := range pp.full {
			if s.ReadOut {
				ro = i
			}
			if s.Step >= 50 {
				lo, hi = min(lo, pp.test[i]), max(hi, pp.test[i])
			}
			minObj = min(minObj, s.Objective)
		}
		bestVal := -1
		for j, s := range pp.val {
			if s.Step%pathEvery == 0 && (bestVal < 0 || pp.valPredE[j] < pp.valPredE[bestVal]) {
				bestVal = j
			}
		}
		line := fmt.Sprintf("- %sM: from step 50 on the test PredE moves between %s and %s from one checkpoint to the next; the lowest objective on the path is %.3g", pp.size, pct(lo), pct(hi), minObj)
		if ro >= 0 {
			line += fmt.Sprintf("; the released read-out (step %d, objective %.3g) gives %s", pp.full[ro].Step, pp.full[ro].Objective, pct(pp.test[ro]))
		}
		if bestVal >= 0 {
			st := pp.val[bestVal].Step
			if i := stepIndex(pp.full, st); i >= 0 {
				line += fmt.Sprintf("; stopping where the held-out points are best (step %d, val %s) gives %s", st, pct(pp.valPredE[bestVal]), pct(pp.test[i]))
			}
		}
		p("%s (bar %s).\n", line, pct(paperBar[pp.size]))
	}
}

// stepIndex returns the index of the checkpoint at step, or -1.
func stepIndex(path []losscurve.ReleasedStep, step int) int {
	for i, s := range path {
		if s.Step == step {
			return i
		}
	}
	return -1
}
