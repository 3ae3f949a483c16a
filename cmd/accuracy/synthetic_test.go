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
