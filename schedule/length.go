package schedule

import (
	"fmt"
	"math"
	"strconv"
)

// Length is a phase length given either as a step count ("warmup=500") or
// as a fraction of a total ("warmup=0.05"). In spec text an integer
// literal is a count; a literal with a decimal point or an exponent is a
// fraction and must lie in [0, 1]. The canonical form prints what was
// written.
type Length struct {
	Count  int64   // used when !IsFrac
	Frac   float64 // used when IsFrac, in [0, 1]
	IsFrac bool
}

// Steps returns a count Length.
func Steps(n int64) Length { return Length{Count: n} }

// Fraction returns a fraction Length.
func Fraction(f float64) Length { return Length{Frac: f, IsFrac: true} }

// Of resolves the length against a total number of steps. A fraction is
// rounded to the nearest step (half away from zero), and never exceeds
// the total.
func (l Length) Of(total int64) int64 {
	if !l.IsFrac {
		return l.Count
	}
	n := math.Round(l.Frac * float64(total))
	// float64(total) rounds up for totals near math.MaxInt64 (2^63 − 1
	// becomes 2^63), and converting 2^63 back to int64 overflows to a
	// negative count: wsd(steps=9223372036854775807, decay=1.0) then
	// started its decay "after" the end and returned twice its peak. A
	// fraction of at most 1 is at most the total, so clamp to it.
	if total > 0 && n >= float64(total) {
		return total
	}
	return int64(n)
}

// IsZero reports whether the length is zero steps or a zero fraction.
func (l Length) IsZero() bool {
	if l.IsFrac {
		return l.Frac == 0
	}
	return l.Count == 0
}

// String prints the length as spec text: "500" or "0.05".
func (l Length) String() string {
	if !l.IsFrac {
		return strconv.FormatInt(l.Count, 10)
	}
	s := strconv.FormatFloat(l.Frac, 'g', -1, 64)
	if !containsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

// check reports a negative count or a fraction outside [0, 1].
func (l Length) check(name string) error {
	if l.IsFrac {
		if !(l.Frac >= 0 && l.Frac <= 1) {
			return fmt.Errorf("%s must be a fraction in [0, 1] or a step count, got %s", name, l)
		}
		return nil
	}
	if l.Count < 0 {
		return fmt.Errorf("%s must not be negative, got %d", name, l.Count)
	}
	return nil
}

func containsAny(s, chars string) bool {
	for _, c := range s {
		for _, d := range chars {
			if c == d {
				return true
			}
		}
	}
	return false
}
