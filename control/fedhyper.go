package control

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/schedule"
)

// FedHyperMomentum is the momentum of FedHyper-GM's global update
// (ATP-1010/FedHyper, hard-wired 0.9).
const FedHyperMomentum = 0.9

// FedHyper is FedHyper's global learning-rate rule, a server-side
// controller over federated rounds (Wang, Wang, Li, ICLR 2024, arXiv
// 2310.03156; ATP-1010/FedHyper; adaptive.md §3b). Its step is the round.
//
// Let Δ_r = (FedAvg of the client models) − (global model at the start of
// round r). The server computes an inner product each round and passes it
// to ObserveRound(r, dot) before asking LR(r):
//
//	mode g:  dot = ⟨Δ_{r−1}, Δ_r⟩   a ← clip(a + dot, −0.8, 4)
//	         new global = avg + a·Δ_r; LR returns 1 + a, the server rate
//	         (new global = old + (1+a)·Δ_r), in [0.2, 5].
//	mode gm: dot = ⟨M_{r−1}, Δ_r⟩   a ← clip(a + dot, −0.2, 4)
//	         M_r = Δ_r + 0.9·M_{r−1}; new global = avg + a·M_r;
//	         LR returns a, the coefficient on M_r.
//	mode sl: dot = ⟨Δ_{r−1}, Δ_r⟩   a ← clip(a + dot, −0.8, 4)
//	         the global model is not extrapolated; LR returns the clients'
//	         rate clip(lr·(1+a), 0.001, 0.1).
//
// a starts at 0; the hyper-rate is 1 as in the released code (the paper
// writes β_g; the code hard-wires it). Δ_{−1} and M_{−1} are zero, so the
// first round's dot is 0.
type FedHyper struct {
	Mode  string  `spec:"mode" default:"gm" choices:"g|gm|sl" doc:"g: global rate; gm: global with momentum (the code's recommendation); sl: server-side local rate"`
	Init  float64 `spec:"lr" default:"0.01" doc:"clients' base rate η0 (mode sl)"`
	state fedState
}

type fedState struct {
	A      runlog.Num `json:"a"`
	Rounds int64      `json:"rounds"`
}

// NewFedHyper returns a FedHyper controller in mode g, gm or sl.
func NewFedHyper(mode string, lr float64) *FedHyper { return &FedHyper{Mode: mode, Init: lr} }

// Validate checks the mode and rate.
func (f *FedHyper) Validate() error {
	if f.Mode != "g" && f.Mode != "gm" && f.Mode != "sl" {
		return &schedule.ParamError{Param: "mode", Msg: fmt.Sprintf("must be g, gm or sl, got %q", f.Mode)}
	}
	if !(f.Init > 0) || math.IsInf(f.Init, 0) {
		return &schedule.ParamError{Param: "lr", Msg: fmt.Sprintf("must be a finite number > 0, got %g", f.Init)}
	}
	return nil
}

// clipRange returns the bounds of a for the mode.
func (f *FedHyper) clipRange() (lo, hi float64) {
	if f.Mode == "gm" {
		return -0.2, 4
	}
	return -0.8, 4
}

// ObserveRound updates a with the round's inner product (see the type's
// doc for which one). A non-finite dot leaves a unchanged.
func (f *FedHyper) ObserveRound(round int64, dot float64) {
	_ = round
	f.state.Rounds++
	if math.IsNaN(dot) || math.IsInf(dot, 0) {
		return
	}
	lo, hi := f.clipRange()
	f.state.A = runlog.Num(math.Min(hi, math.Max(lo, float64(f.state.A)+dot)))
}

// A returns the current hypergradient variable a.
func (f *FedHyper) A() float64 { return float64(f.state.A) }

// LR returns the mode's rate for the round: 1+a (g), a (gm) or the
// clients' clipped rate (sl).
func (f *FedHyper) LR(int64) float64 {
	a := float64(f.state.A)
	switch f.Mode {
	case "g":
		return 1 + a
	case "sl":
		return math.Min(0.1, math.Max(0.001, f.Init*(1+a)))
	}
	return a
}

// Observe does nothing: FedHyper learns from ObserveRound.
func (f *FedHyper) Observe(runlog.Record) {}

// State returns a and the round count as JSON.
func (f *FedHyper) State() ([]byte, error) { return json.Marshal(f.state) }

// Restore sets the state State returned.
func (f *FedHyper) Restore(data []byte) error {
	var st fedState
	if err := restoreJSON("fedhyper", data, &st); err != nil {
		return err
	}
	lo, hi := f.clipRange()
	if a := float64(st.A); !(a >= lo && a <= hi) {
		return fmt.Errorf("fedhyper: restore state: a = %v outside [%g, %g]", a, lo, hi)
	}
	f.state = st
	return nil
}

// String returns the spec text.
func (f *FedHyper) String() string { return schedule.Format(f) }
