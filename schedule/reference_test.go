package schedule

import (
	"encoding/csv"
	"flag"
	"fmt"
	"math"
	"os"
	"strconv"
	"sync"
	"testing"
)

// The reference tables of ../shared/spec/schedules.md (Tables A–I and the
// value lists of §15–§21, table "L"), checked value by value, twice:
//
//   - against the spec's printed value, which has six significant digits,
//     at relative tolerance 5e-6 (half a unit in the sixth digit is at most
//     5e-6 relative); an expected 0 must be within 1e-12;
//   - against the exact value of the same formula, computed independently
//     with mpmath at 40 digits by testdata/reference/gen.py into
//     testdata/reference/exact.csv, at relative tolerance 1e-9.
//
// Closed forms over whole step ranges are in formula_math_test.go.

const sixDigits = 5e-6

type refRow struct {
	name  string
	s     Schedule
	steps []int64
	want  []float64
}

func mustNew(t testing.TB, s Schedule) Schedule {
	t.Helper()
	p, err := New(s)
	if err != nil {
		t.Fatalf("New(%#v): %v", s, err)
	}
	return p
}

// closeTo reports whether got matches want to relative tolerance rtol, or
// to 1e-12 absolute when want is 0.
func closeTo(got, want, rtol float64) bool {
	if want == 0 {
		return math.Abs(got) <= 1e-12
	}
	return math.Abs(got-want) <= rtol*math.Abs(want)
}

type exactValue struct {
	spec, exact float64
	used        bool
}

var (
	worstExact float64 // largest relative error seen against exact.csv
	exactOnce  sync.Once
	exactMap   map[string]*exactValue
	exactErr   error
)

func exactKey(table, name string, step int64) string {
	return table + "|" + name + "|" + strconv.FormatInt(step, 10)
}

// loadExact reads testdata/reference/exact.csv once.
func loadExact(t *testing.T) map[string]*exactValue {
	t.Helper()
	exactOnce.Do(func() {
		f, err := os.Open("testdata/reference/exact.csv")
		if err != nil {
			exactErr = err
			return
		}
		defer f.Close()
		recs, err := csv.NewReader(f).ReadAll()
		if err != nil {
			exactErr = err
			return
		}
		exactMap = map[string]*exactValue{}
		for i, r := range recs[1:] {
			step, err1 := strconv.ParseInt(r[2], 10, 64)
			spec, err2 := strconv.ParseFloat(r[3], 64)
			ex, err3 := strconv.ParseFloat(r[4], 64)
			if err1 != nil || err2 != nil || err3 != nil {
				exactErr = fmt.Errorf("exact.csv:%d: bad row %q", i+2, r)
				return
			}
			exactMap[exactKey(r[0], r[1], step)] = &exactValue{spec: spec, exact: ex}
		}
	})
	if exactErr != nil {
		t.Fatal(exactErr)
	}
	return exactMap
}

func checkRows(t *testing.T, table string, rows []refRow, rtol float64) {
	t.Helper()
	ex := loadExact(t)
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			if len(r.steps) != len(r.want) {
				t.Fatalf("bad row: %d steps, %d values", len(r.steps), len(r.want))
			}
			s := mustNew(t, r.s)
			for i, st := range r.steps {
				got := s.LR(st)
				if !closeTo(got, r.want[i], rtol) {
					t.Errorf("LR(%d) = %.9g, want %.9g (rtol %g)", st, got, r.want[i], rtol)
				}
				e, ok := ex[exactKey(table, r.name, st)]
				if !ok {
					t.Errorf("no exact value for table %s, %q, step %d in exact.csv", table, r.name, st)
					continue
				}
				e.used = true
				if e.spec != r.want[i] {
					t.Errorf("step %d: exact.csv has spec value %g, this test %g", st, e.spec, r.want[i])
				}
				if !closeTo(e.exact, e.spec, sixDigits) {
					t.Errorf("step %d: spec value %g does not round the exact %.17g", st, e.spec, e.exact)
				}
				if !closeTo(got, e.exact, exact) {
					t.Errorf("LR(%d) = %.17g, exact %.17g (rtol %g)", st, got, e.exact, exact)
				}
				if e.exact != 0 {
					worstExact = max(worstExact, math.Abs(got-e.exact)/math.Abs(e.exact))
				}
			}
		})
	}
}

func TestReferenceTableA(t *testing.T) {
	steps := []int64{0, 1, 250, 500, 999, 1000, 1200}
	checkRows(t, "A", []refRow{
		{"linear min 0", Linear{Peak: 1, Steps: 1000}, steps, []float64{1, 0.999, 0.75, 0.5, 0.001, 0, 0}},
		{"linear min 0.1", Linear{Peak: 1, Floor: 0.1, Steps: 1000}, steps, []float64{1, 0.9991, 0.775, 0.55, 0.1009, 0.1, 0.1}},
		{"poly p=2", Polynomial{Peak: 1, Steps: 1000, Power: 2}, steps, []float64{1, 0.998001, 0.5625, 0.25, 1e-06, 0, 0}},
		{"poly p=0.5 min 0.1", Polynomial{Peak: 1, Floor: 0.1, Steps: 1000, Power: 0.5}, steps, []float64{1, 0.99955, 0.879423, 0.736396, 0.12846, 0.1, 0.1}},
		{"ExponentialLR 0.995", Exponential{Peak: 1, Gamma: 0.995}, steps, []float64{1, 0.995, 0.285608, 0.0815719, 0.00668741, 0.00665397, 0.00244173}},
		{"exp budget 1 to 0.01", Geometric{Peak: 1, Floor: 0.01, Steps: 1000}, steps, []float64{1, 0.995405, 0.316228, 0.1, 0.0100462, 0.01, 0.01}},
		{"optax exp k=100 r=0.5", ExpDecay{Peak: 1, Rate: 0.5, Every: 100}, steps, []float64{1, 0.993092, 0.176777, 0.03125, 0.000983355, 0.000976562, 0.000244141}},
		{"optax exp staircase", ExpDecay{Peak: 1, Rate: 0.5, Every: 100, Staircase: true}, steps, []float64{1, 1, 0.25, 0.03125, 0.00195312, 0.000976562, 0.000244141}},
		{"StepLR 300 0.1", Step{Peak: 1, Every: 300, Gamma: 0.1}, steps, []float64{1, 1, 1, 0.1, 0.001, 0.001, 0.0001}},
		{"MultiStep 300/600/900", MultiStep{Peak: 1, Milestones: []int64{300, 600, 900}, Gamma: 0.1}, steps, []float64{1, 1, 1, 0.1, 0.001, 0.001, 0.001}},
	}, sixDigits)
}

func TestReferenceTableB(t *testing.T) {
	steps := []int64{0, 1, 99, 100, 250, 500, 999, 1000, 1200}
	// HF's get_*_schedule_with_warmup(num_warmup_steps=100,
	// num_training_steps=1000): the warm-up counts inside the base's 1000.
	hf := func(base Schedule) Schedule { return Warmup{Base: base, Steps: 100} }
	checkRows(t, "B", []refRow{
		{"HF linear", hf(Linear{Peak: 1, Steps: 1000}), steps, []float64{0, 0.01, 0.99, 1, 0.833333, 0.555556, 0.00111111, 0, 0}},
		{"HF cosine", hf(Cosine{Peak: 1, Steps: 1000, Parity: ParityHF}), steps, []float64{0, 0.01, 0.99, 1, 0.933013, 0.586824, 3.04617e-06, 0, 0.116978}},
		{"HF cosine min_lr_rate 0.1", hf(Cosine{Peak: 1, Floor: 0.1, Steps: 1000, Parity: ParityHF}), steps, []float64{0, 0.01, 0.99, 1, 0.939711, 0.628142, 0.100003, 0.1, 0.20528}},
		{"HF poly p=2 lr_end 1e-7", hf(Polynomial{Peak: 1, Floor: 1e-7, Steps: 1000, Power: 2}), steps, []float64{0, 0.01, 0.99, 1, 0.694444, 0.308642, 1.33457e-06, 1e-07, 1e-07}},
		{"HF inverse_sqrt", InvSqrt{Peak: 1, Warmup: 100}, steps, []float64{0, 0.01, 0.99, 1, 0.632456, 0.447214, 0.316386, 0.316228, 0.288675}},
		{"HF inverse_sqrt timescale 400", InvSqrt{Peak: 1, Warmup: 100, Timescale: 400}, steps, []float64{0, 0.01, 0.99, 1, 0.852803, 0.707107, 0.554914, 0.5547, 0.516398}},
	}, sixDigits)
	steps = []int64{0, 1, 250, 500, 999, 1000, 1200}
	checkRows(t, "B", []refRow{
		{"torch cosine", Cosine{Peak: 1, Steps: 1000, Parity: ParityPyTorch}, steps, []float64{1, 0.999998, 0.853553, 0.5, 2.4674e-06, 0, 0.0954915}},
		{"optax cosine", Cosine{Peak: 1, Steps: 1000, Parity: ParityOptax}, steps, []float64{1, 0.999998, 0.853553, 0.5, 2.4674e-06, 0, 0}},
		{"cosine min 0.1 clamped", Cosine{Peak: 1, Floor: 0.1, Steps: 1000}, steps, []float64{1, 0.999998, 0.868198, 0.55, 0.100002, 0.1, 0.1}},
	}, sixDigits)
}

func TestReferenceTableC(t *testing.T) {
	steps := []int64{0, 1, 50, 99, 100, 150, 299, 300, 700, 701}
	checkRows(t, "C", []refRow{
		{"sgdr mult 1", SGDR{Peak: 1, Period: 100, Mult: 1, Decay: 1}, steps, []float64{1, 0.999753, 0.5, 0.00024672, 1, 0.5, 0.00024672, 1, 1, 0.999753}},
		{"sgdr mult 2", SGDR{Peak: 1, Period: 100, Mult: 2, Decay: 1}, steps, []float64{1, 0.999753, 0.5, 0.00024672, 1, 0.853553, 6.16838e-05, 1, 1, 0.999996}},
	}, sixDigits)
}

func TestReferenceTableD(t *testing.T) {
	steps := []int64{0, 1, 100, 200, 300, 400, 500, 600, 999, 1000}
	checkRows(t, "D", []refRow{
		{"triangular", Cyclic{Low: 0.1, High: 1, Up: 200, Mode: "triangular", Gamma: 1}, steps, []float64{0.1, 0.1045, 0.55, 1, 0.55, 0.1, 0.55, 1, 0.9955, 1}},
		{"triangular2", Cyclic{Low: 0.1, High: 1, Up: 200, Mode: "triangular2", Gamma: 1}, steps, []float64{0.1, 0.1045, 0.55, 1, 0.55, 0.1, 0.325, 0.55, 0.323875, 0.325}},
		{"exp_range 0.999", Cyclic{Low: 0.1, High: 1, Up: 200, Mode: "exp_range", Gamma: 0.999}, steps, []float64{0.1, 0.104495, 0.507156, 0.836784, 0.433318, 0.1, 0.372871, 0.593782, 0.429601, 0.430926}},
		{"triangular up 100 down 300", Cyclic{Low: 0.1, High: 1, Up: 100, Down: 300, Mode: "triangular", Gamma: 1}, steps, []float64{0.1, 0.109, 1, 0.7, 0.4, 0.1, 1, 0.7, 0.703, 0.7}},
	}, sixDigits)
}

func oc(shape string, phases int64, parity string) OneCycle {
	return OneCycle{Peak: 1, Steps: 1000, Pct: 0.3, Shape: shape, Div: 25, FinalDiv: 1e4, Phases: phases, Parity: parity}
}

func TestReferenceTableE(t *testing.T) {
	steps := []int64{0, 1, 150, 299, 300, 598, 650, 999, 1000}
	checkRows(t, "E", []refRow{
		{"torch cos", oc("cos", 2, ParityPyTorch), steps, []float64{0.04, 0.0400265, 0.522522, 1, 0.999995, 0.613449, 0.497758, 4e-06, 9.03548e-06}},
		{"torch linear", oc("linear", 2, ParityPyTorch), steps, []float64{0.04, 0.0432107, 0.521605, 1, 0.998571, 0.572859, 0.498573, 4e-06, -0.00142457}},
		{"torch cos 3-phase", oc("cos", 3, ParityPyTorch), steps, []float64{0.04, 0.0400265, 0.522522, 1, 0.999974, 0.04, 0.0383633, 4e-06, 4.61371e-06}},
		{"torch linear 3-phase", oc("linear", 3, ParityPyTorch), steps, []float64{0.04, 0.0432107, 0.521605, 1, 0.996789, 0.04, 0.0348135, 4e-06, -9.57406e-05}},
	}, sixDigits)
	steps = []int64{0, 150, 299, 300, 598, 999, 1000}
	checkRows(t, "E", []refRow{
		{"optax cosine_onecycle", oc("cos", 2, ParityOptax), steps, []float64{0.04, 0.52, 0.999974, 1, 0.615633, 9.03548e-06, 4e-06}},
		{"optax linear_onecycle", oc("linear", 3, ParityOptax), steps, []float64{0.04, 0.52, 0.9968, 1, 0.479855, 0.00027064, 4e-06}},
	}, sixDigits)
	// lrkit's default follows PyTorch up to T−1 and then holds min.
	for _, sh := range []string{"cos", "linear"} {
		for _, ph := range []int64{2, 3} {
			clean := mustNew(t, oc(sh, ph, ParityNone))
			torch := mustNew(t, oc(sh, ph, ParityPyTorch))
			for _, st := range []int64{0, 1, 150, 299, 300, 598, 650, 999} {
				if clean.LR(st) != torch.LR(st) {
					t.Errorf("%s/%d: clean LR(%d) = %g differs from pytorch %g", sh, ph, st, clean.LR(st), torch.LR(st))
				}
			}
			for _, st := range []int64{1000, 1001, 5000} {
				if got := clean.LR(st); !closeTo(got, 4e-6, 1e-9) {
					t.Errorf("%s/%d: clean LR(%d) = %g, want the final 4e-6", sh, ph, st, got)
				}
			}
		}
	}
}

func TestReferenceTableF(t *testing.T) {
	steps := []int64{0, 1, 250, 500, 999, 1000}
	uba := func(phi, floor float64) UBA { return UBA{Peak: 1, Floor: floor, Steps: 1000, Phi: phi} }
	checkRows(t, "F", []refRow{
		{"REX a=0.5", Rex{Peak: 1, Steps: 1000, A: 0.5, Every: 1}, steps, []float64{1, 0.9995, 0.857143, 0.666667, 0.001998, 0}},
		{"REX a=0.9", Rex{Peak: 1, Steps: 1000, A: 0.9, Every: 1}, steps, []float64{1, 0.9999, 0.967742, 0.909091, 0.0099108, 0}},
		{"UBA 0.5", uba(0.5, 0), steps, []float64{1, 0.999999, 0.958871, 0.8, 9.86952e-06, 0}},
		{"UBA 1", uba(1, 0), steps, []float64{1, 0.999999, 0.920991, 0.666667, 4.93479e-06, 0}},
		{"UBA 2", uba(2, 0), steps, []float64{1, 0.999998, 0.853553, 0.5, 2.4674e-06, 0}},
		{"UBA 5", uba(5, 0), steps, []float64{1, 0.999994, 0.699823, 0.285714, 9.86961e-07, 0}},
		{"UBA 0.5 min 0.1", uba(0.5, 0.1), steps, []float64{1, 0.999999, 0.962984, 0.82, 0.100009, 0.1}},
	}, sixDigits)
}

func TestReferenceTableG(t *testing.T) {
	steps := []int64{0, 50, 799, 800, 850, 900, 950, 999, 1000}
	w := func(shape string, floor float64) WSD {
		return WSD{Peak: 1, Floor: floor, Steps: 1000, Warmup: Steps(100), Decay: Steps(200), Shape: shape}
	}
	exp20 := w("exp", 0)
	exp20.Halflife = Steps(20)
	hf := w("cosine", 0.1)
	hf.Parity = ParityHF
	epfml := w("1-sqrt", 0)
	epfml.WarmupStart = 0.01
	checkRows(t, "G", []refRow{
		{"linear", w("linear", 0), steps, []float64{0, 0.5, 1, 1, 0.75, 0.5, 0.25, 0.005, 0}},
		{"cosine", w("cosine", 0), steps, []float64{0, 0.5, 1, 1, 0.853553, 0.5, 0.146447, 6.16838e-05, 0}},
		{"1-sqrt", w("1-sqrt", 0), steps, []float64{0, 0.5, 1, 1, 0.5, 0.292893, 0.133975, 0.00250313, 0}},
		{"square", w("square", 0), steps, []float64{0, 0.5, 1, 1, 0.9375, 0.75, 0.4375, 0.009975, 0}},
		{"1-sqrt min 0.1", w("1-sqrt", 0.1), steps, []float64{0, 0.5, 1, 1, 0.55, 0.363604, 0.220577, 0.102253, 0.1}},
		{"exp half-life 20", exp20, steps, []float64{0, 0.5, 1, 1, 0.176777, 0.03125, 0.00552427, 0.001011, 0}},
		{"geometric to 0.01", w("geometric", 0.01), steps, []float64{0, 0.5, 1, 1, 0.316228, 0.1, 0.0316228, 0.0102329, 0.01}},
		{"HF wsd min_lr_ratio 0.1", hf, steps, []float64{0.1, 0.55, 1, 1, 0.868198, 0.55, 0.231802, 0.100056, 0.1}},
		{"epfml sqrt", epfml, steps, []float64{0.01, 0.505, 1, 1, 0.5, 0.292893, 0.133975, 0.00250313, 0}},
	}, sixDigits)
	// exp with halflife 0 reaches the floor at T and equals geometric.
	auto := mustNew(t, w("exp", 0.01))
	geo := mustNew(t, w("geometric", 0.01))
	for st := int64(790); st <= 1010; st++ {
		if !closeTo(auto.LR(st), geo.LR(st), 1e-12) {
			t.Fatalf("exp with derived half-life LR(%d) = %g, geometric %g", st, auto.LR(st), geo.LR(st))
		}
	}
}

func TestReferenceTableH(t *testing.T) {
	s := WSDS{Peak: 1, Warmup: Steps(50), Budgets: []int64{400, 700, 1000}, Decay: Fraction(0.1), Shape: "linear"}
	checkRows(t, "H", []refRow{{"wsds", s,
		[]int64{0, 50, 359, 360, 380, 399, 400, 629, 665, 700, 950, 999},
		[]float64{0, 1, 1, 1, 0.5, 0.025, 1, 1, 0.5, 1, 0.5, 0.01}}}, sixDigits)
}

func TestReferenceLists(t *testing.T) {
	cp := []int64{0, 1, 250, 500, 999, 1000}
	inf := func(shape string) Infinite {
		return Infinite{Peak: 1, Level: 0.1, Floor: 0.01, Steps: 1000, Warmup: Steps(50), Cooldown: Steps(100), Anneal: Steps(200), Shape: shape, Alpha: 10}
	}
	infSteps := []int64{0, 25, 50, 100, 150, 500, 800, 900, 1000}
	pw := Power{Peak: 0.02, A: 4.6, B: -0.51, Batch: 1024, TokensPerStep: 1e6}
	full := pw
	full.Steps, full.Warmup, full.Decay = 1_000_000, Steps(10_000), Steps(100_000)
	// §18, Table I.
	checkRows(t, "I", []refRow{
		{"infinite cosine", inf("cosine"), infSteps, []float64{0, 0.5, 1, 0.55, 0.1, 0.1, 0.1, 0.0316228, 0.01}},
		{"infinite invsqrt", inf("invsqrt"), infSteps, []float64{0, 0.5, 1, 0.23753, 0.1, 0.1, 0.1, 0.0316228, 0.01}},
	}, sixDigits)
	checkRows(t, "L", []refRow{
		// §15, WSDC.
		{"wsdc", WSDC{Peak: 1, Level: 0.1, Warmup: Steps(100), Stable: Steps(500), Decay: Steps(200), Shape: "cosine"},
			[]int64{0, 50, 100, 600, 700, 799, 800, 5000}, []float64{0, 0.5, 1, 1, 0.55, 0.100056, 0.1, 0.1}},
		// §16, cosine power.
		{"cosine_power p=2", CosinePower{Peak: 1, Steps: 1000, P: 2}, cp, []float64{1, 0.999997, 0.806946, 0.414214, 1.71027e-06, 0}},
		{"cosine_power p=10", CosinePower{Peak: 1, Steps: 1000, P: 10}, cp, []float64{1, 0.999994, 0.681958, 0.240253, 6.31268e-07, 0}},
		{"cosine_power p=10 0.1/1e-4", CosinePower{Peak: 0.1, Floor: 1e-4, Steps: 1000, P: 10}, cp, []float64{0.1, 0.0999994, 0.0682276, 0.0241013, 0.000100063, 0.0001}},
		// §17, damped cosine (PROPOSED envelopes).
		{"damped_cosine", DampedCosine{Peak: 1, Steps: 1000, Cycles: 3, Damping: 3},
			[]int64{0, 100, 200, 400, 600, 800, 1000}, []float64{1, 0.370409, 0, 0.301194, 0, 0.090718, 0}},
		// §19, power scheduler: one step is 1e6 tokens.
		{"power core", pw, []int64{1_000, 100_000, 1_000_000}, []float64{0.02, 0.0115627, 0.0035732}},
		{"power full", full, []int64{5_000, 500_000, 950_000, 1_000_000}, []float64{0.01, 0.00508842, 0.0014235, 0}},
		// §20, warmup rules for β2 = 0.999 on a constant 1.
		{"untuned linear", Warmup{Base: Constant{Peak: 1}, Shape: "untuned_linear", Beta2: 0.999},
			[]int64{0, 1, 100, 1000, 2000}, []float64{0, 0.0005, 0.05, 0.5, 1}},
		{"untuned exp", Warmup{Base: Constant{Peak: 1}, Shape: "untuned_exp", Beta2: 0.999},
			[]int64{0, 1, 100, 1000, 2000}, []float64{0, 0.0009995, 0.0951626, 0.632121, 0.864665}},
		{"radam", Warmup{Base: Constant{Peak: 1}, Shape: "radam", Beta2: 0.999},
			[]int64{0, 1, 99, 999, 1999}, []float64{0.0173115, 0.0258211, 0.219788, 0.646377, 0.828887}},
		// §21, Defazio: the spec's 1-based updates 1, 2, 500, 999, 1000 are steps 0, 1, 499, 998, 999.
		{"defazio", Defazio{Peak: 1, Steps: 1000}, []int64{0, 1, 499, 998, 999}, []float64{0.999001, 0.998002, 0.5005, 0.001998, 0.000999001}},
	}, sixDigits)

	// §19: the cap stops binding at n* = 3.41498e10 tokens, between steps 34149 and 34150.
	p := mustNew(t, pw)
	if got := p.LR(34149); got != 0.02 {
		t.Errorf("power LR(34149) = %g, want the cap 0.02", got)
	}
	if got := p.LR(34150); !(got < 0.02) {
		t.Errorf("power LR(34150) = %g, want below the cap", got)
	}
	nstar := math.Pow(0.02/(1024*4.6), 1/-0.51)
	if !closeTo(nstar, 3.41498e10, sixDigits) {
		t.Errorf("n* = %g, spec says 3.41498e10", nstar)
	}
	// §20: the RAdam offset δ is 5 for β2 = 0.999.
	if d := radamOffset(0.999, 2/(1-0.999)-1); d != 5 {
		t.Errorf("RAdam offset = %d, want 5", d)
	}
}

// TestReferenceExactCoverage checks that every row of exact.csv was
// compared by the tests above (it runs after them; skipped under -run).
func TestReferenceExactCoverage(t *testing.T) {
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() != "" {
		t.Skip("only meaningful when every reference test ran")
	}
	n := 0
	for k, v := range loadExact(t) {
		n++
		if !v.used {
			t.Errorf("exact.csv row %s was not checked", k)
		}
	}
	if n < 400 {
		t.Errorf("exact.csv has only %d rows", n)
	}
	t.Logf("%d exact values; worst relative error of LR against them: %.3g", n, worstExact)
}

// The SGDR float-log boundary cases of spec §8: PyTorch's step(epoch) path
// lands in the wrong cycle; lrkit's integer search does not.
func TestSGDRBoundaries(t *testing.T) {
	for _, c := range []struct{ period, mult, step int64 }{{1, 10, 111}, {1, 3, 121}} {
		t.Run(fmt.Sprintf("T0=%d,m=%d,t=%d", c.period, c.mult, c.step), func(t *testing.T) {
			clean := mustNew(t, SGDR{Peak: 1, Floor: 0.1, Period: c.period, Mult: c.mult, Decay: 1})
			torch := mustNew(t, SGDR{Peak: 1, Floor: 0.1, Period: c.period, Mult: c.mult, Decay: 1, Parity: ParityPyTorch})
			if got := clean.LR(c.step); got != 1 {
				t.Errorf("clean LR(%d) = %g, want the restart value 1", c.step, got)
			}
			if got := torch.LR(c.step); !closeTo(got, 0.1, 1e-12) {
				t.Errorf("pytorch-parity LR(%d) = %g, want the float-log quirk value 0.1", c.step, got)
			}
		})
	}
}

// crLog must agree with CPython's math.log (glibc) on the values the SGDR
// quirk depends on, and be within one ulp of math.Log everywhere.
func TestCrLog(t *testing.T) {
	for _, c := range []struct{ x, want float64 }{
		{3, 1.0986122886681098}, // Go's math.Log gives ...096
		{243, 5.493061443340548},
		{10, 2.302585092994046},
		{1000, 6.907755278982137},
		{2, 0.6931471805599453},
		{1, 0},
	} {
		if got := crLog(c.x); got != c.want {
			t.Errorf("crLog(%g) = %.17g, want %.17g", c.x, got, c.want)
		}
	}
	for x := 1e-300; x < 1e300; x *= 1.37 {
		got, ref := crLog(x), math.Log(x)
		if math.Abs(got-ref) > 2*math.Abs(math.Nextafter(ref, math.Inf(1))-ref) {
			t.Fatalf("crLog(%g) = %.17g, math.Log %.17g", x, got, ref)
		}
	}
}
