package runlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// maxLine bounds one line of a JSONL or CSV log, so a file without
// newlines, or with a runaway cell, cannot make a reader hold it all.
const maxLine = 1 << 20

// JSONLReader streams records from a JSON Lines run log: one object a line
// with the same names as the CSV columns ("step" required). A null or
// missing key is an absent value. Non-finite values may be written as the
// strings "NaN", "Infinity" and "-Infinity", or bare as Python's json module
// writes them; they are kept and flagged. Blank lines are skipped.
type JSONLReader struct {
	sc    *bufio.Scanner
	opts  ReadOptions
	name  string
	line  int
	order stepOrder
	warn  warnings
	err   error
}

// NewJSONLReader returns a reader of the JSONL log r.
func NewJSONLReader(r io.Reader, opts ReadOptions) *JSONLReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	return &JSONLReader{sc: sc, opts: opts, name: opts.name(), warn: warnings{on: opts.OnWarning}}
}

// Warnings returns the warnings so far.
func (j *JSONLReader) Warnings() []Warning { return j.warn.list }

// Line returns the 1-based line number of the record Next returned last
// (0 before the first), for messages that point into the file.
func (j *JSONLReader) Line() int { return j.line }

func (j *JSONLReader) fail(field, format string, args ...any) error {
	j.err = &ParseError{File: j.name, Line: j.line, Field: field, Msg: fmt.Sprintf(format, args...)}
	return j.err
}

// Next returns the next record, or io.EOF after the last.
func (j *JSONLReader) Next() (Record, error) {
	if j.err != nil {
		return Record{}, j.err
	}
	for j.sc.Scan() {
		j.line++
		line := bytes.TrimSpace(j.sc.Bytes())
		if len(line) == 0 {
			continue
		}
		rec, ok := j.parseLineFast(line)
		if !ok {
			var err error
			if rec, err = j.parseLine(line); err != nil {
				return Record{}, err
			}
		}
		if err := j.order.check(rec.Step, j.line); err != nil {
			return Record{}, j.fail(NameStep, "%v", err)
		}
		j.warn.flagNonFinite(rec, j.name, j.line, 0)
		return rec, nil
	}
	if err := j.sc.Err(); err != nil {
		j.line++
		if errors.Is(err, bufio.ErrTooLong) {
			return Record{}, j.fail("", "line longer than %d bytes", maxLine)
		}
		j.err = fmt.Errorf("%s: %w", j.name, err)
		return Record{}, j.err
	}
	j.err = io.EOF
	return Record{}, io.EOF
}

func (j *JSONLReader) parseLine(line []byte) (Record, error) {
	dec := json.NewDecoder(bytes.NewReader(quoteBareNonFinite(line)))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return Record{}, j.fail("", "invalid JSON: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return Record{}, j.fail("", "want a JSON object, got %s", describeToken(tok))
	}
	var rec Record
	hasStep := false
	var seen Field
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Record{}, j.fail("", "invalid JSON: %v", err)
		}
		key, _ := tok.(string)
		key = j.opts.rename(key)
		val, err := dec.Token()
		if err != nil {
			return Record{}, j.fail(key, "invalid JSON: %v", err)
		}
		var text string
		switch v := val.(type) {
		case nil:
			if key == NameStep {
				return Record{}, j.fail(key, "step is null")
			}
			if _, known := FieldByName(key); known || j.opts.IgnoreUnknown {
				continue
			}
		case json.Number:
			text = string(v)
		case string:
			text = strings.TrimSpace(v)
		case json.Delim:
			if _, known := FieldByName(key); !known && key != NameStep && j.opts.IgnoreUnknown {
				if err := skipValue(dec, v); err != nil {
					return Record{}, j.fail(key, "invalid JSON: %v", err)
				}
				continue
			}
		}
		if key == NameStep {
			if hasStep {
				return Record{}, j.fail(key, "key %q appears twice", key)
			}
			if text == "" {
				return Record{}, j.fail(key, "step: want an integer, got %s", describeToken(val))
			}
			if rec.Step, err = parseStep(text, NameStep); err != nil {
				return Record{}, j.fail(key, "%v", err)
			}
			hasStep = true
			continue
		}
		f, ok := FieldByName(key)
		if !ok {
			if j.opts.IgnoreUnknown {
				if d, isDelim := val.(json.Delim); isDelim {
					if err := skipValue(dec, d); err != nil {
						return Record{}, j.fail(key, "invalid JSON: %v", err)
					}
				}
				continue
			}
			return Record{}, j.fail(key, "unknown key %q (did you mean %q?)", key, nearestName(key))
		}
		if seen&f != 0 {
			return Record{}, j.fail(key, "key %q appears twice", key)
		}
		seen |= f
		if val == nil {
			continue
		}
		if text == "" {
			return Record{}, j.fail(key, "%s: want a number, got %s", key, describeToken(val))
		}
		if err := setParsed(&rec, f, text); err != nil {
			return Record{}, j.fail(key, "%v", err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return Record{}, j.fail("", "invalid JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Record{}, j.fail("", "text after the JSON object")
	}
	if !hasStep {
		return Record{}, j.fail(NameStep, "missing step key")
	}
	return rec, nil
}

// skipValue skips the rest of an object or array whose opening delimiter
// has been read.
func skipValue(dec *json.Decoder, open json.Delim) error {
	depth := 1
	for depth > 0 {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

func describeToken(tok any) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		if v == '[' {
			return "an array"
		}
		return fmt.Sprintf("%q", string(v))
	case string:
		return strconv.Quote(v)
	case json.Number:
		return string(v)
	}
	return fmt.Sprint(tok)
}

// quoteBareNonFinite rewrites the bare tokens NaN, Infinity and -Infinity
// that Python's json.dumps writes (not valid JSON) as JSON strings, leaving
// string contents alone. Lines without them are returned as they are.
func quoteBareNonFinite(line []byte) []byte {
	if !bytes.Contains(line, []byte("NaN")) && !bytes.Contains(line, []byte("Infinity")) {
		return line
	}
	out := make([]byte, 0, len(line)+8)
	inString, escaped := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		if inString {
			out = append(out, c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch {
		case c == '"':
			inString = true
			out = append(out, c)
		case bytes.HasPrefix(line[i:], []byte("NaN")):
			out = append(out, `"NaN"`...)
			i += len("NaN") - 1
		case bytes.HasPrefix(line[i:], []byte("-Infinity")):
			out = append(out, `"-Infinity"`...)
			i += len("-Infinity") - 1
		case bytes.HasPrefix(line[i:], []byte("Infinity")):
			out = append(out, `"Infinity"`...)
			i += len("Infinity") - 1
		default:
			out = append(out, c)
		}
	}
	return out
}

// JSONLWriter writes a JSON Lines run log: one object a record with "step"
// and the present fields; absent fields are left out. NaN and infinities
// are the strings "NaN", "Infinity" and "-Infinity", so every line is valid
// JSON. Floats are printed in the shortest form that reads back exactly.
type JSONLWriter struct {
	w       *bufio.Writer
	order   stepOrder
	buf     []byte
	closed  bool
	closeFn func() error
}

// NewJSONLWriter returns a writer of a JSONL log.
func NewJSONLWriter(w io.Writer) *JSONLWriter {
	return &JSONLWriter{w: bufio.NewWriterSize(w, 64<<10)}
}

// Write writes one record.
func (j *JSONLWriter) Write(rec Record) error {
	if j.closed {
		return ErrClosed
	}
	if rec.Step < 0 {
		return fmt.Errorf("runlog: record step %d is negative", rec.Step)
	}
	if err := j.order.check(rec.Step, 0); err != nil {
		return fmt.Errorf("runlog: %w", err)
	}
	b := append(j.buf[:0], `{"step":`...)
	b = strconv.AppendInt(b, rec.Step, 10)
	for _, fi := range fieldInfo {
		if !rec.Has(fi.f) {
			continue
		}
		b = append(b, ',', '"')
		b = append(b, fi.name...)
		b = append(b, '"', ':')
		if fi.f == FieldExamplesSeen {
			b = strconv.AppendInt(b, rec.ExamplesSeen, 10)
			continue
		}
		v, _ := rec.Value(fi.f)
		switch {
		case math.IsNaN(v):
			b = append(b, `"NaN"`...)
		case math.IsInf(v, 1):
			b = append(b, `"Infinity"`...)
		case math.IsInf(v, -1):
			b = append(b, `"-Infinity"`...)
		default:
			b = strconv.AppendFloat(b, v, 'g', -1, 64)
		}
	}
	b = append(b, '}', '\n')
	j.buf = b
	_, err := j.w.Write(b)
	return err
}

// Flush writes buffered records.
func (j *JSONLWriter) Flush() error {
	if j.closed {
		return ErrClosed
	}
	return j.w.Flush()
}

// Close flushes the writer.
func (j *JSONLWriter) Close() error {
	if j.closed {
		return ErrClosed
	}
	err := j.w.Flush()
	j.closed = true
	if j.closeFn != nil {
		if cerr := j.closeFn(); err == nil {
			err = cerr
		}
	}
	return err
}
