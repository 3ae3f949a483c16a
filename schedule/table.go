package schedule

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/lrkit/lrkit/internal/safefile"
)

// Table is a piecewise-linear schedule through given points: the rate is
// LR[i] at step At[i], linear in between, LR[0] before At[0] and the last
// value after the last point. Two equal consecutive steps make a jump; at
// that step the later value applies. With Peak > 0 the points are first
// rescaled so that the largest is Peak (the refinement paper re-sweeps the
// peak of a refined shape: Defazio et al. 2023, arXiv 2310.07831); then
// every value is multiplied by Scale.
//
// The points are given inline (at=[0, 100, 1000], lr=[0, 1, 0.1]) or read
// from a CSV file (file="lr.csv") in the step,lr format of ReadStepLR.
// Refined and optimised schedules are written as tables
// (table(file="refined.csv", peak=3e-3)). A spec from an untrusted source
// may not name a file (ParseUntrusted).
//
// A Table built in Go goes through New, which reads the file and applies
// Peak.
type Table struct {
	At    []int64   `spec:"at" default:"[]" doc:"steps of the points, non-decreasing"`
	Rates []float64 `spec:"lr" default:"[]" doc:"learning rates at the points, >= 0"`
	File  string    `spec:"file,path" default:"" doc:"CSV file with header step,lr instead of at and lr"`
	Peak  float64   `spec:"peak" default:"0" doc:"when > 0, rescale the points so the largest is peak"`
	Scale float64   `spec:"scale" default:"1" doc:"factor applied to every rate"`

	xs []int64   // prepared points (from the file, or At)
	ys []float64 // prepared rates, rescaled to Peak, before Scale
}

// MaxTableFile caps the size of a table's CSV file (about ten million
// points).
const MaxTableFile = 256 << 20

// LR returns the learning rate at step t.
func (s Table) LR(t int64) float64 {
	xs, ys := s.xs, s.ys
	if xs == nil {
		xs, ys = s.At, s.Rates
		if s.Peak > 0 {
			ys = rescale(ys, s.Peak) // not prepared: slow but right
		}
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

// rescale returns ys times peak/max(ys), or nil when every rate is 0.
func rescale(ys []float64, peak float64) []float64 {
	mx := 0.0
	for _, y := range ys {
		mx = math.Max(mx, y)
	}
	if mx == 0 {
		return nil
	}
	out := make([]float64, len(ys))
	for i, y := range ys {
		out[i] = y / mx * peak
	}
	return out
}

// String returns the canonical spec text.
func (s Table) String() string { return Format(s) }

// Validate checks the inline points, or that a file is named instead.
func (s Table) Validate() error {
	if err := checkRate("scale", s.Scale); err != nil {
		return err
	}
	if err := checkRate("peak", s.Peak); err != nil {
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
	if err := checkPoints(s.At, s.Rates, func(i int, msg string) error {
		if strings.HasPrefix(msg, "lr") {
			return perr(fmt.Sprintf("lr[%d]", i), "%s", strings.TrimPrefix(msg, "lr "))
		}
		return perr(fmt.Sprintf("at[%d]", i), "%s", strings.TrimPrefix(msg, "step "))
	}); err != nil {
		return err
	}
	if s.Peak > 0 && rescale(s.Rates, s.Peak) == nil {
		return perr("peak", "cannot rescale: every rate is 0")
	}
	return nil
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

// Prepare reads the CSV file when one is named and rescales the points to
// Peak. Do not change At and Rates afterwards: LR reads them.
func (s Table) Prepare() (Schedule, error) {
	xs, ys := s.At, s.Rates
	if s.File != "" {
		f, err := safefile.Open(s.File, MaxTableFile)
		if err != nil {
			return s, &ParamError{Param: "file", Msg: err.Error()}
		}
		defer f.Close()
		xs, ys, err = ReadStepLR(f, s.File)
		if err != nil {
			return s, &ParamError{Param: "file", Msg: err.Error()}
		}
	}
	if s.Peak > 0 {
		if ys = rescale(ys, s.Peak); ys == nil {
			return s, &ParamError{Param: "peak", Msg: "cannot rescale: every rate in " + s.File + " is 0"}
		}
	}
	s.xs, s.ys = xs, ys
	return s, nil
}

// ReadStepLR reads a learning-rate table in lrkit's step,lr CSV format,
// what `lrkit refine -o` and `lrkit export` write: the header "step,lr",
// then one step and one rate per line; # starts a comment. Steps are
// integers (1e3 and 100.0 are accepted), non-negative, non-decreasing, at
// most two equal in a row (a jump); rates are finite and >= 0. Errors name
// name:line and quote at most a short excerpt of a bad cell.
func ReadStepLR(r io.Reader, name string) ([]int64, []float64, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 2
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	cr.ReuseRecord = true
	var xs []int64
	var ys []float64
	var lines []int
	header := false
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, nil, fmt.Errorf("%s:%d: %v (want two columns: step,lr)", name, pe.Line, pe.Err)
			}
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if !header {
			header = true
			if strings.TrimSpace(rec[0]) != "step" || strings.TrimSpace(rec[1]) != "lr" {
				return nil, nil, fmt.Errorf("%s:%d: header must be \"step,lr\", got %s", name, line, safefile.Excerpt(rec[0]+","+rec[1], 40))
			}
			continue
		}
		x, err := strconv.ParseInt(strings.TrimSpace(rec[0]), 10, 64)
		if err != nil {
			// Accept integral floats such as "1e3" or "100.0".
			f, ferr := strconv.ParseFloat(strings.TrimSpace(rec[0]), 64)
			if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
				return nil, nil, fmt.Errorf("%s:%d: step %s is not an integer", name, line, safefile.Excerpt(rec[0], 40))
			}
			x = int64(f)
		}
		y, err := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: lr %s is not a number", name, line, safefile.Excerpt(rec[1], 40))
		}
		xs = append(xs, x)
		ys = append(ys, y)
		lines = append(lines, line)
	}
	if !header {
		return nil, nil, fmt.Errorf("%s: empty file: want a step,lr header and rows", name)
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

// WriteStepLR writes a table in the step,lr format ReadStepLR reads, one
// row per point, rates in full precision (the shortest text that reads
// back to the same float64). steps and lrs have equal lengths.
func WriteStepLR(w io.Writer, steps []int64, lrs []float64) error {
	if len(steps) != len(lrs) {
		return fmt.Errorf("schedule: WriteStepLR: %d steps but %d rates", len(steps), len(lrs))
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("step,lr\n")
	var buf []byte
	for i, t := range steps {
		buf = strconv.AppendInt(buf[:0], t, 10)
		buf = append(buf, ',')
		buf = strconv.AppendFloat(buf, lrs[i], 'g', -1, 64)
		buf = append(buf, '\n')
		bw.Write(buf)
	}
	return bw.Flush()
}
