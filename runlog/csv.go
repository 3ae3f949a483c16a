package runlog

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// CSVReader streams records from a CSV run log. The first line is a header
// naming the columns, in any order; "step" is required and every other
// column is a field name (see the Name* constants). An empty cell is an
// absent value. Values may be "NaN" or "inf" and are kept (and flagged).
type CSVReader struct {
	cr      *csv.Reader
	opts    ReadOptions
	name    string
	cols    []Field // per column; 0 is the step column or an ignored one
	stepCol int
	header  bool
	order   stepOrder
	warn    warnings
	err     error
	last    int // line of the last record returned
}

// NewCSVReader returns a reader of the CSV log r. The header is read by the
// first call to Next.
func NewCSVReader(r io.Reader, opts ReadOptions) *CSVReader {
	cr := csv.NewReader(&lineLimit{r: bufio.NewReaderSize(r, 64<<10), max: maxLine, line: 1})
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	return &CSVReader{cr: cr, opts: opts, name: opts.name(), warn: warnings{on: opts.OnWarning}}
}

// Warnings returns the warnings so far.
func (c *CSVReader) Warnings() []Warning { return c.warn.list }

// Line returns the 1-based line number of the record Next returned last
// (0 before the first), for messages that point into the file.
func (c *CSVReader) Line() int { return c.last }

func (c *CSVReader) fail(line int, field, format string, args ...any) error {
	c.err = &ParseError{File: c.name, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)}
	return c.err
}

// csvErr converts an error of encoding/csv into a ParseError.
func (c *CSVReader) csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return c.fail(pe.Line, "", "%v", pe.Err)
	}
	var long *lineTooLong
	if errors.As(err, &long) {
		return c.fail(long.line, "", "line longer than %d bytes", long.max)
	}
	c.err = fmt.Errorf("%s: %w", c.name, err)
	return c.err
}

func (c *CSVReader) readHeader() error {
	row, err := c.cr.Read()
	if errors.Is(err, io.EOF) {
		return c.fail(1, NameStep, "empty file: want a header line naming the columns, with a step column")
	}
	if err != nil {
		return c.csvErr(err)
	}
	line, _ := c.cr.FieldPos(0)
	c.cols = make([]Field, len(row))
	c.stepCol = -1
	seen := make(map[string]int, len(row))
	for i, raw := range row {
		name := strings.ToLower(c.opts.rename(strings.TrimSpace(strings.TrimPrefix(raw, "\ufeff"))))
		if j, dup := seen[name]; dup {
			return c.fail(line, name, "column %q appears twice (columns %d and %d)", name, j+1, i+1)
		}
		seen[name] = i
		if name == NameStep {
			c.stepCol = i
			continue
		}
		f, ok := FieldByName(name)
		if !ok {
			if c.opts.IgnoreUnknown {
				continue
			}
			if name == "" {
				return c.fail(line, name, "column %d has an empty name", i+1)
			}
			return c.fail(line, name, "unknown column %q (did you mean %q?)", name, nearestName(name))
		}
		c.cols[i] = f
	}
	if c.stepCol < 0 {
		return c.fail(line, NameStep, "missing step column (header is %q)", strings.Join(row, ","))
	}
	c.header = true
	return nil
}

// Next returns the next record, or io.EOF after the last.
func (c *CSVReader) Next() (Record, error) {
	if c.err != nil {
		return Record{}, c.err
	}
	if !c.header {
		if err := c.readHeader(); err != nil {
			return Record{}, err
		}
	}
	row, err := c.cr.Read()
	if errors.Is(err, io.EOF) {
		c.err = io.EOF
		return Record{}, io.EOF
	}
	if err != nil {
		return Record{}, c.csvErr(err)
	}
	line, _ := c.cr.FieldPos(0)
	if len(row) != len(c.cols) {
		return Record{}, c.fail(line, "", "wrong column count: %d fields, the header has %d", len(row), len(c.cols))
	}
	var rec Record
	stepText := strings.TrimSpace(row[c.stepCol])
	if stepText == "" {
		return Record{}, c.fail(line, NameStep, "empty step")
	}
	if rec.Step, err = parseStep(stepText, NameStep); err != nil {
		return Record{}, c.fail(line, NameStep, "%v", err)
	}
	for i, f := range c.cols {
		if f == 0 {
			continue
		}
		cell := strings.TrimSpace(row[i])
		if cell == "" {
			continue
		}
		if err := setParsed(&rec, f, cell); err != nil {
			return Record{}, c.fail(line, f.String(), "%v", err)
		}
	}
	if err := c.order.check(rec.Step, line); err != nil {
		return Record{}, c.fail(line, NameStep, "%v", err)
	}
	c.warn.flagNonFinite(rec, c.name, line, 0)
	c.last = line
	return rec, nil
}

// Writer streams records to a run log. Write checks that steps increase and
// that every present value has a column; Flush pushes buffered output to
// the underlying writer; Close flushes (and, for files made by Create,
// closes the file). A closed Writer returns ErrClosed.
type Writer interface {
	Write(Record) error
	Flush() error
	Close() error
}

// CSVWriter writes a CSV run log with a fixed set of columns: step and the
// fields given to NewCSVWriter, in column order. Absent values are empty
// cells, NaN is "NaN", infinities "+Inf" and "-Inf"; floats are printed in
// the shortest form that reads back exactly.
type CSVWriter struct {
	w       *bufio.Writer
	fields  []Field
	set     Field
	header  bool
	order   stepOrder
	buf     []byte
	closed  bool
	closeFn func() error
}

// NewCSVWriter returns a writer of a CSV log with columns step and fields.
func NewCSVWriter(w io.Writer, fields Field) *CSVWriter {
	return &CSVWriter{w: bufio.NewWriterSize(w, 64<<10), fields: fields.Fields(), set: fields & AllFields}
}

func (c *CSVWriter) writeHeader() error {
	c.header = true
	c.buf = append(c.buf[:0], NameStep...)
	for _, f := range c.fields {
		c.buf = append(c.buf, ',')
		c.buf = append(c.buf, f.String()...)
	}
	c.buf = append(c.buf, '\n')
	_, err := c.w.Write(c.buf)
	return err
}

// appendFloat appends v in the shortest exact form, NaN as "NaN".
func appendFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) {
		return append(b, "NaN"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// Write writes one record.
func (c *CSVWriter) Write(rec Record) error {
	if c.closed {
		return ErrClosed
	}
	if extra := rec.Present &^ c.set; extra != 0 {
		return fmt.Errorf("runlog: record at step %d has %v, which this CSV writer has no column for", rec.Step, extra)
	}
	if rec.Step < 0 {
		return fmt.Errorf("runlog: record step %d is negative", rec.Step)
	}
	if err := c.order.check(rec.Step, 0); err != nil {
		return fmt.Errorf("runlog: %w", err)
	}
	if !c.header {
		if err := c.writeHeader(); err != nil {
			return err
		}
	}
	b := strconv.AppendInt(c.buf[:0], rec.Step, 10)
	for _, f := range c.fields {
		b = append(b, ',')
		if !rec.Has(f) {
			continue
		}
		if f == FieldExamplesSeen {
			b = strconv.AppendInt(b, rec.ExamplesSeen, 10)
			continue
		}
		v, _ := rec.Value(f)
		b = appendFloat(b, v)
	}
	b = append(b, '\n')
	c.buf = b
	_, err := c.w.Write(b)
	return err
}

// Flush writes buffered records (and the header, if none was written yet).
func (c *CSVWriter) Flush() error {
	if c.closed {
		return ErrClosed
	}
	if !c.header {
		if err := c.writeHeader(); err != nil {
			return err
		}
	}
	return c.w.Flush()
}

// Close flushes the writer; a log with no records still gets its header.
func (c *CSVWriter) Close() error {
	if c.closed {
		return ErrClosed
	}
	err := c.Flush()
	c.closed = true
	if c.closeFn != nil {
		if cerr := c.closeFn(); err == nil {
			err = cerr
		}
	}
	return err
}

// lineLimit passes its reader's bytes through until a line grows past max
// bytes: a run log with a runaway cell fails at that line instead of being
// read whole into memory.
type lineLimit struct {
	r       io.Reader
	max, n  int
	line    int
	tooLong error
}

type lineTooLong struct{ line, max int }

func (e *lineTooLong) Error() string {
	return fmt.Sprintf("line %d is longer than %d bytes", e.line, e.max)
}

func (l *lineLimit) Read(p []byte) (int, error) {
	if l.tooLong != nil {
		return 0, l.tooLong
	}
	n, err := l.r.Read(p)
	for i, b := range p[:n] {
		if b == '\n' {
			l.n = 0
			l.line++
			continue
		}
		if l.n++; l.n > l.max {
			l.tooLong = &lineTooLong{line: l.line, max: l.max}
			return i, l.tooLong
		}
	}
	return n, err
}
