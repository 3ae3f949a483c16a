package schedule

import (
	"fmt"
	"math"
	"strings"
)

// This file holds the small helpers the schedule types share: parameter
// checks that return *ParamError, step clamping and the decay shapes.

func perr(param, format string, args ...any) error {
	return &ParamError{Param: param, Msg: fmt.Sprintf(format, args...)}
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// checkFinite rejects NaN and ±Inf.
func checkFinite(name string, v float64) error {
	if !isFinite(v) {
		return perr(name, "must be a finite number, got %v", v)
	}
	return nil
}

// maxValue bounds rates and factors: nothing real comes near it, and
// keeping below it means a product of two such values (a scale of a
// table, say) cannot overflow to Inf.
const maxValue = 1e30

// checkRate rejects a learning rate that is negative, not finite or
// absurdly large.
func checkRate(name string, v float64) error {
	if err := checkFinite(name, v); err != nil {
		return err
	}
	if v < 0 {
		return perr(name, "must not be negative, got %g", v)
	}
	if v > maxValue {
		return perr(name, "must be at most %g, got %g", maxValue, v)
	}
	return nil
}

// checkPositive rejects v <= 0, non-finite and absurdly large values.
func checkPositive(name string, v float64) error {
	if err := checkFinite(name, v); err != nil {
		return err
	}
	if v <= 0 {
		return perr(name, "must be greater than 0, got %g", v)
	}
	if v > maxValue {
		return perr(name, "must be at most %g, got %g", maxValue, v)
	}
	return nil
}

// checkDecayFactor requires a factor in (0, 1].
func checkDecayFactor(name string, v float64) error {
	if err := checkPositive(name, v); err != nil {
		return err
	}
	if v > 1 {
		return perr(name, "must not exceed 1 (the rate would grow), got %g", v)
	}
	return nil
}

// checkPeakFloor checks the common pair: finite, floor >= 0, peak >= floor.
func checkPeakFloor(peak, floor float64) error {
	if err := checkRate("peak", peak); err != nil {
		return err
	}
	if err := checkRate("floor", floor); err != nil {
		return err
	}
	if floor > peak {
		return perr("floor", "must not exceed peak (floor %g > peak %g); lower floor or raise peak", floor, peak)
	}
	return nil
}

// checkHorizon requires a positive step count.
func checkHorizon(name string, n int64) error {
	if n <= 0 {
		return perr(name, "must be a positive number of steps, got %d", n)
	}
	return nil
}

// checkCount requires a non-negative step count.
func checkCount(name string, n int64) error {
	if n < 0 {
		return perr(name, "must not be negative, got %d", n)
	}
	return nil
}

// checkLength wraps Length.check into a ParamError.
func checkLength(name string, l Length) error {
	if err := l.check(name); err != nil {
		return &ParamError{Param: name, Msg: strings.TrimPrefix(err.Error(), name+" ")}
	}
	return nil
}

// checkChoice rejects a string outside the allowed words. The empty
// string stands for the default (the first word), so Go struct literals
// need not spell it out.
func checkChoice(name, v string, allowed ...string) error {
	if v == "" {
		return nil
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return perr(name, "must be one of %s, got %q", strings.Join(allowed, ", "), v)
}

// validateChild validates a nested schedule, naming the parameter that holds it.
func validateChild(name string, s Schedule) error {
	if s == nil {
		return perr(name, "is missing: give a schedule")
	}
	if v, ok := s.(Validator); ok {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// nonNeg maps negative steps to 0, as the package documents.
func nonNeg(t int64) int64 {
	if t < 0 {
		return 0
	}
	return t
}

// progress returns min(max(t,0), n)/n for n > 0.
func progress(t, n int64) float64 {
	if t <= 0 {
		return 0
	}
	if t >= n {
		return 1
	}
	return float64(t) / float64(n)
}

// between is floor + (peak-floor)*m, the floor form of the spec (§0).
func between(floor, peak, m float64) float64 { return floor + (peak-floor)*m }

// Decay shape names shared by wsd, wsds, wsdc and the infinite schedule.
const (
	shapeLinear = "linear"
	shapeCosine = "cosine"
	shapeSqrt   = "1-sqrt"
	shapeSquare = "square"
)

// decayShape returns g(x) for x in [0, 1]: 1 at x=0, 0 at x=1.
// linear 1-x; cosine (1+cos πx)/2; 1-sqrt 1-√x (Hägele et al. 2024);
// square 1-x².
func decayShape(shape string, x float64) float64 {
	switch shape {
	case shapeCosine:
		return 0.5 * (1 + math.Cos(math.Pi*x))
	case shapeSqrt:
		return 1 - math.Sqrt(x)
	case shapeSquare:
		return 1 - x*x
	default:
		return 1 - x
	}
}
