package control

import (
	"context"
	"math"
	"strings"
	"testing"
)

func TestLRFindOnQuadratic(t *testing.T) {
	// f = ½Σλθ² with λ up to 1 diverges for lr > 2: the sweep must stop
	// there and suggest a rate well inside the stable range.
	e := newQuadEngine(1, 0.01, 1, 0.5, 0.2)
	start := e.loss()
	res, err := LRFind(context.Background(), e, 1e-4, 100, 200)
	if err != nil {
		t.Fatal(err)
	}
	if e.loss() != start {
		t.Fatalf("engine not restored: %v, was %v", e.loss(), start)
	}
	t.Logf("suggested %.4g (%s), min-loss rate %.4g, stopped: %s", res.Suggested, res.Rule, res.MinLR, res.Stopped)
	if res.Stopped == "" || res.LRs[len(res.LRs)-1] < 2 {
		t.Errorf("sweep did not stop on divergence: %q, last lr %v", res.Stopped, res.LRs[len(res.LRs)-1])
	}
	if int64(len(res.LRs)) != e.steps {
		t.Errorf("%d rates recorded, engine took %d steps", len(res.LRs), e.steps)
	}
	if res.Rule != RuleSteepest || !(res.Suggested > 1e-3 && res.Suggested < 2) {
		t.Errorf("suggested %v by %q, want steepest descent in (1e-3, 2)", res.Suggested, res.Rule)
	}
	if !(res.MinLR > res.Suggested) {
		t.Errorf("min-loss rate %v not above the steepest rate %v", res.MinLR, res.Suggested)
	}
	// Exponential sweep: constant ratio between consecutive rates.
	ratio := math.Pow(100/1e-4, 1.0/199)
	for i := 1; i < len(res.LRs); i++ {
		if !closeTo(res.LRs[i]/res.LRs[i-1], ratio, 1e-12) {
			t.Fatalf("rate %d: ratio %v, want %v", i, res.LRs[i]/res.LRs[i-1], ratio)
		}
	}
	if !closeTo(res.LRs[0], 1e-4, 1e-15) {
		t.Errorf("first rate %v", res.LRs[0])
	}
	// The smoothed loss is the bias-corrected EMA: its first value is the
	// first loss.
	if !closeTo(res.Smoothed[0], res.Losses[0], 1e-12) {
		t.Errorf("smoothed[0] %v, loss[0] %v", res.Smoothed[0], res.Losses[0])
	}
}

func TestLRFindErrors(t *testing.T) {
	e := newQuadEngine(1, 0, 1)
	for _, tc := range []struct {
		min, max float64
		steps    int
		want     string
	}{
		{0, 1, 100, "min rate"}, {1, 1, 100, "max rate"}, {1e-3, 1, 3, "at least 5"},
	} {
		_, err := LRFind(context.Background(), e, tc.min, tc.max, tc.steps)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v", tc, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := LRFind(ctx, e, 1e-3, 1, 10); err == nil {
		t.Error("cancelled context not reported")
	}
}

func TestLRFindFlatLossFallsBack(t *testing.T) {
	e := newQuadEngine(1, 0, 0) // λ = 0: the loss never moves
	res, err := LRFind(context.Background(), e, 1e-3, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rule != RuleMinOver10 || !closeTo(res.Suggested, res.MinLR/10, 1e-15) {
		t.Errorf("flat loss: %v by %q", res.Suggested, res.Rule)
	}
}
