package main

import (
	"context"
	"testing"

	"github.com/lrkit/lrkit/losscurve"
)

// TestSynthRecovery checks that the default recipe's candidate in the
// sweep recovers the synthetic law (else the sweep could select nothing)
// and that the check scores every variant of a sweep fit.
func TestSynthRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("fits the multi-power law with bootstrap refits")
	}
	for _, m := range methods() {
		if len(m.variants) == 0 || m.opts.Prior != losscurve.DefaultPrior || m.opts.Resample != losscurve.DefaultResample {
			continue
		}
		pe, err := synthRecovery(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		if len(pe) != len(m.variants) {
			t.Fatalf("%d scores for %d variants", len(pe), len(m.variants))
		}
		for k, v := range pe {
			t.Logf("%s: synthetic PredE %.3g", k, v)
		}
		key := m.variants[0].key // the point fit
		if pe[key] > recoveryBar {
			t.Errorf("%s: synthetic PredE %.3g, want at most %g", key, pe[key], recoveryBar)
		}
	}
}

// TestSynthLive checks the live recovery check: the default recipe passes
// it (as losscurve's TestLiveAfterADecay requires), a prior pulling β far
// from the known law's does not, and a sweep fit gets one score per
// variant.
func TestSynthLive(t *testing.T) {
	if testing.Short() {
		t.Skip("forecasts with bootstrap refits")
	}
	ctx := context.Background()
	for _, tc := range []struct {
		opts losscurve.FitOptions
		pass bool
	}{
		{losscurve.FitOptions{}, true},
		{losscurve.FitOptions{Prior: 1e-4, PriorCentre: []float64{2, 0.2, 0.63}, Bootstrap: -1}, false},
	} {
		m := method{key: "m", kind: losscurve.KindMPL, opts: tc.opts}
		e, err := synthLive(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if got := e["m"] <= liveBar; got != tc.pass || len(e) != 1 {
			t.Errorf("options %+v: live final-loss error %v, want passing the %g bar %v", tc.opts, e, liveBar, tc.pass)
		}
	}
	m := method{key: "sweep", kind: losscurve.KindMPL, opts: losscurve.FitOptions{Bootstrap: 2},
		variants: []variant{{key: "a", prior: 1e-6, members: 2, agg: losscurve.AggregatePoint}, {key: "b", prior: 1e-6, members: 2, agg: losscurve.AggregateMean}}}
	e, err := synthLive(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if len(e) != 2 || e["a"] <= 0 || e["b"] <= 0 {
		t.Errorf("variant scores %v, want two positive errors", e)
	}
}
