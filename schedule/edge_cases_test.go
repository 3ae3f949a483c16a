package schedule

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
)

// Edge cases found by an audit of the package: each test failed before
// the fix named in its comment.

// TestWithHorizonRebuildsComposition checks WithHorizon through the
// compositions that implement it. scale, clamp and floor used to return
// their base unchanged (the shortened base was set on a copy that was then
// thrown away), and a warmup had its own length taken for its horizon.
func TestWithHorizonRebuildsComposition(t *testing.T) {
	tests := []struct {
		spec string
		h    int64
		want string // canonical text of the result
	}{
		{"scale(cosine(steps=1000), by=2)", 500, "scale(cosine(steps=500), by=2)"},
		{"clamp(cosine(steps=1000), max=0.5)", 500, "clamp(cosine(steps=500), max=0.5)"},
		{"floor(cosine(steps=1000), min=0.1)", 500, "floor(cosine(steps=500), min=0.1)"},
		// The warm-up keeps its length; the base gets the horizon (inside
		// it), or what is left after the warm-up (a prefix).
		{"warmup(cosine(steps=1000), steps=100)", 2000, "warmup(cosine(steps=2000), steps=100)"},
		{"warmup(cosine(steps=1000), steps=100, prefix=true)", 2000, "warmup(cosine(steps=1900), steps=100, prefix=true)"},
		{"warmup(cosine(steps=1000), steps=100, shape=exp)", 2000, "warmup(cosine(steps=2000), steps=100, shape=exp)"},
		{"scale(warmup(cosine(steps=1000), steps=100), by=2)", 500, "scale(warmup(cosine(steps=500), steps=100), by=2)"},
	}
	for _, tc := range tests {
		s, err := Parse(tc.spec)
		if err != nil {
			t.Fatalf("%s: %v", tc.spec, err)
		}
		got, err := WithHorizon(s, tc.h)
		if err != nil {
			t.Errorf("WithHorizon(%s, %d): %v", tc.spec, tc.h, err)
			continue
		}
		if got.String() != tc.want {
			t.Errorf("WithHorizon(%s, %d) = %s, want %s", tc.spec, tc.h, got, tc.want)
		}
		if h, ok := Horizon(got); !ok || h != tc.h {
			t.Errorf("Horizon(WithHorizon(%s, %d)) = %d, %v", tc.spec, tc.h, h, ok)
		}
		if want, _ := Parse(tc.want); got.LR(tc.h-1) != want.LR(tc.h-1) {
			t.Errorf("WithHorizon(%s, %d).LR(%d) = %v, want %v", tc.spec, tc.h, tc.h-1, got.LR(tc.h-1), want.LR(tc.h-1))
		}
	}
	// A warm-up before a base without a horizon has none to change (it
	// used to become a warm-up of h steps), and a prefix must leave room.
	for _, bad := range []struct {
		spec string
		h    int64
	}{
		{"warmup(constant(), steps=100)", 2000},
		{"warmup(cosine(steps=1000), steps=100, prefix=true)", 100},
	} {
		s, err := Parse(bad.spec)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := WithHorizon(s, bad.h); err == nil {
			t.Errorf("WithHorizon(%s, %d) = %s, want an error", bad.spec, bad.h, got)
		}
	}
}

// TestWarmupOverScaledBase checks that a warm-up inside the horizon of a
// scaled (clamped, floored) base shortens the base, exactly as when the
// scale is outside: warmup(scale(cosine(steps=1000), by=2), steps=100)
// gave 0.0499 at step 999 (its cosine ran 1000 steps after the warm-up)
// where HF's cosine with 100 warm-up steps of 1000 gives 2·6.09e-6.
func TestWarmupOverScaledBase(t *testing.T) {
	pairs := [][2]string{
		{"warmup(scale(cosine(steps=1000), by=2), steps=100)", "scale(warmup(cosine(steps=1000), steps=100), by=2)"},
		{"warmup(clamp(cosine(steps=1000), max=0.5), steps=100)", "clamp(warmup(cosine(steps=1000), steps=100), max=0.5)"},
		{"warmup(floor(linear(steps=1000), min=0.1), steps=100)", "floor(warmup(linear(steps=1000), steps=100), min=0.1)"},
	}
	for _, p := range pairs {
		a, err := Parse(p[0])
		if err != nil {
			t.Fatal(err)
		}
		b, err := Parse(p[1])
		if err != nil {
			t.Fatal(err)
		}
		// From the end of the warm-up on (during it, clamp and floor bound
		// the ramp only when they are outside).
		for _, st := range []int64{100, 101, 500, 998, 999, 1000, 1100} {
			if x, y := a.LR(st), b.LR(st); !closeTo(x, y, 1e-12) {
				t.Errorf("%s at %d = %v, but %s = %v", p[0], st, x, p[1], y)
			}
		}
	}
	s, _ := Parse("warmup(scale(cosine(steps=1000), by=2), steps=100)")
	// HF: 0.5·(1 + cos(π·899/900)) = 3.04617e-06 (spec Table B), times 2.
	if got := s.LR(999); !closeTo(got, 2*3.046171104803541e-06, 1e-9) {
		t.Errorf("LR(999) = %v, want %v", got, 2*3.046171104803541e-06)
	}
}

// TestLengthOfHugeTotal checks that a fraction of a total near
// math.MaxInt64 stays within the total: round(1.0·float64(MaxInt64)) is
// 2^63, whose conversion to int64 overflowed, and
// wsd(steps=9223372036854775807, decay=1.0) returned 2 (twice its peak)
// near its end instead of decaying.
func TestLengthOfHugeTotal(t *testing.T) {
	const T = math.MaxInt64
	for _, f := range []float64{1, 0.9999999999999999, 0.5, 0} {
		got := Fraction(f).Of(T)
		want := int64(math.Round(f * (1 << 63)))
		if f == 1 {
			want = T
		}
		if got < 0 || got > T || (f < 1 && got != want) {
			t.Errorf("Fraction(%v).Of(MaxInt64) = %d, want %d", f, got, want)
		}
	}
	if got := Fraction(1).Of(T); got != T {
		t.Errorf("Fraction(1).Of(MaxInt64) = %d, want %d", got, int64(T))
	}
	s, err := Parse("wsd(steps=9223372036854775807, decay=1.0)")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []int64{0, 1, 1 << 62, T - 1, T} {
		if v := s.LR(st); !(v >= 0 && v <= 1) {
			t.Errorf("LR(%d) = %v, want a rate in [0, 1]", st, v)
		}
	}
	if v := s.LR(1 << 62); !closeTo(v, 0.5, 1e-12) {
		t.Errorf("LR(2^62) = %v, want 0.5 (halfway through a linear decay)", v)
	}
}

// TestWSDHalflifeRoundsToZero checks that a fractional half-life that
// rounds to no step is refused with its place: wsd(steps=100, shape=exp,
// halflife=0.001) was accepted and gave NaN at step 90, its first decay
// step (0.5^(0/0)).
func TestWSDHalflifeRoundsToZero(t *testing.T) {
	for _, spec := range []string{
		"wsd(steps=100, shape=exp, halflife=0.001)",
		"wsd(steps=100, floor=0.1, shape=exp, halflife=0.004)",
	} {
		_, err := Parse(spec)
		if err == nil || !strings.Contains(err.Error(), "halflife:") || !strings.Contains(err.Error(), "rounds to 0 steps") {
			t.Errorf("Parse(%s) = %v, want a halflife error", spec, err)
			continue
		}
		checkSpecError(t, spec, err)
		if want := "spec:1:" + pos(spec, "0.00") + ":"; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Parse(%s) = %v, want it at the half-life's value (%s)", spec, err, want)
		}
	}
	// A half-life of at least one step is accepted and finite.
	s, err := Parse("wsd(steps=100, shape=exp, halflife=0.01)")
	if err != nil {
		t.Fatal(err)
	}
	for st := int64(0); st <= 101; st++ {
		if v := s.LR(st); math.IsNaN(v) || v < 0 || v > 1 {
			t.Fatalf("LR(%d) = %v", st, v)
		}
	}
	if v := s.LR(91); v != 0.5 {
		t.Errorf("LR(91) = %v, want 0.5 (one half-life of 1 step after the decay starts at 90)", v)
	}
}

// pos returns the 1-based column of sub in s, as text.
func pos(s, sub string) string {
	return strconv.Itoa(strings.Index(s, sub) + 1)
}

// TestInfiniteCooldownEnd checks the cooldown of the infinite schedule:
// it ends exactly at level for every shape (the linear and invsqrt shapes
// computed peak + (level − peak)·1 = 0.09999999999999987, a dip below the
// constant phase that follows), and the invsqrt shape stays finite for a
// small alpha, where it tends to the linear shape (it cancelled to 0/0 =
// NaN for alpha below about 1e-16).
func TestInfiniteCooldownEnd(t *testing.T) {
	for _, shape := range []string{"cosine", "invsqrt", "linear"} {
		for _, alpha := range []float64{10, 1e-20} {
			s := mustNew(t, Infinite{Peak: 1, Level: 0.1, Floor: 0.01, Steps: 1000, Warmup: Steps(50), Cooldown: Steps(100), Anneal: Steps(200), Shape: shape, Alpha: alpha})
			if got := s.LR(150); got != 0.1 {
				t.Errorf("%s alpha %g: LR(150), the end of the cooldown, = %.17g, want level 0.1", shape, alpha, got)
			}
			prev := math.Inf(1)
			for st := int64(50); st <= 800; st++ {
				v := s.LR(st)
				if math.IsNaN(v) || v > prev {
					t.Fatalf("%s alpha %g: LR(%d) = %v after %v: not non-increasing", shape, alpha, st, v, prev)
				}
				prev = v
			}
		}
	}
	// A huge alpha drops to level at once but never below it.
	steep := mustNew(t, Infinite{Peak: 1, Level: 1e-30, Cooldown: Steps(50), Shape: "invsqrt", Alpha: 1e30})
	for st := int64(0); st <= 60; st++ {
		if v := steep.LR(st); !(v >= 1e-30 && v <= 1) {
			t.Errorf("invsqrt alpha 1e30: LR(%d) = %v, want it in [level, peak]", st, v)
		}
	}
	// Small alpha: h(x)/h(1) → x, the linear cooldown.
	tiny := mustNew(t, Infinite{Peak: 1, Level: 0.1, Cooldown: Steps(50), Shape: "invsqrt", Alpha: 1e-20})
	lin := mustNew(t, Infinite{Peak: 1, Level: 0.1, Cooldown: Steps(50), Shape: "linear", Alpha: 10})
	for _, st := range []int64{1, 25, 49} {
		if a, b := tiny.LR(st), lin.LR(st); !closeTo(a, b, 1e-12) {
			t.Errorf("invsqrt alpha 1e-20 LR(%d) = %v, linear %v", st, a, b)
		}
	}
	// Table I (spec §18) still holds: inv-sqrt α=10 at t=100 is 0.23753.
	ref := mustNew(t, Infinite{Peak: 1, Level: 0.1, Floor: 0.01, Steps: 1000, Warmup: Steps(50), Cooldown: Steps(100), Anneal: Steps(200), Shape: "invsqrt", Alpha: 10})
	if got := ref.LR(100); !closeTo(got, 0.23753, sixDigits) {
		t.Errorf("invsqrt LR(100) = %v, want 0.23753", got)
	}
}

// TestInfiniteWithoutAnneal checks that with steps set but no anneal the
// rate holds level past steps: infinite(level=0.1, cooldown=100,
// steps=1000) gave 0.1 at step 1000 and 0 (the unused floor) from 1001 on.
func TestInfiniteWithoutAnneal(t *testing.T) {
	for _, spec := range []string{
		"infinite(level=0.1, cooldown=100, steps=1000)",
		"infinite(level=0.1, warmup=0.05, cooldown=0.1, steps=1000)",
		"infinite(level=0.1, floor=0.01, cooldown=100, steps=1000, anneal=0.0001)", // rounds to 0 steps
	} {
		s, err := Parse(spec)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range []int64{999, 1000, 1001, 5000, math.MaxInt64} {
			if got := s.LR(st); got != 0.1 {
				t.Errorf("%s: LR(%d) = %v, want level 0.1", spec, st, got)
			}
		}
	}
	// With an anneal the end is still the floor.
	s, err := Parse("infinite(level=0.1, floor=0.01, cooldown=100, steps=1000, anneal=200)")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.LR(1001); got != 0.01 {
		t.Errorf("annealed LR(1001) = %v, want floor 0.01", got)
	}
}

// TestWarmupBeta2Finite checks that New refuses a non-finite beta2 for
// every warm-up shape: for linear and exp (which do not use it) it was
// accepted, and the schedule's canonical text "beta2=NaN" did not parse.
func TestWarmupBeta2Finite(t *testing.T) {
	for _, shape := range []string{"linear", "exp", "untuned_linear", "untuned_exp", "radam"} {
		for _, b2 := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
			w := Warmup{Base: Constant{Peak: 1}, Shape: shape, Beta2: b2}
			if shape == "linear" || shape == "exp" {
				w.Steps = 10
			}
			s, err := New(w)
			if err == nil {
				t.Errorf("New(warmup shape=%s beta2=%v) = %s, want an error", shape, b2, s)
				continue
			}
			var pe *ParamError
			if !errors.As(err, &pe) || pe.Param != "beta2" {
				t.Errorf("New(warmup shape=%s beta2=%v): %v, want a beta2 ParamError", shape, b2, err)
			}
		}
	}
}
