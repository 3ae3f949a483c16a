package main

import (
	"context"
	"math"

	"github.com/lrkit/lrkit/losscurve"
	"github.com/lrkit/lrkit/runlog"
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

// liveBar is the largest relative error of the final loss a candidate's
// live forecast may have in the scenario of synthLive: the bar of
// losscurve's TestLiveAfterADecay, which forecasts the same known law.
const liveBar = 2e-3

// synthLiveRate is that test's schedule: a warm-up of 100 steps to 1e-3,
// constant until step 1500, then linear to 1e-4 at step 5000.
func synthLiveRate(t int64) float64 {
	switch {
	case t < 100:
		return 1e-3 * float64(t) / 100
	case t < 1500:
		return 1e-3
	default:
		return 1e-3 * (1 - 0.9*float64(t-1500)/3500)
	}
}

// synthLive forecasts, with m's fit options (each variant's, if it has
// any), the final loss at step 4999 of a run of the known law that has
// trained 3000 steps of synthLiveRate (a loss every 10 steps) and returns
// the forecast's relative error for each key: losscurve.Live as lrkit serve
// runs it, on a run whose decay has begun.
func synthLive(ctx context.Context, m method) (map[string]float64, error) {
	const next, budget = 3000, 5000
	lrs := make([]float64, budget)
	for i := range lrs {
		lrs[i] = synthLiveRate(int64(i))
	}
	truth := synthTruth.Predict(lrs)
	var recs []runlog.Record
	for s := range int64(next) {
		r := runlog.Record{Step: s}
		r.Set(runlog.FieldLR, lrs[s])
		if s%10 == 9 {
			r.Set(runlog.FieldLoss, min(truth[s], 11))
		}
		recs = append(recs, r)
	}
	run := losscurve.LiveRun{Name: "synthetic-live", Records: recs, Rate: synthLiveRate, Next: next, Budget: budget}
	one := func(opts losscurve.FitOptions) (float64, error) {
		f, err := losscurve.Live(ctx, run, losscurve.ForecastOptions{Fit: opts})
		if err != nil {
			return 0, err
		}
		if f.Final == nil {
			return math.Inf(1), nil // no forecast: fails the bar
		}
		want := truth[budget-1]
		return math.Abs(f.Final.Loss-want) / want, nil
	}
	out := map[string]float64{}
	if len(m.variants) == 0 {
		e, err := one(m.opts)
		if err != nil {
			return nil, err
		}
		out[m.key] = e
	}
	for _, v := range m.variants {
		opts := m.opts
		opts.Prior, opts.Resample, opts.Bootstrap, opts.Aggregate = v.prior, v.resample, v.members, v.agg
		e, err := one(opts)
		if err != nil {
			return nil, err
		}
		out[v.key] = e
	}
	return out, nil
}
