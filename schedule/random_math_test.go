package schedule

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// Random parameters for every kind, good and bad: Validate and Prepare
// never panic, and whatever they accept gives a finite, non-negative rate
// at every step (PyTorch's OneCycle extrapolation at t = T is the one
// documented exception).

var (
	randFloats = []float64{0, 1e-9, 1e-4, 0.01, 0.1, 0.3, 0.5, 0.85, 0.9, 0.999, 1, 2, 3, 10, 25, 1e4, 1e300, -1, -0.5, math.NaN(), math.Inf(1), math.Inf(-1)}
	randInts   = []int64{0, 1, 2, 3, 5, 7, 10, 50, 100, 999, 1000, 5000, 1 << 40, -1, -100, math.MaxInt64}
)

func randLength(r *rand.Rand) Length {
	if r.IntN(2) == 0 {
		return Steps(randInts[r.IntN(len(randInts))])
	}
	return Fraction(randFloats[r.IntN(len(randFloats))])
}

func randSchedule(r *rand.Rand) Schedule {
	switch r.IntN(3) {
	case 0:
		return Constant{Peak: randFloats[r.IntN(len(randFloats))]}
	case 1:
		return Linear{Peak: 1, Floor: 0.1, Steps: randInts[r.IntN(len(randInts))]}
	}
	return Cosine{Peak: 2, Steps: 100, Parity: ParityPyTorch}
}

// randFill sets every exported field of the struct v to a random value.
func randFill(r *rand.Rand, v reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		switch fv.Interface().(type) {
		case float64:
			fv.SetFloat(randFloats[r.IntN(len(randFloats))])
		case int64:
			fv.SetInt(randInts[r.IntN(len(randInts))])
		case bool:
			fv.SetBool(r.IntN(2) == 0)
		case string:
			words := strings.Split(f.Tag.Get("choices"), "|")
			if f.Tag.Get("choices") == "" {
				words = []string{""}
			}
			words = append(words, "", "bogus")
			fv.SetString(words[r.IntN(len(words))])
		case Length:
			fv.Set(reflect.ValueOf(randLength(r)))
		case []float64:
			n := r.IntN(4)
			xs := make([]float64, n)
			for j := range xs {
				xs[j] = randFloats[r.IntN(len(randFloats))]
			}
			fv.Set(reflect.ValueOf(xs))
		case []int64:
			n := r.IntN(4)
			xs := make([]int64, n)
			for j := range xs {
				xs[j] = randInts[r.IntN(len(randInts))]
			}
			if r.IntN(2) == 0 {
				for j := 1; j < n; j++ {
					xs[j] = max(xs[j], xs[j-1]+1)
				}
			}
			fv.Set(reflect.ValueOf(xs))
		case []Schedule:
			n := r.IntN(3)
			xs := make([]Schedule, n)
			for j := range xs {
				xs[j] = randSchedule(r)
			}
			fv.Set(reflect.ValueOf(xs))
		default:
			if fv.Type() == reflect.TypeFor[Schedule]() {
				if r.IntN(8) > 0 {
					fv.Set(reflect.ValueOf(randSchedule(r)))
				}
				continue
			}
			panic(fmt.Sprintf("randFill: field %s has type %s", f.Name, fv.Type()))
		}
	}
}

func TestRandomParameters(t *testing.T) {
	seed := uint64(1)
	if v, err := strconv.ParseUint(os.Getenv("LRKIT_RANDOM_SEED"), 10, 64); err == nil {
		seed = v // explore: LRKIT_RANDOM_SEED=7 go test -run RandomParameters ./schedule
	}
	r := rand.New(rand.NewPCG(seed, 2))
	steps := []int64{math.MinInt64, -1, 0, 1, 2, 3, 49, 50, 99, 100, 101, 299, 300, 999, 1000, 1001, 4999, 5000, 123456, 1 << 40, math.MaxInt64 - 1, math.MaxInt64}
	for _, k := range builtinKinds {
		accepted := 0
		for i := 0; i < 1000; i++ {
			v := reflect.New(reflect.TypeOf(k.Proto)).Elem()
			randFill(r, v)
			s := v.Interface().(Schedule)
			p, err := safeNew(s)
			if err != nil {
				if strings.HasPrefix(err.Error(), "panic") {
					t.Fatalf("%s: New(%#v) panicked: %v", k.Name, s, err)
				}
				continue
			}
			accepted++
			for _, st := range steps {
				lr, perr := safeLR(p, st)
				if perr != nil {
					t.Fatalf("%s: LR(%d) of %#v panicked: %v", k.Name, st, s, perr)
				}
				if math.IsNaN(lr) || math.IsInf(lr, 0) {
					t.Fatalf("%s: LR(%d) = %v for %#v", k.Name, st, lr, s)
				}
				if lr < 0 && !oneCycleExtrapolates(p) {
					t.Fatalf("%s: LR(%d) = %v < 0 for %#v", k.Name, st, lr, s)
				}
			}
		}
		if accepted == 0 && seed == 1 {
			t.Errorf("%s: no random parameter set was valid; the generator misses this kind", k.Name)
		}
	}
}

func oneCycleExtrapolates(s Schedule) bool {
	o, ok := s.(OneCycle)
	return ok && o.Parity == ParityPyTorch && o.Shape == "linear"
}

func safeNew(s Schedule) (p Schedule, err error) {
	defer func() {
		if e := recover(); e != nil {
			err = fmt.Errorf("panic: %v", e)
		}
	}()
	return New(s)
}

func safeLR(s Schedule, t int64) (v float64, err error) {
	defer func() {
		if e := recover(); e != nil {
			err = fmt.Errorf("%v", e)
		}
	}()
	return s.LR(t), nil
}
