// Package control holds learning-rate controllers: schedules that learn
// from the run (plateau, hypergradient descent, AutoLRS) behind one
// interface, and offline refinement of a schedule from a run's gradient
// norms.
package control

import "github.com/lrkit/lrkit/runlog"

// Controller chooses the learning rate step by step and may learn from
// what the run reports. A fixed schedule is the simplest Controller: it
// observes nothing.
//
// The training loop calls LR(t) before update t and Observe with that
// step's record after it. State returns the controller's whole state as
// JSON; Restore(State()) on a controller built from the same spec
// continues exactly as the original would have.
type Controller interface {
	LR(step int64) float64
	Observe(r runlog.Record)
	State() ([]byte, error)
	Restore(state []byte) error
	String() string // the spec text the controller was built from
}
