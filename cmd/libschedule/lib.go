package main

import (
	"fmt"
	"math"
	"math/big"
	"runtime/cgo"
	"strings"

	// Package control registers the controller kinds (plateau, hd, ...)
	// in the spec language, as cmd/lrkit links them: without it a
	// controller spec is an "unknown schedule" here, where the CLI says
	// that it is a controller and where it belongs.
	_ "github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/schedule"
)

// abiVersion changes whenever the C API changes incompatibly; the Python
// package refuses a library of another version (a stale build).
const abiVersion = 1

// Return codes of lrkit_values and lrkit_range.
const (
	allFinite = -1 // every rate is finite
	badArgs   = -2 // n < 0, a nil buffer, or a range that leaves int64
)

// maxSpecLen bounds the spec text lrkit_parse accepts (a table schedule
// with many points is long, but not this long), so that its length fits
// the C int that C.GoStringN takes.
const maxSpecLen = 1 << 30

// parse reads a schedule as lrkit's commands do (cmd/lrkit's parseSpec):
// spec text, or its JSON form when the text starts with "{", then the
// parity override when parity is not empty. A controller spec is package
// schedule's error "NAME is a controller (it learns from the run) ...",
// the one the CLI gives: a controller needs a trainer or the server. A
// panic in the parser (a bug) becomes an error rather than taking the host
// process down.
func parse(text, parity string) (s schedule.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("internal error in lrkit's schedule library: %v", r)
		}
	}()
	if strings.HasPrefix(strings.TrimSpace(text), "{") {
		s, err = schedule.ParseJSON([]byte(text))
	} else {
		s, err = schedule.Parse(text)
	}
	if err != nil {
		return nil, err
	}
	if parity != "" {
		if s, err = schedule.WithParity(s, parity); err != nil {
			return nil, fmt.Errorf("parity: %w", err)
		}
	}
	return s, nil
}

// sched returns the schedule behind a handle made by lrkit_parse.
func sched(h cgo.Handle) schedule.Schedule { return h.Value().(schedule.Schedule) }

// safeLR returns s.LR(t), or NaN if it panics (a bug), so that the caller
// reports a non-finite rate instead of the host process dying.
func safeLR(s schedule.Schedule, t int64) (v float64) {
	defer func() {
		if r := recover(); r != nil {
			v = math.NaN()
		}
	}()
	return s.LR(t)
}

func rate(h cgo.Handle, t int64) float64 { return safeLR(sched(h), t) }

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// valuesAt writes the rates of steps to out (len(out) == len(steps)) and
// returns the index of the first non-finite one, or allFinite.
func valuesAt(h cgo.Handle, steps []int64, out []float64) int64 {
	s := sched(h)
	if !fillAt(s, steps, out) { // a panic (a bug): again, one step at a time
		for i, t := range steps {
			out[i] = safeLR(s, t)
		}
	}
	return firstNonFinite(out)
}

// valuesRange writes the rates of steps start, start+stride, ... to out
// and returns the index of the first non-finite one, allFinite, or
// badArgs when the last step does not fit in an int64.
func valuesRange(h cgo.Handle, start, stride int64, out []float64) int64 {
	if len(out) == 0 {
		return allFinite
	}
	if _, ok := rangeEnd(start, stride, int64(len(out))); !ok {
		return badArgs
	}
	s := sched(h)
	if !fillRange(s, start, stride, out) {
		t := start
		for i := range out {
			out[i] = safeLR(s, t)
			t += stride // the last addition may wrap; its result is not used
		}
	}
	return firstNonFinite(out)
}

// fillAt and fillRange evaluate in a tight loop with one deferred recover
// (a deferred call per step costs a third of a cheap schedule's time);
// they report false if LR panicked.
func fillAt(s schedule.Schedule, steps []int64, out []float64) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	for i, t := range steps {
		out[i] = s.LR(t)
	}
	return true
}

func fillRange(s schedule.Schedule, start, stride int64, out []float64) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	t := start
	for i := range out {
		out[i] = s.LR(t)
		t += stride
	}
	return true
}

func firstNonFinite(out []float64) int64 {
	for i, v := range out {
		if !finite(v) {
			return int64(i)
		}
	}
	return allFinite
}

// rangeEnd returns start + (n-1)*stride and whether it fits in an int64.
func rangeEnd(start, stride, n int64) (int64, bool) {
	if n <= 0 {
		return 0, false
	}
	end := new(big.Int).Mul(big.NewInt(stride), big.NewInt(n-1))
	end.Add(end, big.NewInt(start))
	if !end.IsInt64() {
		return 0, false
	}
	return end.Int64(), true
}

func canonical(h cgo.Handle) string { return sched(h).String() }

func toJSON(h cgo.Handle) (string, error) {
	b, err := schedule.ToJSON(sched(h))
	if err != nil {
		return "", err
	}
	return string(b), nil
}
