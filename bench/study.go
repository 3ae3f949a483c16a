package bench

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Study is a benchmark study as written in a YAML file: which workloads,
// which schedules (spec templates), which budgets and seeds, and how the
// schedules' hyperparameters are tuned.
//
//	name: quick
//	workloads: [logreg-digits, mnist-mlp]
//	budgets: [0.25, 1.0]          # fractions of each workload's step hint
//	seeds: [0, 1, 2]              # one study (AlgoPerf's sense) per seed
//	baseline: cosine
//	tuning:
//	  mode: external              # or self: no search
//	  trials: 5                   # quasirandom points per study
//	  space:
//	    peak: {min: 1e-3, max: 1e-1, scale: log}
//	    warmup: {min: 0, max: 0.1}  # fraction of the trial's steps
//	schedules:
//	  - name: cosine
//	    spec: warmup(cosine(peak=${peak}, steps=${decay_steps}), steps=${warmup})
//	  - name: refined             # refinement of another entry's run
//	    refine: linear
//
// A spec template may use ${peak}, ${steps} (the trial's step budget),
// ${warmup} (warmup steps) and ${decay_steps} (steps − warmup), and any
// other name declared in the search space (${name}).
type Study struct {
	Name      string     `yaml:"name"`
	Workloads []string   `yaml:"workloads"`
	Budgets   []float64  `yaml:"budgets"`
	Seeds     []int64    `yaml:"seeds"`
	Baseline  string     `yaml:"baseline"`
	Tuning    Tuning     `yaml:"tuning"`
	Schedules []Entry    `yaml:"schedules"`
	Targets   Targets    `yaml:"targets"`
	Eval      EvalConfig `yaml:"eval"`
}

// Entry is one schedule or controller under test.
type Entry struct {
	Name string `yaml:"name"`
	Spec string `yaml:"spec"`
	// Optimizer overrides the workload's default optimizer for this entry
	// (for the learning-rate-free baselines: sfadamw, prodigy).
	Optimizer string `yaml:"optimizer"`
	// SelfTuned entries take no search: they run once per study with the
	// workload's default peak.
	SelfTuned bool `yaml:"self_tuned"`
	// Refine names another entry: each trial first runs that entry with
	// the same hyperparameters, then refines its schedule from the run's
	// gradient norms (Defazio et al. 2023; L1 norms for Adam-type
	// optimizers, L2 for SGD-type) and trains with the refined schedule at
	// the same peak. The first run's steps are reported as extra compute.
	// Such an entry has no spec of its own.
	Refine string `yaml:"refine"`
}

// Tuning is the tuning protocol.
type Tuning struct {
	Mode   string           `yaml:"mode"` // "external" (default) or "self"
	Trials int              `yaml:"trials"`
	Space  map[string]Range `yaml:"space"`
}

// Range is one dimension of the search space.
type Range struct {
	Min   float64 `yaml:"min"`
	Max   float64 `yaml:"max"`
	Scale string  `yaml:"scale"` // "linear" (default) or "log"
}

// Targets overrides workload targets by workload name.
type Targets map[string]float64

// EvalConfig says how often trials evaluate.
type EvalConfig struct {
	// Every is the number of evaluations over a trial (20 by default),
	// spread evenly over its steps.
	Count int `yaml:"count"`
}

// StudyError is an error in a study file, with the YAML line and field.
type StudyError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *StudyError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

// ParseStudy reads a study from YAML; file names the source in errors.
// Unknown fields, wrong types and invalid values are errors with the line
// and the field's path (e.g. "tuning.space.peak.min").
func ParseStudy(file string, data []byte) (*Study, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(file, err)
	}
	if len(root.Content) == 0 {
		return nil, &StudyError{File: file, Msg: "empty study file"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var s Study
	if err := dec.Decode(&s); err != nil {
		return nil, yamlError(file, err)
	}
	if err := s.validate(file, root.Content[0]); err != nil {
		return nil, err
	}
	s.applyDefaults()
	return &s, nil
}

// yamlError turns a yaml.v3 error ("yaml: line 5: field x not found in type
// bench.Study") into a StudyError with the line.
func yamlError(file string, err error) error {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 0
	if n, _ := fmt.Sscanf(msg, "line %d:", &line); n == 1 {
		if i := strings.Index(msg, ":"); i >= 0 {
			msg = strings.TrimSpace(msg[i+1:])
		}
	}
	msg = strings.ReplaceAll(msg, "in type bench.", "in ")
	return &StudyError{File: file, Line: line, Msg: msg}
}

// find returns the node at a path of mapping keys and sequence indexes
// below n, or nil.
func find(n *yaml.Node, path ...string) *yaml.Node {
	for _, p := range path {
		if n == nil {
			return nil
		}
		switch n.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					next = n.Content[i+1]
				}
			}
			n = next
		case yaml.SequenceNode:
			var idx int
			if _, err := fmt.Sscanf(p, "%d", &idx); err != nil || idx < 0 || idx >= len(n.Content) {
				return nil
			}
			n = n.Content[idx]
		default:
			return nil
		}
	}
	return n
}

func (s *Study) validate(file string, root *yaml.Node) error {
	bad := func(msg string, path ...string) error {
		line := root.Line
		if n := find(root, path...); n != nil {
			line = n.Line
		} else if len(path) > 1 {
			if n := find(root, path[:len(path)-1]...); n != nil {
				line = n.Line
			}
		}
		return &StudyError{File: file, Line: line, Field: strings.Join(path, "."), Msg: msg}
	}
	if len(s.Workloads) == 0 {
		return bad("list at least one workload", "workloads")
	}
	seen := map[string]bool{}
	for i, w := range s.Workloads {
		if w == "" {
			return bad("empty workload name", "workloads", fmt.Sprint(i))
		}
		if seen[w] {
			return bad(fmt.Sprintf("workload %q listed twice", w), "workloads", fmt.Sprint(i))
		}
		seen[w] = true
	}
	for i, b := range s.Budgets {
		if !(b > 0) || math.IsInf(b, 0) {
			return bad(fmt.Sprintf("budget %v must be a positive fraction of the step hint", b), "budgets", fmt.Sprint(i))
		}
	}
	if len(s.Schedules) == 0 {
		return bad("list at least one schedule", "schedules")
	}
	names := map[string]bool{}
	for i, e := range s.Schedules {
		idx := fmt.Sprint(i)
		if e.Name == "" {
			return bad("every schedule needs a name", "schedules", idx, "name")
		}
		if names[e.Name] {
			return bad(fmt.Sprintf("schedule name %q used twice", e.Name), "schedules", idx, "name")
		}
		names[e.Name] = true
		if e.Refine != "" {
			if e.Spec != "" {
				return bad("a refined entry takes the spec of the entry it refines; remove spec", "schedules", idx, "spec")
			}
			base := -1
			for j, o := range s.Schedules {
				if o.Name == e.Refine && o.Refine == "" && j != i {
					base = j
				}
			}
			if base < 0 {
				return bad(fmt.Sprintf("%q is not a schedule of this study with a spec", e.Refine), "schedules", idx, "refine")
			}
			continue
		}
		if strings.TrimSpace(e.Spec) == "" {
			return bad("every schedule needs a spec", "schedules", idx, "spec")
		}
		if err := checkTemplate(e.Spec, s.Tuning.Space); err != nil {
			return bad(err.Error(), "schedules", idx, "spec")
		}
	}
	if s.Baseline != "" && !names[s.Baseline] {
		return bad(fmt.Sprintf("baseline %q is not one of the schedules", s.Baseline), "baseline")
	}
	switch s.Tuning.Mode {
	case "", "external", "self":
	default:
		return bad(fmt.Sprintf("mode %q: want external or self", s.Tuning.Mode), "tuning", "mode")
	}
	if s.Tuning.Trials < 0 {
		return bad("trials must not be negative", "tuning", "trials")
	}
	for name, r := range s.Tuning.Space {
		if !(r.Min <= r.Max) || math.IsInf(r.Min, 0) || math.IsInf(r.Max, 0) {
			return bad(fmt.Sprintf("min %v must not exceed max %v", r.Min, r.Max), "tuning", "space", name)
		}
		switch r.Scale {
		case "", "linear":
		case "log":
			if !(r.Min > 0) {
				return bad("a log scale needs min > 0", "tuning", "space", name, "min")
			}
		default:
			return bad(fmt.Sprintf("scale %q: want linear or log", r.Scale), "tuning", "space", name, "scale")
		}
	}
	if s.Eval.Count < 0 {
		return bad("count must not be negative", "eval", "count")
	}
	for w := range s.Targets {
		if !seen[w] {
			return bad(fmt.Sprintf("target for %q, which is not in workloads", w), "targets", w)
		}
	}
	return nil
}

func (s *Study) applyDefaults() {
	if s.Name == "" {
		s.Name = "study"
	}
	if len(s.Budgets) == 0 {
		s.Budgets = []float64{1}
	}
	if len(s.Seeds) == 0 {
		s.Seeds = []int64{0}
	}
	if s.Tuning.Mode == "" {
		s.Tuning.Mode = "external"
	}
	if s.Tuning.Trials == 0 {
		s.Tuning.Trials = 1
	}
	if s.Eval.Count == 0 {
		s.Eval.Count = 20
	}
	if s.Baseline == "" {
		for _, e := range s.Schedules {
			if e.Name == "cosine" {
				s.Baseline = "cosine"
			}
		}
	}
}

// builtinVars are the template variables every trial defines.
var builtinVars = []string{"peak", "steps", "warmup", "decay_steps"}

// checkTemplate reports ${...} references to unknown variables and
// unbalanced braces.
func checkTemplate(spec string, space map[string]Range) error {
	known := map[string]bool{}
	for _, v := range builtinVars {
		known[v] = true
	}
	for k := range space {
		known[k] = true
	}
	rest := spec
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			return nil
		}
		j := strings.Index(rest[i:], "}")
		if j < 0 {
			return fmt.Errorf("unclosed ${ in %q", spec)
		}
		name := rest[i+2 : i+j]
		if !known[name] {
			var names []string
			for k := range known {
				names = append(names, k)
			}
			sort.Strings(names)
			return fmt.Errorf("unknown variable ${%s} (known: %s)", name, strings.Join(names, ", "))
		}
		rest = rest[i+j+1:]
	}
}

// Expand fills a spec template with values.
func Expand(spec string, vars map[string]string) string {
	var b strings.Builder
	rest := spec
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(rest)
			return b.String()
		}
		j := strings.Index(rest[i:], "}")
		if j < 0 {
			b.WriteString(rest)
			return b.String()
		}
		b.WriteString(rest[:i])
		name := rest[i+2 : i+j]
		if v, ok := vars[name]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(rest[i : i+j+1])
		}
		rest = rest[i+j+1:]
	}
}
