package schedule

import (
	"fmt"
	"strings"
)

// Pos is a place in spec text: Line and Col count from 1 (Col in
// characters, so a tab or a non-ASCII letter is one column) and Offset is
// the byte offset from 0. For an expression read from JSON, Path holds the
// JSON path of the value ("$.base.steps") and the other fields are 0.
type Pos struct {
	Offset int
	Line   int
	Col    int
	Path   string
}

// String returns "line:col", or the JSON path.
func (p Pos) String() string {
	if p.Path != "" {
		return p.Path
	}
	return fmt.Sprintf("%d:%d", p.Line, p.Col)
}

// SpecError is a schedule spec that cannot be read: a syntax error, an
// unknown schedule or parameter, a value of the wrong type or one that the
// schedule rejects. Its Error is one line that starts with the place:
//
//	spec:1:17: unknown parameter "peek" for cosine (did you mean "peak"?)
//	$.base.steps: want an integer step count, got 0.5
type SpecError struct {
	Pos Pos    // where the problem is
	Msg string // what is wrong and, where possible, the fix
	// Err is the error that caused this one, when there is one: a
	// *ParamError from a schedule's Validate, or an error from Prepare.
	Err error
}

// Error returns "spec:LINE:COL: MSG", or "PATH: MSG" for JSON.
func (e *SpecError) Error() string {
	msg := oneLine(e.Msg)
	if e.Pos.Path != "" {
		return e.Pos.Path + ": " + msg
	}
	return fmt.Sprintf("spec:%d:%d: %s", e.Pos.Line, e.Pos.Col, msg)
}

// Unwrap returns the underlying error, if any.
func (e *SpecError) Unwrap() error { return e.Err }

// errorAt builds a *SpecError at p.
func errorAt(p Pos, format string, args ...any) *SpecError {
	return &SpecError{Pos: p, Msg: fmt.Sprintf(format, args...)}
}

// oneLine folds line breaks so that an error prints on exactly one line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(s)), " ")
}
