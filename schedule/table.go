package schedule

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// Table is a piecewise-linear schedule through given points: the rate is
// LR[i] at step At[i], linear in between, LR[0] before At[0] and the last
// value after the last point. Two equal consecutive steps make a jump; at
// that step the later value applies. Every value is multiplied by Scale.
//
// The points are given inline (at=[0, 100, 1000], lr=[0, 1, 0.1]) or read
// from a CSV file (file="lr.csv") whose first line is the header
// "step,lr" and whose other lines are a step and a rate. Refined and
// optimised schedules are written as tables.
//
// A Table with File set reads it in Prepare (New and Parse call it); until
// then its LR is 0.
type Table struct {
	At    []int64   `spec:"at" default:"[]" doc:"steps of the points, non-decreasing"`
	Rates []float64 `spec:"lr" default:"[]" doc:"learning rates at the points, >= 0"`
	File  string    `spec:"file" default:"" doc:"CSV file with header step,lr instead of at and lr"`
	Scale float64   `spec:"scale" default:"1" doc:"factor applied to every rate"`

	xs []int64   // prepared points (from the file, or At)
	ys []float64 // prepared rates, unscaled
}

// LR returns the learning rate at step t.
func (s Table) LR(t int64) float64 {
	xs, ys := s.xs, s.ys
	if xs == nil {
		xs, ys = s.At, s.Rates
	}
	if len(xs) == 0 || len(ys) != len(xs) {
		return 0
	}
	t = nonNeg(t)
	k := countLE(xs, t) // xs[k-1] <= t < xs[k]
	switch {
	case k == 0:
		return s.Scale * ys[0]
	case k == len(xs):
		return s.Scale * ys[k-1]
	}
	x0, x1 := xs[k-1], xs[k]
	y0, y1 := ys[k-1], ys[k]
	return s.Scale * (y0 + (y1-y0)*(float64(t-x0)/float64(x1-x0)))
}

// String returns the canonical spec text.
func (s Table) String() string { return Format(s) }

// Validate checks the inline points, or that a file is named instead.
func (s Table) Validate() error {
	if err := checkRate("scale", s.Scale); err != nil {
		return err
	}
	if s.File != "" {
		if len(s.At) > 0 || len(s.Rates) > 0 {
			return perr("file", "cannot be combined with at and lr; give the points inline or in the file")
		}
		return nil
	}
	if len(s.At) == 0 {
		return perr("at", "must list at least one point, or give file=\"x.csv\"")
	}
	if len(s.At) != len(s.Rates) {
		return perr("lr", "must have one rate per step in at (%d steps, %d rates)", len(s.At), len(s.Rates))
	}
	return checkPoints(s.At, s.Rates, func(i int, msg string) error {
		if strings.HasPrefix(msg, "lr") {
			return perr(fmt.Sprintf("lr[%d]", i), "%s", strings.TrimPrefix(msg, "lr "))
		}
		return perr(fmt.Sprintf("at[%d]", i), "%s", strings.TrimPrefix(msg, "step "))
	})
}

// checkPoints checks steps >= 0 and non-decreasing with at most two equal
// in a row, and rates finite and >= 0. bad reports point i.
func checkPoints(xs []int64, ys []float64, bad func(i int, msg string) error) error {
	for i := range xs {
		if xs[i] < 0 {
			return bad(i, fmt.Sprintf("step must not be negative, got %d", xs[i]))
		}
		if i > 0 && xs[i] < xs[i-1] {
			return bad(i, fmt.Sprintf("step must not decrease (%d after %d)", xs[i], xs[i-1]))
		}
		if i > 1 && xs[i] == xs[i-1] && xs[i] == xs[i-2] {
			return bad(i, fmt.Sprintf("step %d appears more than twice", xs[i]))
		}
		if !isFinite(ys[i]) || ys[i] < 0 || ys[i] > maxValue {
			return bad(i, fmt.Sprintf("lr must be a finite number in [0, %g], got %v", maxValue, ys[i]))
		}
	}
	return nil
}

// Prepare reads the CSV file when one is named; an inline table is
// returned as it is (its LR reads At and Rates, so do not change those
// slices afterwards).
func (s Table) Prepare() (Schedule, error) {
	if s.File == "" {
		return s, nil
	}
	f, err := os.Open(s.File)
	if err != nil {
		return s, &ParamError{Param: "file", Msg: err.Error()}
	}
	defer f.Close()
	xs, ys, err := readTableCSV(f, s.File)
	if err != nil {
		return s, &ParamError{Param: "file", Msg: err.Error()}
	}
	s.xs, s.ys = xs, ys
	return s, nil
}

// readTableCSV reads "step,lr" rows; errors name name:line.
func readTableCSV(r io.Reader, name string) ([]int64, []float64, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 2
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	var xs []int64
	var ys []float64
	var lines []int
	header := false
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, nil, fmt.Errorf("%s:%d: %v (want two columns: step,lr)", name, pe.Line, pe.Err)
			}
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		if !header {
			header = true
			if strings.TrimSpace(rec[0]) != "step" || strings.TrimSpace(rec[1]) != "lr" {
				return nil, nil, fmt.Errorf("%s:%d: header must be \"step,lr\", got %q", name, line, strings.Join(rec, ","))
			}
			continue
		}
		x, err := strconv.ParseInt(strings.TrimSpace(rec[0]), 10, 64)
		if err != nil {
			// Accept integral floats such as "1e3" or "100.0".
			f, ferr := strconv.ParseFloat(strings.TrimSpace(rec[0]), 64)
			if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
				return nil, nil, fmt.Errorf("%s:%d: step %q is not an integer", name, line, rec[0])
			}
			x = int64(f)
		}
		y, err := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: lr %q is not a number", name, line, rec[1])
		}
		xs = append(xs, x)
		ys = append(ys, y)
		lines = append(lines, line)
	}
	if len(xs) == 0 {
		return nil, nil, fmt.Errorf("%s: no points after the header", name)
	}
	err := checkPoints(xs, ys, func(i int, msg string) error {
		return fmt.Errorf("%s:%d: %s", name, lines[i], msg)
	})
	if err != nil {
		return nil, nil, err
	}
	return xs, ys, nil
}
