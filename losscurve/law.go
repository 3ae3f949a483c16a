package losscurve

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
)

// Law predicts a loss curve from a per-step learning-rate sequence.
type Law interface {
	// Predict returns the predicted loss at every step for the per-step
	// learning rates lrs (lrs[i] is the rate of the update at step i).
	Predict(lrs []float64) []float64
	// Params returns the law's parameters by name.
	Params() map[string]float64
	// Name is the law's kind: "mpl", "annealing" or "power".
	Name() string
}

// Law kinds accepted by Fit, New and Load.
const (
	KindMPL       = "mpl"
	KindAnnealing = "annealing"
	KindPower     = "power"
)

// Kinds lists the law kinds in a stable order.
func Kinds() []string { return []string{KindMPL, KindAnnealing, KindPower} }

// savedLaw is the JSON form of a law.
type savedLaw struct {
	Law     string             `json:"law"`
	Variant string             `json:"variant,omitempty"`
	Warmup  *int               `json:"warmup,omitempty"`
	Params  map[string]float64 `json:"params"`
	// Sigma, Members, Aggregate and Fit are those of a *Fitted.
	Sigma     *float64             `json:"sigma,omitempty"`
	Members   []map[string]float64 `json:"members,omitempty"`
	Aggregate string               `json:"aggregate,omitempty"`
	Fit       *FitInfo             `json:"fit,omitempty"`
}

// Save writes law as JSON: {"law": kind, "variant": ..., "params": {...}},
// and for a *Fitted also "sigma", "members" (the bootstrap refits'
// parameters), "aggregate" (how its prediction combines them) and "fit"
// (its FitInfo).
func Save(w io.Writer, law Law) error {
	var fitted *Fitted
	if f, ok := law.(*Fitted); ok {
		fitted = f
		law = Base(f)
	}
	s := savedLaw{Law: law.Name(), Params: law.Params()}
	if fitted != nil {
		sigma := fitted.Sigma
		info := fitted.Info
		s.Sigma, s.Fit = &sigma, &info
		if len(fitted.Members) > 0 && fitted.Aggregate != AggregatePoint {
			s.Aggregate = fitted.Aggregate
		}
		for _, m := range fitted.Members {
			s.Members = append(s.Members, Base(m).Params())
		}
	}
	switch l := law.(type) {
	case *MultiPower:
		s.Variant = string(l.Convention)
		wu := l.Warmup
		s.Warmup = &wu
	case *Annealing:
		s.Variant = string(l.Variant)
		wu := l.Warmup
		s.Warmup = &wu
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("losscurve: saving %s law: %w", law.Name(), err)
	}
	return nil
}

// Load reads a law written by Save. Unknown kinds, variants, missing or
// non-finite parameters are errors naming the field.
func Load(r io.Reader) (Law, error) {
	var s savedLaw
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("losscurve: reading law JSON: %w", err)
	}
	wu := -1
	if s.Warmup != nil {
		wu = *s.Warmup
	}
	law, err := New(s.Law, s.Variant, wu, s.Params)
	if err != nil || (s.Sigma == nil && s.Members == nil && s.Aggregate == "" && s.Fit == nil) {
		return law, err
	}
	f := &Fitted{Law: law}
	if s.Sigma != nil {
		if !(*s.Sigma >= 0) || math.IsInf(*s.Sigma, 0) {
			return nil, fmt.Errorf("losscurve: law JSON: sigma is %v, want a finite number >= 0", *s.Sigma)
		}
		f.Sigma = *s.Sigma
	}
	for i, p := range s.Members {
		m, err := New(s.Law, s.Variant, wu, p)
		if err != nil {
			return nil, fmt.Errorf("losscurve: law JSON: members[%d]: %w", i, err)
		}
		f.Members = append(f.Members, m)
	}
	if s.Aggregate != "" {
		a, err := checkAggregate(s.Aggregate)
		if err != nil {
			return nil, fmt.Errorf("losscurve: law JSON: %w", err)
		}
		f.Aggregate = a
	}
	if s.Fit != nil {
		in := *s.Fit
		switch {
		case !(in.Peak >= 0) || math.IsInf(in.Peak, 0):
			return nil, fmt.Errorf("losscurve: law JSON: fit.peak is %v, want a finite rate >= 0", in.Peak)
		case in.Warmup < 0 || in.From < 0 || in.To < in.From:
			return nil, fmt.Errorf("losscurve: law JSON: fit: warmup %d, from %d, to %d: want 0 <= warmup, 0 <= from <= to", in.Warmup, in.From, in.To)
		case !(in.Decay >= 0 && in.Decay <= 1):
			return nil, fmt.Errorf("losscurve: law JSON: fit.decay is %v, want 0..1", in.Decay)
		}
		f.Info = in
	}
	return f, nil
}

// New builds a law of the given kind from named parameters. variant is the
// MultiPower convention ("paper" or "repo") or the Annealing warm-up
// variant ("a" or "b"); empty means the default. warmup is the number of
// warm-up steps (negative: detect from the schedule). Every parameter of
// the kind must be present and finite; extra names are errors.
func New(kind, variant string, warmup int, params map[string]float64) (Law, error) {
	var names []string
	switch kind {
	case KindMPL:
		names = mplParamNames
	case KindAnnealing:
		names = annealingParamNames
	case KindPower:
		names = powerParamNames
	default:
		return nil, fmt.Errorf("losscurve: unknown law %q (want one of %v)", kind, Kinds())
	}
	if err := checkParams(kind, names, params); err != nil {
		return nil, err
	}
	p := func(n string) float64 { return params[n] }
	switch kind {
	case KindMPL:
		conv := Convention(variant)
		if conv == "" {
			conv = ConventionPaper
		}
		if conv != ConventionPaper && conv != ConventionRepo {
			return nil, fmt.Errorf("losscurve: mpl variant %q: want %q or %q", variant, ConventionPaper, ConventionRepo)
		}
		return &MultiPower{L0: p("L0"), A: p("A"), Alpha: p("alpha"), B: p("B"), C: p("C"), Beta: p("beta"), Gamma: p("gamma"), Convention: conv, Warmup: warmup}, nil
	case KindAnnealing:
		v := WarmupVariant(variant)
		if v == "" {
			v = WarmupB
		}
		if v != WarmupA && v != WarmupB {
			return nil, fmt.Errorf("losscurve: annealing variant %q: want %q or %q", variant, WarmupA, WarmupB)
		}
		return &Annealing{L0: p("L0"), A: p("A"), Alpha: p("alpha"), C: p("C"), Lambda: p("lambda"), Variant: v, Warmup: warmup}, nil
	default:
		return &Power{L0: p("L0"), A: p("A"), Alpha: p("alpha")}, nil
	}
}

func checkParams(kind string, names []string, params map[string]float64) error {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
		v, ok := params[n]
		if !ok {
			return fmt.Errorf("losscurve: %s law: parameter %q missing", kind, n)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("losscurve: %s law: parameter %q is %v", kind, n, v)
		}
	}
	var extra []string
	for n := range params {
		if !want[n] {
			extra = append(extra, n)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return fmt.Errorf("losscurve: %s law: unknown parameters %v (want %v)", kind, extra, names)
	}
	return nil
}

// ErrEmpty is returned when a learning-rate sequence is empty.
var ErrEmpty = errors.New("losscurve: empty learning-rate sequence")

// DetectWarmup returns the number of warm-up steps of lrs: the index of
// the first step whose rate equals the maximum rate. A schedule that
// starts at its peak has no warm-up (0).
func DetectWarmup(lrs []float64) int {
	best, at := math.Inf(-1), 0
	for i, v := range lrs {
		if v > best {
			best, at = v, i
		}
	}
	return at
}

// cumsum returns the inclusive prefix sums of x.
func cumsum(x []float64) []float64 {
	out := make([]float64, len(x))
	s := 0.0
	for i, v := range x {
		s += v
		out[i] = s
	}
	return out
}
