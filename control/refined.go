package control

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/schedule"
)

// Refined follows a refined schedule stored as a "step,lr" CSV file (what
// `lrkit refine -o` writes), rescaled so that its largest rate is Peak: the
// refinement paper re-sweeps the peak rate of a refined shape. Between
// listed steps the rate is linear, and it holds the last value after the
// last step (a schedule.Table). It learns nothing; its state is empty.
type Refined struct {
	File string  `spec:"file" doc:"CSV file with header step,lr (lrkit refine -o)"`
	Peak float64 `spec:"peak" doc:"largest rate of the rescaled schedule"`

	table schedule.Table
}

// Prepare reads the file; Parse calls it.
func (r *Refined) Prepare() error {
	f, err := os.Open(r.File)
	if err != nil {
		return &schedule.ParamError{Param: "file", Msg: err.Error()}
	}
	defer f.Close()
	steps, lrs, err := ReadStepLR(f, r.File)
	if err != nil {
		return &schedule.ParamError{Param: "file", Msg: err.Error()}
	}
	mx := 0.0
	for _, v := range lrs {
		mx = math.Max(mx, v)
	}
	if mx == 0 {
		return &schedule.ParamError{Param: "file", Msg: r.File + ": every rate is 0; nothing to rescale"}
	}
	norm := make([]float64, len(lrs))
	for i, v := range lrs {
		norm[i] = v / mx
	}
	r.table = schedule.Table{At: steps, Rates: norm, Scale: r.Peak}
	return nil
}

// Validate checks the peak and that a file is named.
func (r *Refined) Validate() error {
	if r.File == "" {
		return &schedule.ParamError{Param: "file", Msg: "is missing: name the CSV that lrkit refine -o wrote"}
	}
	if !(r.Peak > 0) || math.IsInf(r.Peak, 0) {
		return &schedule.ParamError{Param: "peak", Msg: fmt.Sprintf("must be a finite number > 0, got %g", r.Peak)}
	}
	return nil
}

// LR returns the rescaled table's rate at step.
func (r *Refined) LR(step int64) float64 { return r.table.LR(step) }

// Observe does nothing.
func (r *Refined) Observe(runlog.Record) {}

// State returns "{}".
func (r *Refined) State() ([]byte, error) { return []byte("{}"), nil }

// Restore accepts the empty state.
func (r *Refined) Restore(data []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("refined: restore state: %w", err)
	}
	if len(m) != 0 {
		return fmt.Errorf("refined: restore state: unexpected fields in %s", data)
	}
	return nil
}

// String returns the spec text.
func (r *Refined) String() string { return formatController(r) }

func (r *Refined) kindName() string { return "refined" }

// ReadStepLR reads a "step,lr" CSV (header first; # comments allowed):
// steps must be non-negative and increasing, rates finite and >= 0.
// Errors name the file and line.
func ReadStepLR(rd io.Reader, name string) ([]int64, []float64, error) {
	cr := csv.NewReader(rd)
	cr.FieldsPerRecord = 2
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	var steps []int64
	var lrs []float64
	header := true
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
		if header {
			header = false
			if strings.TrimSpace(rec[0]) != "step" || strings.TrimSpace(rec[1]) != "lr" {
				return nil, nil, fmt.Errorf("%s:%d: header must be step,lr, got %s,%s", name, line, rec[0], rec[1])
			}
			continue
		}
		s, err := strconv.ParseInt(strings.TrimSpace(rec[0]), 10, 64)
		if err != nil || s < 0 {
			return nil, nil, fmt.Errorf("%s:%d: step must be an integer >= 0, got %q", name, line, rec[0])
		}
		if len(steps) > 0 && s <= steps[len(steps)-1] {
			return nil, nil, fmt.Errorf("%s:%d: steps must increase (%d after %d)", name, line, s, steps[len(steps)-1])
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return nil, nil, fmt.Errorf("%s:%d: lr must be a finite number >= 0, got %q", name, line, rec[1])
		}
		steps = append(steps, s)
		lrs = append(lrs, v)
	}
	if len(steps) == 0 {
		if header {
			return nil, nil, fmt.Errorf("%s: empty file: want a step,lr header and rows", name)
		}
		return nil, nil, fmt.Errorf("%s: no rows after the header", name)
	}
	return steps, lrs, nil
}

// WriteStepLR writes lrs as "step,lr" CSV, one row per step from 0.
func WriteStepLR(w io.Writer, lrs []float64) error {
	buf := make([]byte, 0, 32*len(lrs)+8)
	buf = append(buf, "step,lr\n"...)
	for i, v := range lrs {
		buf = strconv.AppendInt(buf, int64(i), 10)
		buf = append(buf, ',')
		buf = strconv.AppendFloat(buf, v, 'g', -1, 64)
		buf = append(buf, '\n')
	}
	_, err := w.Write(buf)
	return err
}
