package fed

import (
	"math"
	"testing"
)

func TestTInterval(t *testing.T) {
	// 1..5: mean 3, sd √2.5, se √0.5, t(0.975, 4) = 2.7764451.
	m, lo, hi := tInterval([]float64{1, 2, 3, 4, 5})
	half := 2.7764451051977987 * math.Sqrt(0.5)
	if m != 3 || math.Abs(lo-(3-half)) > 1e-9 || math.Abs(hi-(3+half)) > 1e-9 {
		t.Fatalf("got %v [%v, %v], want 3 [%v, %v]", m, lo, hi, 3-half, 3+half)
	}
	// Two values: t(0.975, 1) = 12.7062047.
	m, lo, hi = tInterval([]float64{0, 2})
	if m != 1 || math.Abs(hi-(1+12.706204736174698)) > 1e-9 || math.Abs(lo-(1-12.706204736174698)) > 1e-9 {
		t.Fatalf("two values: %v [%v, %v]", m, lo, hi)
	}
	if m, lo, _ := tInterval([]float64{4}); m != 4 || !math.IsNaN(lo) {
		t.Fatalf("one value: %v, %v", m, lo)
	}
	if m, lo, hi := tInterval([]float64{2, 2, 2}); m != 2 || lo != 2 || hi != 2 {
		t.Fatalf("constant: %v [%v, %v]", m, lo, hi)
	}
}

// hist is a history reaching accuracy acc at time t (and at the given
// aggregation count) after a start at 0.1.
func hist(t float64, aggs int64, acc float64) *History {
	return &History{Points: []Point{{Time: 0, Accuracy: 0.1}, {Time: t, Aggregations: aggs, Accuracy: acc}, {Time: 1000, Aggregations: 2 * aggs, Accuracy: acc}}}
}

func TestSpeedupVerdicts(t *testing.T) {
	const target = 0.9
	reach := func(ts ...float64) []*History {
		var hs []*History
		for _, x := range ts {
			hs = append(hs, hist(x, int64(x/10), 0.95))
		}
		return hs
	}
	miss := hist(500, 50, 0.5)
	for _, c := range []struct {
		name      string
		base, fav []*History
		verdict   string
		effect    float64
		note      string
	}{
		{"twice as fast", reach(200, 400, 300, 220), reach(100, 200, 150, 110), "holds", 2, ""},
		{"slower", reach(100, 200, 150, 110), reach(200, 400, 300, 220), "does not hold", 0.5, ""},
		{"mixed", reach(100, 400, 150, 300), reach(200, 200, 150, 150), "inconclusive", math.Exp((math.Log(0.5) + math.Log(2) + 0 + math.Log(2)) / 4), ""},
		{"favoured missed", reach(200, 400, 300, 220), []*History{hist(100, 10, 0.95), hist(200, 20, 0.95), hist(150, 15, 0.95), miss},
			"inconclusive", math.Exp((3*math.Log(2) + math.Log(220.0/1000)) / 4), "favoured method missed the target in 1 pair(s)"},
		{"baseline missed", []*History{hist(200, 20, 0.95), hist(400, 40, 0.95), hist(300, 30, 0.95), miss}, reach(100, 200, 150, 500),
			"holds", 2, "baseline missed the target in 1 pair(s)"}, // 1000 s (the budget) ÷ 500
		{"baseline missed, wide", []*History{hist(200, 20, 0.95), hist(400, 40, 0.95), hist(300, 30, 0.95), miss}, reach(100, 200, 150, 110),
			"inconclusive", math.Exp((3*math.Log(2) + math.Log(1000.0/110)) / 4), "baseline missed the target in 1 pair(s)"},
		{"neither", []*History{miss, miss}, []*History{miss, miss}, "inconclusive (fewer than two pairs reached the target)", math.NaN(), "2 pair(s) where neither reached it left out"},
	} {
		got := speedup(c.base, c.fav, target, false)
		if got.Verdict != c.verdict || got.Note != c.note {
			t.Errorf("%s: verdict %q (%s), want %q (%s)", c.name, got.Verdict, got.Note, c.verdict, c.note)
		}
		if !(math.IsNaN(c.effect) && math.IsNaN(got.Effect)) && math.Abs(got.Effect-c.effect) > 1e-9 {
			t.Errorf("%s: effect %v, want %v", c.name, got.Effect, c.effect)
		}
	}
	if got := speedup(reach(100, 200), reach(100, 200), target, false); got.Verdict != "does not hold" || got.Note != "the same time in every pair" {
		t.Errorf("identical runs: %+v", got)
	}
	// In rounds: aggregation counts 20/10 and 40/20.
	if got := speedup(reach(200, 400), reach(100, 200), target, true); got.Effect != 2 || got.Lo != 2 {
		t.Errorf("rounds: %v [%v, %v], want exactly 2", got.Effect, got.Lo, got.Hi)
	}
}

func TestAccGain(t *testing.T) {
	base := []*History{hist(1, 1, 0.80), hist(1, 1, 0.82), hist(1, 1, 0.81)}
	fav := []*History{hist(1, 1, 0.85), hist(1, 1, 0.86), hist(1, 1, 0.87)}
	got := accGain(base, fav)
	if got.Verdict != "holds" || math.Abs(got.Effect-5) > 1e-9 || got.Pairs != 3 {
		t.Fatalf("gain: %+v", got)
	}
	if got := accGain(fav, base); got.Verdict != "does not hold" {
		t.Fatalf("loss: %+v", got)
	}
	if got := accGain(base, base); got.Verdict != "does not hold" || got.Effect != 0 || got.Note != "the same final accuracy in every pair" {
		t.Fatalf("tie: %+v", got)
	}
	mixed := []*History{hist(1, 1, 0.86), hist(1, 1, 0.80), hist(1, 1, 0.82)}
	if got := accGain(base, mixed); got.Verdict != "inconclusive" {
		t.Fatalf("mixed: %+v", got)
	}
}
