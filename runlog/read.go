package runlog

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/lrkit/lrkit/internal/safefile"
)

// Reader streams the records of one run log, in increasing step order.
// Next returns io.EOF after the last record; any other error is a
// *ParseError (or an I/O error wrapped with the file name) and every later
// call returns it again.
type Reader interface {
	Next() (Record, error)
	// Warnings returns what the reader has flagged so far: NaN and
	// infinite values (kept in the records), a truncated last event record,
	// event tags that mapped to no field.
	Warnings() []Warning
}

// ReadOptions tunes the readers.
type ReadOptions struct {
	// Name is the file name used in errors and warnings; ReadFile and Open
	// default it to the path, the New*Reader functions to "input".
	Name string
	// IgnoreUnknown skips CSV columns and JSONL keys that are not record
	// fields instead of failing on them.
	IgnoreUnknown bool
	// Tags maps TensorBoard tags to fields; nil means DefaultTagMap().
	Tags TagMap
	// Columns renames CSV columns and JSONL keys before they are matched
	// to record fields: file name -> lrkit name ("step" or a field name),
	// for logs written by other tools, e.g. {"_step": "step", "train/loss":
	// "loss"}. ParseColumnMap builds one from text.
	Columns map[string]string
	// OnWarning, if not nil, is called with each warning as it is found.
	OnWarning func(Warning)
}

// rename applies Columns to a column or key name.
func (o ReadOptions) rename(name string) string {
	if to, ok := o.Columns[name]; ok {
		return to
	}
	return name
}

func (o ReadOptions) name() string {
	if o.Name == "" {
		return "input"
	}
	return o.Name
}

// ReadAll reads every remaining record of r.
func ReadAll(r Reader) ([]Record, error) {
	var out []Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}

// parseStep parses a step: a non-negative integer. An integral float such
// as "100.0" or "1e3" (pandas writes those) is accepted.
func parseStep(s, what string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err == nil {
		if n < 0 {
			return 0, fmt.Errorf("%s %s is negative", what, s)
		}
		return n, nil
	}
	f, ferr := strconv.ParseFloat(s, 64)
	if ferr != nil {
		return 0, fmt.Errorf("%s %s is not an integer", what, safefile.Excerpt(s, 40))
	}
	if f != math.Trunc(f) || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%s %s is not an integer", what, s)
	}
	if f < 0 {
		return 0, fmt.Errorf("%s %s is negative", what, s)
	}
	if f >= 1<<63 {
		return 0, fmt.Errorf("%s %s is too large", what, s)
	}
	return int64(f), nil
}

// parseValue parses a float value of the named field. "nan", "NaN", "inf",
// "-Infinity" and the like are accepted (strconv's spellings); an overflow
// such as "1e999" is an error, an underflow reads as the nearest float.
func parseValue(s, what string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) && !math.IsInf(v, 0) {
			return v, nil
		}
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return 0, fmt.Errorf("%s %s is out of float64 range", what, s)
		}
		return 0, fmt.Errorf("%s %s is not a number", what, safefile.Excerpt(s, 40))
	}
	return v, nil
}

// setParsed parses text s into field f of rec.
func setParsed(rec *Record, f Field, s string) error {
	if f == FieldExamplesSeen {
		n, err := parseStep(s, NameExamplesSeen)
		if err != nil {
			return err
		}
		rec.ExamplesSeen = n
		rec.Present |= f
		return nil
	}
	v, err := parseValue(s, f.String())
	if err != nil {
		return err
	}
	rec.Set(f, v)
	return nil
}

// stepOrder checks that steps increase strictly.
type stepOrder struct {
	started  bool
	prev     int64
	prevLine int
}

func (o *stepOrder) check(step int64, line int) error {
	if o.started && step <= o.prev {
		if o.prevLine > 0 {
			return fmt.Errorf("step %d is not after the previous step %d (line %d): steps must increase", step, o.prev, o.prevLine)
		}
		return fmt.Errorf("step %d is not after the previous step %d: steps must increase", step, o.prev)
	}
	o.started, o.prev, o.prevLine = true, step, line
	return nil
}
