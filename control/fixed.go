package control

import (
	"encoding/json"
	"fmt"

	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/schedule"
)

// Fixed is a Controller that follows a schedule and learns nothing.
type Fixed struct{ Schedule schedule.Schedule }

// NewFixed returns a controller that follows s.
func NewFixed(s schedule.Schedule) *Fixed { return &Fixed{Schedule: s} }

// LR returns the schedule's rate at step.
func (f *Fixed) LR(step int64) float64 { return f.Schedule.LR(step) }

// Observe does nothing: a fixed schedule does not learn.
func (f *Fixed) Observe(runlog.Record) {}

// State returns an empty JSON object: a schedule has no state.
func (f *Fixed) State() ([]byte, error) { return []byte("{}"), nil }

// Restore accepts the empty state that State returns.
func (f *Fixed) Restore(state []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(state, &m); err != nil {
		return fmt.Errorf("fixed schedule: restore state: %w", err)
	}
	if len(m) != 0 {
		return fmt.Errorf("fixed schedule: restore state: unexpected fields in %s", state)
	}
	return nil
}

// String returns the schedule's spec.
func (f *Fixed) String() string { return f.Schedule.String() }
