package main

import (
	"context"
	"math"

	"github.com/lrkit/lrkit/losscurve"
)

// recoveryBar is the largest held-out PredE a candidate fit may have on
// noise-free curves of a known multi-power law (the bar of losscurve's
// TestFitRecoversLaws): a recipe that cannot recover the law from its own
// exact curves is not a candidate, whatever its validation PredE.
const recoveryBar = 2e-4

// synthTruth is the known law of the recovery check (that of
// TestFitRecoversLaws).
var synthTruth = &losscurve.MultiPower{L0: 2.4, A: 0.65, Alpha: 0.43, B: 520, C: 2, Beta: 0.6, Gamma: 0.63, Convention: losscurve.ConventionPaper, Warmup: -1}

// synthSchedule returns a warm-up (T/50 steps) followed by a constant
// rate, a cosine to 10% or a WSD with a linear cooldown over the last 20%.
func synthSchedule(kind string, T int, peak float64) []float64 {
	W := T / 50
	out := make([]float64, T)
	for i := range out {
		switch {
		case i < W:
			out[i] = peak * float64(i+1) / float64(W)
		case kind == "cosine":
			out[i] = peak * (0.1 + 0.45*(1+math.Cos(math.Pi*float64(i-W)/float64(T-W))))
		case kind == "wsd" && i >= T*8/10:
			out[i] = peak * (1 - float64(i-T*8/10)/float64(T-T*8/10))
		default:
			out[i] = peak
		}
	}
	return out
}

// synthRun samples the known law's curve for lrs every 50 steps.
func synthRun(name string, lrs []float64) losscurve.Run {
	pred := synthTruth.Predict(lrs)
	r := losscurve.Run{Name: name, LRs: lrs}
	for s := 49; s < len(lrs); s += 50 {
		r.Points = append(r.Points, losscurve.Point{Step: s, Loss: pred[s]})
	}
	return r
}

// synthRecovery fits the multi-power law with m's options to noise-free
// constant, cosine and WSD curves of 4000 steps and returns, for each of
// m's variants (or for m, if it has none), the held-out PredE on a WSD
// curve of 6000 steps.
func synthRecovery(ctx context.Context, m method) (map[string]float64, error) {
	var fit []losscurve.Run
	for _, k := range []string{"constant", "cosine", "wsd"} {
		fit = append(fit, synthRun(k, synthSchedule(k, 4000, 3e-4)))
	}
	held := synthRun("wsd-held", synthSchedule("wsd", 6000, 3e-4))
	f, _, err := losscurve.Fit(ctx, m.kind, fit, m.opts)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	if len(m.variants) == 0 {
		sc, err := losscurve.Evaluate(f, held)
		if err != nil {
			return nil, err
		}
		out[m.key] = sc.PredE
	}
	for _, v := range m.variants {
		g := *f
		g.Members = g.Members[:min(v.members, len(g.Members))]
		g.Aggregate = v.agg
		sc, err := losscurve.Evaluate(&g, held)
		if err != nil {
			return nil, err
		}
		out[v.key] = sc.PredE
	}
	return out, nil
}
