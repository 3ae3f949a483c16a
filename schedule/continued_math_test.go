package schedule

import (
	"math"
	"testing"
)

// Continued training (spec §18), written as compositions.

// Ibrahim et al.: every new dataset re-warms from the floor back to the
// peak and re-decays with a cosine.
func TestContinuedRewarmRedecay(t *testing.T) {
	const peak, floor = 3e-4, 3e-5
	const n1, n2, w = 1000, 600, 10
	s := mustNew(t, Join{
		Parts: []Schedule{
			Cosine{Peak: peak, Floor: floor, Steps: n1},
			Warmup{Base: Cosine{Peak: peak, Floor: floor, Steps: n2}, Steps: w, Start: floor / peak},
		},
		At: []int64{n1},
	})
	checks := []struct {
		step int64
		want float64
	}{
		{0, peak}, {n1, floor}, {n1 + w/2, (floor + peak) / 2}, {n1 + w, peak},
		{n1 + w + (n2-w)/2, (peak + floor) / 2}, {n1 + n2, floor}, {n1 + 5*n2, floor},
	}
	for _, c := range checks {
		if got := s.LR(c.step); !closeTo(got, c.want, 1e-12) {
			t.Errorf("LR(%d) = %g, want %g", c.step, got, c.want)
		}
	}
	// The switch to task 2 is continuous: task 1 ends at the floor, task 2 starts there.
	checkJoin(t, s, n1)
	// The re-warm is monotone up, the re-decay monotone down.
	for st := int64(n1 + 1); st <= n1+w; st++ {
		if s.LR(st) < s.LR(st-1) {
			t.Fatalf("re-warm falls at %d", st)
		}
	}
	for st := int64(n1 + w + 1); st <= n1+n2; st++ {
		if s.LR(st) > s.LR(st-1) {
			t.Fatalf("re-decay rises at %d", st)
		}
	}
}

// The infinite schedule: the first task warms up and cools down to
// η_const; later tasks continue at η_const and anneal only when a final
// checkpoint is needed.
func TestContinuedInfinite(t *testing.T) {
	base := Infinite{Peak: 1, Level: 0.1, Floor: 0.01, Warmup: Steps(50), Cooldown: Steps(100), Shape: "cosine", Alpha: 10}
	// An open-ended run joined with a geometric anneal equals the
	// infinite schedule with that anneal built in.
	withAnneal := base
	withAnneal.Steps, withAnneal.Anneal = 1000, Steps(200)
	a := mustNew(t, withAnneal)
	b := mustNew(t, Join{Parts: []Schedule{base, Geometric{Peak: 0.1, Floor: 0.01, Steps: 200}}, At: []int64{800}})
	for st := int64(0); st <= 1500; st++ {
		if !closeTo(a.LR(st), b.LR(st), 1e-12) {
			t.Fatalf("LR(%d): built-in anneal %g, joined anneal %g", st, a.LR(st), b.LR(st))
		}
	}
	// Task 2 (steps 5000..9000) skips warmup and cooldown: it continues at
	// η_const and anneals over its last 400 steps.
	c := mustNew(t, Join{
		Parts: []Schedule{base, Constant{Peak: 0.1}, Geometric{Peak: 0.1, Floor: 0.01, Steps: 400}},
		At:    []int64{5000, 8600},
	})
	for _, st := range []int64{4999, 5000, 6000, 8600} {
		if got := c.LR(st); !closeTo(got, 0.1, 1e-12) {
			t.Errorf("task 2 LR(%d) = %g, want η_const 0.1", st, got)
		}
	}
	if got := c.LR(8800); !closeTo(got, math.Sqrt(0.1*0.01), 1e-12) {
		t.Errorf("task 2 mid-anneal LR = %g, want %g", got, math.Sqrt(0.001))
	}
	if got := c.LR(9000); !closeTo(got, 0.01, 1e-12) {
		t.Errorf("task 2 end LR = %g, want 0.01", got)
	}
	checkJoin(t, c, 5000)
	checkJoin(t, c, 8600)
}
