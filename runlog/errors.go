package runlog

import (
	"errors"
	"fmt"
	"math"
)

// ParseError is a malformed run log: where it is wrong and what is wrong.
// Text formats give a 1-based Line; TensorBoard event files give the byte
// Offset of the record instead (Line is then 0).
type ParseError struct {
	File   string // the name given in ReadOptions.Name, or the path
	Line   int    // 1-based line, 0 when the position is a byte offset
	Offset int64  // byte offset of the bad record in an event file
	Field  string // the column, key or tag concerned, if any
	Msg    string // what is wrong
}

// Error formats the error as "file:line: msg" or "file: byte N: msg".
func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: byte %d: %s", e.File, e.Offset, e.Msg)
}

// Warning is something a reader kept but the caller should know about: a
// value that is NaN or infinite, a truncated last record of an event file
// that a live writer may still be writing, a tag that mapped to no field.
type Warning struct {
	File   string
	Line   int   // 1-based line, 0 when not a text position
	Offset int64 // byte offset in an event file when Line is 0; -1: the whole file
	Step   int64 // step of the record concerned; -1 if none
	Field  Field // the field concerned, 0 if none
	Msg    string
}

// String formats the warning like a ParseError: "run.csv:1042: loss is NaN".
func (w Warning) String() string {
	if w.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Msg)
	}
	if w.Offset < 0 {
		return fmt.Sprintf("%s: %s", w.File, w.Msg)
	}
	return fmt.Sprintf("%s: byte %d: %s", w.File, w.Offset, w.Msg)
}

// ErrClosed is returned by a Writer used after Close.
var ErrClosed = errors.New("runlog: writer is closed")

// warnings collects a reader's warnings and forwards them to a callback.
type warnings struct {
	list []Warning
	on   func(Warning)
}

func (ws *warnings) add(w Warning) {
	ws.list = append(ws.list, w)
	if ws.on != nil {
		ws.on(w)
	}
}

// flagNonFinite adds one warning per NaN or infinite value of rec.
func (ws *warnings) flagNonFinite(rec Record, file string, line int, offset int64) {
	bad := rec.nonFinite()
	if bad == 0 {
		return
	}
	for _, f := range bad.Fields() {
		v, _ := rec.Value(f)
		what := "NaN"
		if math.IsInf(v, 1) {
			what = "+Inf"
		} else if math.IsInf(v, -1) {
			what = "-Inf"
		}
		ws.add(Warning{File: file, Line: line, Offset: offset, Step: rec.Step, Field: f,
			Msg: fmt.Sprintf("%s is %s at step %d", f, what, rec.Step)})
	}
}
