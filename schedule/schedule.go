// Package schedule holds learning-rate schedules as pure functions of the
// training step, their composition, and a small text language that names
// them ("wsd(peak=3e-4, steps=10000, warmup=500, decay=0.2, shape=1-sqrt)").
//
// A Schedule holds no state: the learning rate for step t is LR(t), the
// same answer every time and from any goroutine, so resuming a run is
// asking for step N. Steps are int64 counted from 0; LR(t) is the rate used
// by the update that takes the model from t to t+1 updates. Unless a
// schedule's documentation says otherwise, it holds its final value past
// its last step, and negative steps are treated as step 0.
//
// Every schedule in this package is a plain struct value whose exported
// fields are its parameters. The struct tags name them in the spec
// language, so Parse and String are derived from the same declaration:
//
//	Peak  float64 `spec:"peak" default:"1" doc:"peak learning rate"`
//
// Parse(s.String()) returns a value equal (reflect.DeepEqual) to s.
//
// The mathematics of each schedule, with its source, is in the doc comment
// of its type; ../shared/spec/schedules.md in the project holds the
// reference tables the tests check.
package schedule

// Schedule is a learning rate as a function of the optimizer step.
//
// LR must be pure, allocation-free and safe for concurrent use. String
// returns the canonical spec text: Parse(s.String()) gives an equal
// schedule.
type Schedule interface {
	LR(step int64) float64
	String() string
}

// Func adapts a plain function to a Schedule, like http.HandlerFunc.
// Its String is "func()", which Parse does not accept: a Func has no text
// form.
type Func func(step int64) float64

// LR returns f(step).
func (f Func) LR(step int64) float64 { return f(step) }

// String returns "func()".
func (f Func) String() string { return "func()" }

// Validator is implemented by schedules that check their parameters.
// Parse calls Validate after filling the fields; constructors in Go code
// should call it too (New does).
type Validator interface {
	Validate() error
}

// Preparer is implemented by schedules that must do work once after their
// fields are set (read a file, sort points, precompute constants). Prepare
// returns the ready schedule; it may return a copy with unexported fields
// filled. Parse calls Prepare after Validate.
type Preparer interface {
	Prepare() (Schedule, error)
}
