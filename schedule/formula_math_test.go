package schedule

import (
	"math"
	"testing"
)

// Every schedule against its closed form, written here independently of
// the implementation (often in a different but equivalent algebraic
// form), over whole ranges of steps at relative tolerance 1e-9.

type formulaRow struct {
	name     string
	s        Schedule
	want     func(t float64) float64
	from, to int64
}

const exact = 1e-9

func checkFormulas(t *testing.T, rows []formulaRow) {
	t.Helper()
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			s := mustNew(t, r.s)
			bad := 0
			for st := r.from; st <= r.to; st++ {
				got, want := s.LR(st), r.want(float64(st))
				ok := closeTo(got, want, exact) || math.Abs(got-want) <= 1e-15
				if !ok {
					bad++
					if bad <= 3 {
						t.Errorf("LR(%d) = %.17g, want %.17g", st, got, want)
					}
				}
			}
		})
	}
}

func TestFormulasClassic(t *testing.T) {
	const T = 1000.0
	cl := func(t float64) float64 { return math.Min(t, T) }
	checkFormulas(t, []formulaRow{
		{"linear", Linear{Peak: 2, Floor: 0.5, Steps: 1000}, func(t float64) float64 { return 2 - 1.5*cl(t)/T }, 0, 1300},
		{"polynomial", Polynomial{Peak: 1, Floor: 0.1, Steps: 1000, Power: 0.5}, func(t float64) float64 { return 0.1 + 0.9*math.Sqrt((T-cl(t))/T) }, 0, 1300},
		{"exponential", Exponential{Peak: 3, Gamma: 0.995, Floor: 0.01}, func(t float64) float64 { return math.Max(0.01, 3*math.Exp(t*math.Log(0.995))) }, 0, 3000},
		{"geometric", Geometric{Peak: 1, Floor: 0.01, Steps: 1000}, func(t float64) float64 { return math.Exp(-2 * math.Ln10 * cl(t) / T) }, 0, 1300},
		{"exp_decay", ExpDecay{Peak: 1, Rate: 0.5, Every: 100, Begin: 50}, func(t float64) float64 { return math.Exp2(-math.Max(0, t-50) / 100) }, 0, 1300},
		{"exp_decay staircase end", ExpDecay{Peak: 1, Rate: 0.5, Every: 100, Staircase: true, End: 0.01}, func(t float64) float64 { return math.Max(0.01, math.Exp2(-math.Floor(t/100))) }, 0, 1300},
		{"exp_decay rising end", ExpDecay{Peak: 1, Rate: 2, Every: 100, End: 5}, func(t float64) float64 { return math.Min(5, math.Exp2(t/100)) }, 0, 1300},
		{"step", Step{Peak: 1, Every: 300, Gamma: 0.1}, func(t float64) float64 { return math.Pow(10, -math.Floor(t/300)) }, 0, 1300},
		{"multistep repeated", MultiStep{Peak: 0.5, Milestones: []int64{25, 50, 50, 80}, Gamma: 0.5}, func(t float64) float64 {
			k := 0.0
			for _, m := range []float64{25, 50, 50, 80} {
				if t >= m {
					k++
				}
			}
			return 0.5 * math.Pow(0.5, k)
		}, 0, 200},
		{"invsqrt", InvSqrt{Peak: 1, Warmup: 100}, func(t float64) float64 {
			if t < 100 {
				return t / 100
			}
			return math.Sqrt(100 / t)
		}, 0, 3000},
		{"invsqrt no warmup", InvSqrt{Peak: 1}, func(t float64) float64 { return math.Sqrt(1e4 / (t + 1e4)) }, 0, 3000},
		{"defazio", Defazio{Peak: 1, Steps: 1000}, func(t float64) float64 { return (T - math.Min(t, T-1)) / (T + 1) }, 0, 1300},
	})
}

func TestFormulasCosineFamily(t *testing.T) {
	const T = 1000.0
	c := func(t float64) float64 { return (1 + math.Cos(math.Pi*math.Min(t, T)/T)) / 2 }
	checkFormulas(t, []formulaRow{
		{"cosine", Cosine{Peak: 1, Floor: 0.1, Steps: 1000}, func(t float64) float64 { return 0.1 + 0.9*c(t) }, 0, 1300},
		{"cosine pytorch", Cosine{Peak: 1, Floor: 0.1, Steps: 1000, Parity: ParityPyTorch}, func(t float64) float64 {
			return 0.1 + 0.9*math.Pow(math.Cos(math.Pi*t/(2*T)), 2)
		}, 0, 3000},
		{"uba phi 2 is cosine", UBA{Peak: 1, Floor: 0.1, Steps: 1000, Phi: 2}, func(t float64) float64 { return 0.1 + 0.9*c(t) }, 0, 1300},
		{"uba phi 0.5", UBA{Peak: 1, Steps: 1000, Phi: 0.5}, func(t float64) float64 {
			cc := 2 * c(t)
			return 2 * cc / (1 + 1.5*cc)
		}, 0, 1300},
		{"rex a=0.5", Rex{Peak: 1, Steps: 1000, A: 0.5, Every: 1}, func(t float64) float64 {
			z := 1 - math.Min(t, T)/T
			return z / (0.5 + 0.5*z)
		}, 0, 1300},
		{"rex every 100", Rex{Peak: 1, Steps: 1000, A: 0.9, Every: 100}, func(t float64) float64 {
			z := 1 - math.Min(100*math.Floor(t/100), T)/T
			return z / (0.1 + 0.9*z)
		}, 0, 1300},
		{"cosine_power p=1 is cosine", CosinePower{Peak: 1, Steps: 1000, P: 1}, c, 0, 1300},
		{"cosine_power p=10", CosinePower{Peak: 1, Steps: 1000, P: 10}, func(t float64) float64 {
			return (math.Exp(math.Ln10*(c(t)+1)) - 10) / 90
		}, 0, 1300},
		{"damped_cosine", DampedCosine{Peak: 1, Steps: 1000, Cycles: 3, Damping: 3}, func(t float64) float64 {
			p := math.Min(t, T) / T
			return math.Exp(-3*p) * (1 + math.Cos(5*math.Pi*p)) / 2
		}, 0, 1300},
	})
}

// sgdrRef finds the cycle by listing the cycle starts.
func sgdrRef(t, t0, mult float64) (float64, float64) {
	start, length := 0.0, t0
	for t >= start+length {
		start += length
		length *= mult
	}
	return t - start, length
}

func TestFormulasCycles(t *testing.T) {
	checkFormulas(t, []formulaRow{
		{"sgdr mult 2 decay 0.5", SGDR{Peak: 1, Floor: 0.01, Period: 100, Mult: 2, Decay: 0.5}, func(t float64) float64 {
			cur, l := sgdrRef(t, 100, 2)
			n := math.Round(math.Log2(l / 100))
			pk := math.Max(0.01, math.Pow(0.5, n))
			return 0.01 + (pk-0.01)*(1+math.Cos(math.Pi*cur/l))/2
		}, 0, 5000},
		{"sgdr mult 3 pytorch parity", SGDR{Peak: 1, Period: 7, Mult: 3, Decay: 1, Parity: ParityPyTorch}, func(t float64) float64 {
			if t == 847 {
				// Restart 5 starts at 847 = 7·(3^5−1)/2; PyTorch's float log
				// gives 4.999999999999999 there, so it reports the end of cycle 4.
				return 0
			}
			cur, l := sgdrRef(t, 7, 3)
			return (1 + math.Cos(math.Pi*cur/l)) / 2
		}, 0, 3000},
		{"cyclic triangular asymmetric", Cyclic{Low: 0.1, High: 1, Up: 100, Down: 300, Gamma: 1}, func(t float64) float64 {
			p := math.Mod(t, 400)
			if p <= 100 {
				return 0.1 + 0.9*p/100
			}
			return 1 - 0.9*(p-100)/300
		}, 0, 2000},
		{"cyclic triangular2", Cyclic{Low: 0, High: 1, Up: 50, Mode: "triangular2", Gamma: 1}, func(t float64) float64 {
			p := math.Mod(t, 100)
			amp := math.Pow(0.5, math.Floor(t/100))
			return amp * (1 - math.Abs(p-50)/50)
		}, 0, 2000},
		{"cycle", Cycle{Base: Linear{Peak: 1, Steps: 100}, Period: 150}, func(t float64) float64 {
			return math.Max(0, 1-math.Mod(t, 150)/100)
		}, 0, 2000},
		{"restarts", Restarts{Base: Cosine{Peak: 1, Steps: 100}, Period: 100, Mult: 2, Decay: 0.5}, func(t float64) float64 {
			cur, l := sgdrRef(t, 100, 2)
			n := math.Round(math.Log2(l / 100))
			return math.Pow(0.5, n) * (1 + math.Cos(math.Pi*math.Min(cur, 100)/100)) / 2
		}, 0, 3000},
	})
}

func TestFormulasOneCycle(t *testing.T) {
	// PyTorch two-phase cos, T = 200, pct 0.25, div 10, final_div 100.
	const T, pk = 200.0, 2.0
	init, low := pk/10, pk/10/100
	e1 := 0.25*T - 1
	cosI := func(a, b, q float64) float64 { return b + (a-b)*math.Pow(math.Cos(math.Pi*q/2), 2) }
	checkFormulas(t, []formulaRow{
		{"torch cos custom", OneCycle{Peak: pk, Steps: 200, Pct: 0.25, Shape: "cos", Div: 10, FinalDiv: 100, Phases: 2, Parity: ParityPyTorch}, func(t float64) float64 {
			if t <= e1 {
				return cosI(init, pk, t/e1)
			}
			return cosI(pk, low, (math.Min(t, T)-e1)/(T-1-e1))
		}, 0, 300},
		{"clean linear 3-phase", OneCycle{Peak: pk, Steps: 200, Pct: 0.25, Shape: "linear", Div: 10, FinalDiv: 100, Phases: 3}, func(t float64) float64 {
			e2 := 2*0.25*T - 2
			t = math.Min(t, T-1)
			switch {
			case t <= e1:
				return init + (pk-init)*t/e1
			case t <= e2:
				return pk + (init-pk)*(t-e1)/(e2-e1)
			}
			return init + (low-init)*(t-e2)/(T-1-e2)
		}, 0, 300},
	})
}

func TestFormulasPhased(t *testing.T) {
	checkFormulas(t, []formulaRow{
		{"wsd 1-sqrt fractions", WSD{Peak: 2, Floor: 0.2, Steps: 1000, Warmup: Fraction(0.05), Decay: Fraction(0.2), Shape: "1-sqrt"}, func(t float64) float64 {
			switch {
			case t < 50:
				return 2 * t / 50
			case t < 800:
				return 2
			case t >= 1000:
				return 0.2
			}
			return 0.2 + 1.8*(1-math.Sqrt((t-800)/200))
		}, 0, 1200},
		{"wsds cosine", WSDS{Peak: 1, Floor: 0.1, Warmup: Steps(10), Budgets: []int64{100, 300}, Decay: Steps(20), Shape: "cosine"}, func(t float64) float64 {
			switch {
			case t < 10:
				return t / 10
			case t >= 80 && t < 100:
				return 0.1 + 0.9*(1+math.Cos(math.Pi*(t-80)/20))/2
			case t >= 280 && t < 300:
				return 0.1 + 0.9*(1+math.Cos(math.Pi*(t-280)/20))/2
			case t >= 300:
				return 0.1
			}
			return 1
		}, 0, 400},
		{"wsdc linear", WSDC{Peak: 1, Level: 0.2, Warmup: Steps(10), Stable: Steps(40), Decay: Steps(50), Shape: "linear"}, func(t float64) float64 {
			switch {
			case t < 10:
				return t / 10
			case t < 50:
				return 1
			case t < 100:
				return 1 - 0.8*(t-50)/50
			}
			return 0.2
		}, 0, 400},
		{"infinite linear open-ended", Infinite{Peak: 1, Level: 0.3, Warmup: Steps(10), Cooldown: Steps(40), Shape: "linear", Alpha: 10}, func(t float64) float64 {
			switch {
			case t <= 10:
				return t / 10
			case t <= 50:
				return 1 - 0.7*(t-10)/40
			}
			return 0.3
		}, 0, 5000},
		{"infinite invsqrt", Infinite{Peak: 1, Level: 0.1, Floor: 0.01, Steps: 1000, Warmup: Steps(50), Cooldown: Steps(100), Anneal: Steps(200), Shape: "invsqrt", Alpha: 10}, func(t float64) float64 {
			switch {
			case t <= 50:
				return t / 50
			case t <= 150:
				x := (t - 50) / 100
				return 1 - 0.9*(1-1/math.Sqrt(1+10*x))/(1-1/math.Sqrt(11))
			case t <= 800:
				return 0.1
			case t >= 1000:
				return 0.01
			}
			return 0.1 * math.Pow(10, -(t-800)/200)
		}, 0, 1200},
		{"power full", Power{Peak: 0.02, A: 4.6, B: -0.51, Batch: 1024, TokensPerStep: 1e6, Steps: 1000, Warmup: Steps(10), Decay: Steps(100)}, func(t float64) float64 {
			p := func(n float64) float64 { return math.Min(0.02, 1024*4.6*math.Exp(-0.51*math.Log(n*1e6))) }
			switch {
			case t < 10:
				return t / 10 * p(10)
			case t < 900:
				return p(t)
			case t >= 1000:
				return 0
			}
			x := (t - 900) / 100
			return (math.Exp(1-x) - 1) / (math.E - 1) * p(900)
		}, 0, 1200},
		{"slow_start_fast_decay", SlowStartFastDecay{Peak: 1, Floor: 0.1, Steps: 1000, Ramp: Fraction(0.8)}, func(t float64) float64 {
			if t < 800 {
				return t / 800
			}
			return math.Max(0.1, 1-0.9*(t-800)/200)
		}, 0, 1200},
	})
}

func TestFormulasWarmupAndComposition(t *testing.T) {
	checkFormulas(t, []formulaRow{
		{"warmup linear start", Warmup{Base: Cosine{Peak: 2, Steps: 1000}, Steps: 100, Start: 0.25}, func(t float64) float64 {
			if t < 100 {
				return 2 * (0.25 + 0.75*t/100)
			}
			return 2 * (1 + math.Cos(math.Pi*math.Min(t-100, 900)/900)) / 2
		}, 0, 1200},
		{"warmup linear prefix", Warmup{Base: Cosine{Peak: 2, Steps: 900}, Steps: 100, Start: 0.25, Prefix: true}, func(t float64) float64 {
			if t < 100 {
				return 2 * (0.25 + 0.75*t/100)
			}
			return 2 * (1 + math.Cos(math.Pi*math.Min(t-100, 900)/900)) / 2
		}, 0, 1200},
		{"warmup exp", Warmup{Base: Linear{Peak: 1, Steps: 1000}, Steps: 50, Shape: "exp"}, func(t float64) float64 {
			return (1 - math.Exp(-t/50)) * math.Max(0, 1-t/1000)
		}, 0, 1200},
		{"join", Join{Parts: []Schedule{Linear{Peak: 1, Steps: 100}, Constant{Peak: 0.5}, Cosine{Peak: 0.5, Steps: 200}}, At: []int64{100, 300}}, func(t float64) float64 {
			switch {
			case t < 100:
				return 1 - t/100
			case t < 300:
				return 0.5
			}
			return 0.25 * (1 + math.Cos(math.Pi*math.Min(t-300, 200)/200))
		}, 0, 800},
		{"clamp scale floor", Floor{Base: Clamp{Base: Scale{Base: Linear{Peak: 1, Steps: 100}, By: 3}, Min: 0.5, Max: 2}, Min: 1}, func(t float64) float64 {
			return math.Max(1, math.Min(2, math.Max(0.5, 3*math.Max(0, 1-t/100))))
		}, 0, 200},
		{"table inline", Table{At: []int64{10, 100, 100, 200}, Rates: []float64{0, 1, 0.5, 0.1}, Scale: 2}, func(t float64) float64 {
			switch {
			case t < 10:
				return 0
			case t < 100:
				return 2 * (t - 10) / 90
			case t < 200:
				return 2 * (0.5 - 0.4*(t-100)/100)
			}
			return 0.2
		}, 0, 300},
	})
}
