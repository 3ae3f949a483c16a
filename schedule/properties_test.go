package schedule

import (
	"fmt"
	"math"
	"testing"
)

// Property tests for every kind: monotone where the schedule promises it,
// bounded, continuous at phase joins, the value at step 0, what happens
// past the end, negative steps treated as 0, and no NaN or Inf anywhere.

type span struct{ from, to int64 }

type propCase struct {
	name  string
	s     Schedule
	at0   float64 // LR(0)
	tol   float64 // relative tolerance of at0; 1e-9 when 0
	lo    float64 // every value in [lo, hi] over [0, check]
	hi    float64
	check int64  // how far to scan (defaults to 3000)
	down  []span // non-increasing on these spans
	up    []span // non-decreasing on these spans
	joins []int64
	end   int64   // from this step on the value is constant (0 = no such promise)
	final float64 // ... and equals this
}

func propCases() []propCase {
	const T = 1000
	wsd := func(shape string, floor float64) WSD {
		return WSD{Peak: 1, Floor: floor, Steps: T, Warmup: Steps(100), Decay: Fraction(0.2), Shape: shape}
	}
	cases := []propCase{
		{name: "constant", s: Constant{Peak: 0.3}, at0: 0.3, lo: 0.3, hi: 0.3, end: 1, final: 0.3},
		{name: "linear", s: Linear{Peak: 1, Floor: 0.1, Steps: T}, at0: 1, lo: 0.1, hi: 1, down: []span{{0, 2000}}, end: T, final: 0.1},
		{name: "polynomial", s: Polynomial{Peak: 1, Floor: 0.1, Steps: T, Power: 2}, at0: 1, lo: 0.1, hi: 1, down: []span{{0, 2000}}, end: T, final: 0.1},
		{name: "exponential", s: Exponential{Peak: 1, Gamma: 0.99, Floor: 0.01}, at0: 1, lo: 0.01, hi: 1, down: []span{{0, 3000}}, end: 459, final: 0.01},
		{name: "geometric", s: Geometric{Peak: 1, Floor: 0.01, Steps: T}, at0: 1, lo: 0.01, hi: 1, down: []span{{0, 2000}}, end: T, final: 0.01},
		{name: "exp_decay", s: ExpDecay{Peak: 1, Rate: 0.5, Every: 100, Begin: 100, End: 0.01}, at0: 1, lo: 0.01, hi: 1, down: []span{{0, 3000}}, end: 765, final: 0.01},
		{name: "step", s: Step{Peak: 1, Every: 300, Gamma: 0.1}, at0: 1, lo: 0, hi: 1, down: []span{{0, 3000}}},
		{name: "multistep", s: MultiStep{Peak: 1, Milestones: []int64{300, 600, 900}, Gamma: 0.1}, at0: 1, lo: 0.001, hi: 1, down: []span{{0, 3000}}, end: 900, final: 0.001},
		{name: "invsqrt", s: InvSqrt{Peak: 1, Warmup: 100}, at0: 0, lo: 0, hi: 1, up: []span{{0, 100}}, down: []span{{100, 3000}}, joins: []int64{100}},
		{name: "cosine", s: Cosine{Peak: 1, Floor: 0.1, Steps: T}, at0: 1, lo: 0.1, hi: 1, down: []span{{0, 3000}}, end: T, final: 0.1},
		{name: "cosine pytorch", s: Cosine{Peak: 1, Floor: 0.1, Steps: T, Parity: ParityPyTorch}, at0: 1, lo: 0.1, hi: 1, down: []span{{0, T}}, up: []span{{T, 2 * T}}},
		{name: "sgdr", s: SGDR{Peak: 1, Floor: 0.1, Period: 100, Mult: 2, Decay: 0.8}, at0: 1, lo: 0.1, hi: 1, down: []span{{0, 99}, {100, 299}, {300, 699}}},
		{name: "cyclic", s: Cyclic{Low: 0.1, High: 1, Up: 100, Down: 300, Mode: "triangular2", Gamma: 1}, at0: 0.1, lo: 0.1, hi: 1, up: []span{{0, 100}}, down: []span{{100, 400}}},
		{name: "cyclic exp_range", s: Cyclic{Low: 0.1, High: 1, Up: 200, Mode: "exp_range", Gamma: 0.999}, at0: 0.1, lo: 0.1, hi: 1, up: []span{{0, 150}}, down: []span{{200, 400}}},
		{name: "onecycle", s: OneCycle{Peak: 1, Steps: T, Pct: 0.3, Shape: "cos", Div: 25, FinalDiv: 1e4, Phases: 2}, at0: 0.04, lo: 4e-6, hi: 1, up: []span{{0, 299}}, down: []span{{299, 3000}}, end: 999, final: 4e-6},
		{name: "onecycle 3 linear", s: OneCycle{Peak: 1, Steps: T, Pct: 0.3, Shape: "linear", Div: 25, FinalDiv: 1e4, Phases: 3}, at0: 0.04, lo: 4e-6, hi: 1, up: []span{{0, 299}}, down: []span{{299, 3000}}, end: 999, final: 4e-6},
		{name: "onecycle optax", s: OneCycle{Peak: 1, Steps: T, Pct: 0.3, Shape: "cos", Div: 25, FinalDiv: 1e4, Phases: 2, Parity: ParityOptax}, at0: 0.04, lo: 4e-6, hi: 1, up: []span{{0, 300}}, down: []span{{300, 3000}}, end: T, final: 4e-6},
		{name: "rex", s: Rex{Peak: 1, Floor: 0.1, Steps: T, A: 0.5, Every: 1}, at0: 1, lo: 0.1, hi: 1, down: []span{{0, 2000}}, end: T, final: 0.1},
		{name: "rex sampled", s: Rex{Peak: 1, Steps: T, A: 0.9, Every: 50}, at0: 1, lo: 0, hi: 1, down: []span{{0, 2000}}, end: T, final: 0},
		{name: "uba", s: UBA{Peak: 1, Floor: 0.1, Steps: T, Phi: 0.5}, at0: 1, lo: 0.1, hi: 1, down: []span{{0, 2000}}, end: T, final: 0.1},
		{name: "wsd linear", s: wsd("linear", 0.1), at0: 0, lo: 0, hi: 1, up: []span{{0, 800}}, down: []span{{100, 2000}}, joins: []int64{100, 800}, end: T, final: 0.1},
		{name: "wsd cosine", s: wsd("cosine", 0), at0: 0, lo: 0, hi: 1, up: []span{{0, 800}}, down: []span{{100, 2000}}, joins: []int64{100, 800}, end: T, final: 0},
		{name: "wsd 1-sqrt", s: wsd("1-sqrt", 0.05), at0: 0, lo: 0, hi: 1, up: []span{{0, 800}}, down: []span{{100, 2000}}, joins: []int64{100}, end: T, final: 0.05},
		{name: "wsd square", s: wsd("square", 0), at0: 0, lo: 0, hi: 1, up: []span{{0, 800}}, down: []span{{100, 2000}}, joins: []int64{100, 800}, end: T, final: 0},
		{name: "wsd geometric", s: wsd("geometric", 0.01), at0: 0, lo: 0, hi: 1, up: []span{{0, 800}}, down: []span{{100, 2000}}, joins: []int64{100, 800}, end: T, final: 0.01},
		{name: "wsd exp", s: wsd("exp", 0.01), at0: 0, lo: 0, hi: 1, up: []span{{0, 800}}, down: []span{{100, 2000}}, joins: []int64{100, 800}, end: T, final: 0.01},
		{name: "wsd hf", s: WSD{Peak: 1, Floor: 0.1, Steps: T, Warmup: Steps(100), Decay: Steps(200), Shape: "cosine", Parity: ParityHF}, at0: 0.1, lo: 0.1, hi: 1, up: []span{{0, 800}}, down: []span{{100, 2000}}, joins: []int64{100, 800}, end: T, final: 0.1},
		{name: "wsds", s: WSDS{Peak: 1, Floor: 0.1, Warmup: Steps(50), Budgets: []int64{400, 700, 1000}, Decay: Fraction(0.1), Shape: "cosine"}, at0: 0, lo: 0, hi: 1, up: []span{{0, 360}}, down: []span{{360, 399}, {630, 699}, {900, 2000}}, joins: []int64{50, 360, 630, 900}, end: T, final: 0.1},
		{name: "wsdc", s: WSDC{Peak: 1, Level: 0.1, Warmup: Steps(100), Stable: Steps(500), Decay: Steps(200), Shape: "cosine"}, at0: 0, lo: 0, hi: 1, up: []span{{0, 600}}, down: []span{{100, 3000}}, joins: []int64{100, 600, 800}, end: 800, final: 0.1},
		{name: "cosine_power", s: CosinePower{Peak: 1, Floor: 0.001, Steps: T, P: 10}, at0: 1, lo: 0.001, hi: 1, down: []span{{0, 2000}}, end: T, final: 0.001},
		{name: "damped_cosine", s: DampedCosine{Peak: 1, Floor: 0.1, Steps: T, Cycles: 3, Damping: 3}, at0: 1, lo: 0.1, hi: 1, down: []span{{0, 200}}, end: T, final: 0.1},
		{name: "infinite cosine", s: Infinite{Peak: 1, Level: 0.1, Floor: 0.01, Steps: T, Warmup: Fraction(0.05), Cooldown: Fraction(0.1), Anneal: Fraction(0.2), Shape: "cosine", Alpha: 10}, at0: 0, lo: 0, hi: 1, up: []span{{0, 50}}, down: []span{{50, 2000}}, joins: []int64{50, 150, 800}, end: T, final: 0.01},
		{name: "infinite invsqrt open", s: Infinite{Peak: 1, Level: 0.1, Warmup: Steps(50), Cooldown: Steps(100), Shape: "invsqrt", Alpha: 10}, at0: 0, lo: 0, hi: 1, up: []span{{0, 50}}, down: []span{{50, 3000}}, joins: []int64{50, 150}, end: 150, final: 0.1},
		{name: "power", s: Power{Peak: 0.02, A: 4.6, B: -0.51, Batch: 1024, TokensPerStep: 1e6, Steps: 100000, Warmup: Steps(1000), Decay: Fraction(0.1)}, at0: 0, lo: 0, hi: 0.02, check: 120000, up: []span{{0, 1000}}, down: []span{{1000, 120000}}, joins: []int64{1000, 90000}, end: 100000, final: 0},
		{name: "warmup linear", s: Warmup{Base: Cosine{Peak: 1, Floor: 0.1, Steps: 900}, Steps: 100}, at0: 0, lo: 0, hi: 1, up: []span{{0, 100}}, down: []span{{100, 2000}}, joins: []int64{100}, end: T, final: 0.1},
		{name: "warmup untuned_linear", s: Warmup{Base: Constant{Peak: 1}, Shape: "untuned_linear", Beta2: 0.999}, at0: 0, lo: 0, hi: 1, up: []span{{0, 3000}}, joins: []int64{2000}, end: 2000, final: 1},
		{name: "warmup radam", s: Warmup{Base: Constant{Peak: 1}, Shape: "radam", Beta2: 0.999}, at0: 0.0173115, tol: sixDigits, lo: 0, hi: 1, up: []span{{0, 3000}}},
		{name: "warmup untuned_exp", s: Warmup{Base: Constant{Peak: 1}, Shape: "untuned_exp", Beta2: 0.999}, at0: 0, lo: 0, hi: 1, up: []span{{0, 3000}}},
		{name: "slow_start_fast_decay", s: SlowStartFastDecay{Peak: 1, Floor: 0.1, Steps: T, Ramp: Fraction(0.8)}, at0: 0, lo: 0, hi: 1, up: []span{{0, 800}}, down: []span{{800, 2000}}, joins: []int64{800}, end: T, final: 0.1},
		{name: "defazio", s: Defazio{Peak: 1, Steps: T}, at0: 1000.0 / 1001, lo: 0, hi: 1, down: []span{{0, 2000}}, end: T - 1, final: 1.0 / 1001},
		{name: "table", s: Table{At: []int64{0, 100, 1000}, Rates: []float64{0, 1, 0.1}, Scale: 1}, at0: 0, lo: 0, hi: 1, up: []span{{0, 100}}, down: []span{{100, 2000}}, joins: []int64{100}, end: T, final: 0.1},
		{name: "join", s: Join{Parts: []Schedule{Warmup{Base: Constant{Peak: 1}, Steps: 100}, Cosine{Peak: 1, Floor: 0.1, Steps: 900}}, At: []int64{100}}, at0: 0, lo: 0, hi: 1, up: []span{{0, 100}}, down: []span{{100, 2000}}, joins: []int64{100}, end: T, final: 0.1},
		{name: "cycle", s: Cycle{Base: Linear{Peak: 1, Floor: 0.1, Steps: 99}, Period: 100}, at0: 1, lo: 0.1, hi: 1, down: []span{{0, 99}, {100, 199}}},
		{name: "restarts", s: Restarts{Base: Cosine{Peak: 1, Steps: 100}, Period: 100, Mult: 2, Decay: 0.5}, at0: 1, lo: 0, hi: 1, down: []span{{0, 99}, {100, 299}}},
		{name: "clamp", s: Clamp{Base: Linear{Peak: 1, Steps: T}, Min: 0.2, Max: 0.8}, at0: 0.8, lo: 0.2, hi: 0.8, down: []span{{0, 2000}}, end: 800, final: 0.2},
		{name: "scale", s: Scale{Base: Linear{Peak: 1, Steps: T}, By: 3e-4}, at0: 3e-4, lo: 0, hi: 3e-4, down: []span{{0, 2000}}, end: T, final: 0},
		{name: "floor", s: Floor{Base: Linear{Peak: 1, Steps: T}, Min: 0.05}, at0: 1, lo: 0.05, hi: 1, down: []span{{0, 2000}}, end: 950, final: 0.05},
	}
	return cases
}

func TestProperties(t *testing.T) {
	for _, c := range propCases() {
		t.Run(c.name, func(t *testing.T) {
			s := mustNew(t, c.s)
			tol := c.tol
			if tol == 0 {
				tol = 1e-9
			}
			if got := s.LR(0); !closeTo(got, c.at0, tol) {
				t.Errorf("LR(0) = %.12g, want %.12g", got, c.at0)
			}
			for _, neg := range []int64{-1, -7, -1000, math.MinInt64} {
				if got := s.LR(neg); got != s.LR(0) {
					t.Errorf("LR(%d) = %g, want LR(0) = %g", neg, got, s.LR(0))
				}
			}
			n := c.check
			if n == 0 {
				n = 3000
			}
			for st := int64(0); st <= n; st++ {
				v := s.LR(st)
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("LR(%d) = %v", st, v)
				}
				if v < c.lo-1e-12 || v > c.hi+1e-12 {
					t.Fatalf("LR(%d) = %.12g outside [%g, %g]", st, v, c.lo, c.hi)
				}
			}
			for _, sp := range c.down {
				for st := sp.from + 1; st <= sp.to; st++ {
					if s.LR(st) > s.LR(st-1)+1e-15 {
						t.Fatalf("rises at %d on [%d, %d]: %.17g > %.17g", st, sp.from, sp.to, s.LR(st), s.LR(st-1))
					}
				}
			}
			for _, sp := range c.up {
				for st := sp.from + 1; st <= sp.to; st++ {
					if s.LR(st) < s.LR(st-1)-1e-15 {
						t.Fatalf("falls at %d on [%d, %d]: %.17g < %.17g", st, sp.from, sp.to, s.LR(st), s.LR(st-1))
					}
				}
			}
			for _, j := range c.joins {
				checkJoin(t, s, j)
			}
			if c.end > 0 {
				for _, st := range []int64{c.end, c.end + 1, 2*c.end + 3, 10 * c.end, 1 << 40, math.MaxInt64} {
					if got := s.LR(st); !closeTo(got, c.final, 1e-12) {
						t.Errorf("past the end: LR(%d) = %.12g, want %.12g", st, got, c.final)
					}
				}
			} else {
				for _, st := range []int64{1 << 40, math.MaxInt64} {
					if v := s.LR(st); math.IsNaN(v) || math.IsInf(v, 0) || v < c.lo-1e-12 || v > c.hi+1e-12 {
						t.Errorf("LR(%d) = %v outside [%g, %g]", st, v, c.lo, c.hi)
					}
				}
			}
		})
	}
}

// checkJoin asserts that the jump across a phase join is no larger than
// twice the steepest step on either side.
func checkJoin(t *testing.T, s Schedule, j int64) {
	t.Helper()
	jump := math.Abs(s.LR(j) - s.LR(j-1))
	slope := math.Max(math.Abs(s.LR(j-1)-s.LR(j-2)), math.Abs(s.LR(j+1)-s.LR(j)))
	if jump > 2*slope+1e-12 {
		t.Errorf("discontinuous at join %d: LR(%d) = %.12g, LR(%d) = %.12g, neighbouring slope %.3g", j, j-1, s.LR(j-1), j, s.LR(j), slope)
	}
}

// TestEveryKindHasProperties makes sure no builtin kind escapes the
// property tests above.
func TestEveryKindHasProperties(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range propCases() {
		seen[fmt.Sprintf("%T", c.s)] = true
	}
	for _, k := range builtinKinds {
		if !seen[fmt.Sprintf("%T", k.Proto)] {
			t.Errorf("kind %s (%T) has no property case", k.Name, k.Proto)
		}
	}
}

// Restarts are where a schedule jumps on purpose; the value there must be
// the new cycle's start.
func TestRestartValues(t *testing.T) {
	s := mustNew(t, SGDR{Peak: 1, Floor: 0.1, Period: 100, Mult: 2, Decay: 0.5})
	for i, st := range []int64{0, 100, 300, 700, 1500} {
		want := math.Max(0.1, math.Pow(0.5, float64(i)))
		if got := s.LR(st); !closeTo(got, want, 1e-12) {
			t.Errorf("restart %d at %d: LR = %g, want %g", i, st, got, want)
		}
	}
	w := mustNew(t, WSDS{Peak: 1, Floor: 0, Budgets: []int64{100, 200}, Decay: Steps(10), Shape: "linear"})
	if !closeTo(w.LR(99), 0.1, 1e-12) || w.LR(100) != 1 {
		t.Errorf("wsds at budget 100: LR(99) = %g, LR(100) = %g, want 0.1 then 1", w.LR(99), w.LR(100))
	}
}

// LR is safe for concurrent use: goroutines sharing one schedule see the
// same values as a sequential scan (run with -race to check for data
// races too).
func TestConcurrentLR(t *testing.T) {
	for _, c := range propCases() {
		s := mustNew(t, c.s)
		want := make([]float64, 500)
		for i := range want {
			want[i] = s.LR(int64(i))
		}
		errs := make(chan string, 4)
		for g := 0; g < 4; g++ {
			go func() {
				msg := ""
				for i := len(want) - 1; i >= 0; i-- {
					if got := s.LR(int64(i)); got != want[i] {
						msg = fmt.Sprintf("%s: concurrent LR(%d) = %g, sequential %g", c.name, i, got, want[i])
						break
					}
				}
				errs <- msg
			}()
		}
		for g := 0; g < 4; g++ {
			if m := <-errs; m != "" {
				t.Error(m)
			}
		}
	}
}
