package bench

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"path/filepath"
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
//	workload_budgets:             # per-workload budgets, if they differ
//	  mnist-mlp: [0.15]
//	seeds: [0, 1, 2]              # evaluation seeds
//	baseline: cosine
//	tuning:
//	  mode: grid                  # or external, self (AlgoPerf's rulesets)
//	  seeds: [100]                # selection seeds, disjoint from seeds
//	  warmup: 0.05                # fixed warm-up, a fraction of each budget
//	  grid:
//	    points: 5                 # log-spaced peaks (at least 5)
//	    range: [1e-3, 1e-1]       # optional; default the workload's
//	    extend: 3                 # extensions past an edge, per side
//	  prune: {rule: loss}         # optional: stop grid points that lag early
//	schedules:
//	  - name: cosine
//	    spec: warmup(cosine(peak=${peak}, steps=${steps}), steps=${warmup})
//	  - name: wsd
//	    spec: warmup(wsd(peak=${peak}, steps=${steps}, decay=0.2), steps=${warmup})
//	    tune_budget: 1.0          # tune at budget 1, reuse that peak
//	  - name: refined             # refinement of another entry's run
//	    refine: linear
//
// # Tuning modes
//
// grid (the built-in studies) tunes each schedule on each workload and
// budget separately: the peak learning rate is searched on a log-spaced
// grid (tuning.grid.points peaks over tuning.grid.range, or the
// workload's [workload.Workload.PeakSearchRange] when the study gives no
// range), trained on the selection seeds (tuning.seeds). When the grid's
// best peak is at its lowest or highest point, the grid grows by one log
// step past that edge, up to tuning.grid.extend times per side; a cell
// whose best is still at the edge after that is reported. The selection
// criterion is the final validation metric at the budget, averaged over
// the selection seeds, a diverged run counting as the worst possible;
// ties (accuracy is coarse on small validation sets) go to the lower mean
// final validation loss, then to the lower peak. The chosen peak is then
// trained afresh on every evaluation seed (seeds), which never coincide
// with a selection seed, so the scored runs play no part in choosing
// their own hyperparameters (Cawley and Talbot 2010, JMLR 11). The
// warm-up is not searched: it is tuning.warmup of each budget's steps
// (or tuning.warmup_steps steps at every budget). With tuning.prune, the
// grid's points first train probes and only those the early-ranking
// pruner keeps are trained to the end (see Prune; off by default).
//
// external is AlgoPerf's external-tuning ruleset (Dahl et al. 2023,
// arXiv 2306.07179): tuning.trials quasirandom points of tuning.space per
// study (seed), the same points for every schedule, each study scored by
// its best trial. self is AlgoPerf's self-tuning ruleset: one run per
// seed at the workload's default peak.
//
// A spec template may use ${peak}, ${steps} (the trial's step budget),
// ${warmup} (warm-up steps) and ${decay_steps} (steps − warm-up), and in
// external mode any other name declared in the search space (${name}).
// Since warm-up sits inside the horizon of the schedule it wraps,
// warmup(cosine(peak=${peak}, steps=${steps}), steps=${warmup}) is a run
// of ${steps} steps whose first ${warmup} steps are the warm-up.
type Study struct {
	Name      string    `yaml:"name"`
	Workloads []string  `yaml:"workloads"`
	Budgets   []float64 `yaml:"budgets"`
	// WorkloadBudgets overrides Budgets for the workloads it names (a
	// neural workload at a small budget beside convex ones at larger).
	WorkloadBudgets map[string][]float64 `yaml:"workload_budgets"`
	Seeds           []int64              `yaml:"seeds"` // evaluation seeds (grid mode); AlgoPerf's studies (external, self)
	Baseline        string               `yaml:"baseline"`
	Tuning          Tuning               `yaml:"tuning"`
	Schedules       []Entry              `yaml:"schedules"`
	Targets         Targets              `yaml:"targets"`
	Eval            EvalConfig           `yaml:"eval"`
	// Commands are workloads the study defines as programs to run (a
	// user's own training script); workloads may name them. See
	// CommandWorkload.
	Commands map[string]CommandWorkload `yaml:"commands"`

	// where locates the file's workload and budget entries for the errors
	// of WorkloadInfos, which checks them against the workloads.
	where map[string]*StudyError
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
	// TuneBudget (grid mode) names one of the study's budgets: the entry is
	// tuned at that budget only, and every other budget reuses the peak
	// chosen there. With warm-up steps fixed in absolute terms
	// (tuning.warmup_steps) this is how WSD is meant to run: every budget's
	// run is a cooldown branched from one stable phase (Hägele et al. 2024,
	// arXiv 2405.18392).
	TuneBudget float64 `yaml:"tune_budget"`
}

// Tuning is the tuning protocol.
type Tuning struct {
	Mode   string           `yaml:"mode"`   // "grid", "external" (default) or "self"
	Trials int              `yaml:"trials"` // external: quasirandom points per study
	Space  map[string]Range `yaml:"space"`  // external: the search space
	// Seeds are the selection (tuning) seeds of grid mode.
	Seeds []int64 `yaml:"seeds"`
	// Warmup is grid mode's warm-up, a fraction of each budget's steps in
	// [0, 1); WarmupSteps fixes it in steps instead (at most one of them).
	Warmup      float64 `yaml:"warmup"`
	WarmupSteps int64   `yaml:"warmup_steps"`
	Grid        Grid    `yaml:"grid"`
	// Prune turns on the grid's pruner (nil: off); see Prune.
	Prune *Prune `yaml:"prune"`
}

// Grid is grid mode's peak search.
type Grid struct {
	// Points is the number of log-spaced peaks of the initial grid (5 by
	// default, at least 5).
	Points int `yaml:"points"`
	// Range is the initial grid's lowest and highest peak for every
	// workload; Ranges overrides it per workload. Without either, a
	// workload's grid spans its PeakSearchRange.
	Range  []float64            `yaml:"range"`
	Ranges map[string][]float64 `yaml:"ranges"`
	// Extend is how many log steps the grid may grow past each edge when
	// its best point sits there (3 by default; 0 turns extension off).
	Extend *int `yaml:"extend"`
}

// MinGridPoints is the smallest initial grid grid mode accepts: with fewer
// points an optimum that is not at an edge can hardly be told from one
// that is.
const MinGridPoints = 5

// DefaultExtend is grid mode's default number of extensions per edge.
const DefaultExtend = 3

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
	if len(data) > MaxStudyBytes {
		return nil, &StudyError{File: file, Msg: fmt.Sprintf("%d bytes; a study file is at most %d", len(data), MaxStudyBytes)}
	}
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
	if len(s.Commands) > 0 {
		// A command runs in its study file's directory (or dir below it).
		base, err := filepath.Abs(filepath.Dir(file))
		if err != nil {
			return nil, &StudyError{File: file, Msg: err.Error()}
		}
		for name, c := range s.Commands {
			c.Dir = filepath.Join(base, c.Dir)
			s.Commands[name] = c
		}
	}
	return &s, nil
}

// command returns the command workload w names, or nil for a built-in
// workload.
func (s *Study) command(w string) *CommandWorkload {
	c, ok := s.Commands[w]
	if !ok {
		return nil
	}
	return &c
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
	if s.Name != "" {
		if err := CheckName(s.Name); err != nil {
			return bad(err.Error(), "name")
		}
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
	for w, bs := range s.WorkloadBudgets {
		if !seen[w] {
			return bad(fmt.Sprintf("budgets for %q, which is not in workloads", w), "workload_budgets", w)
		}
		if len(bs) == 0 {
			return bad("list at least one budget", "workload_budgets", w)
		}
		dup := map[float64]bool{}
		for i, b := range bs {
			if !(b > 0) || math.IsInf(b, 0) {
				return bad(fmt.Sprintf("budget %v must be a positive fraction of the step hint", b), "workload_budgets", w, fmt.Sprint(i))
			}
			if dup[b] {
				return bad(fmt.Sprintf("budget %v listed twice", b), "workload_budgets", w, fmt.Sprint(i))
			}
			dup[b] = true
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
	case "grid":
		if err := s.validateGrid(bad, seen); err != nil {
			return err
		}
	default:
		return bad(fmt.Sprintf("mode %q: want grid, external or self", s.Tuning.Mode), "tuning", "mode")
	}
	if s.Tuning.Mode != "grid" {
		for i, e := range s.Schedules {
			if e.TuneBudget != 0 {
				return bad("tune_budget needs tuning.mode grid", "schedules", fmt.Sprint(i), "tune_budget")
			}
		}
		for _, f := range []string{"seeds", "warmup", "warmup_steps", "grid", "prune"} {
			if find(root, "tuning", f) != nil {
				return bad("only tuning.mode grid takes "+f, "tuning", f)
			}
		}
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
	s.where = map[string]*StudyError{}
	for i := range s.Workloads {
		s.where[fmt.Sprint("workloads.", i)] = bad("", "workloads", fmt.Sprint(i)).(*StudyError)
	}
	for i := range s.Budgets {
		s.where[fmt.Sprint("budgets.", i)] = bad("", "budgets", fmt.Sprint(i)).(*StudyError)
	}
	for w, bs := range s.WorkloadBudgets {
		for i := range bs {
			s.where[fmt.Sprint("workload_budgets.", w, ".", i)] = bad("", "workload_budgets", w, fmt.Sprint(i)).(*StudyError)
		}
	}
	return s.validateContent(bad)
}

// validateGrid checks grid mode's settings: selection seeds disjoint from
// the evaluation seeds, a grid of at least MinGridPoints, ranges, the
// warm-up and every entry's tune_budget.
func (s *Study) validateGrid(bad func(string, ...string) error, workloads map[string]bool) error {
	t := s.Tuning
	if len(t.Seeds) == 0 {
		return bad("grid mode needs selection seeds (tuning.seeds), disjoint from the evaluation seeds (seeds)", "tuning", "seeds")
	}
	eval := map[int64]bool{}
	evalSeeds := s.Seeds
	if len(evalSeeds) == 0 {
		evalSeeds = []int64{0} // the default
	}
	for _, x := range evalSeeds {
		eval[x] = true
	}
	tuneSeen := map[int64]bool{}
	for i, x := range t.Seeds {
		if eval[x] {
			return bad(fmt.Sprintf("seed %d is both a selection seed and an evaluation seed (seeds); the runs that choose a peak must not be the runs that are scored", x), "tuning", "seeds", fmt.Sprint(i))
		}
		if tuneSeen[x] {
			return bad(fmt.Sprintf("seed %d listed twice", x), "tuning", "seeds", fmt.Sprint(i))
		}
		tuneSeen[x] = true
	}
	if t.Trials != 0 {
		return bad("grid mode searches the peak on tuning.grid; remove trials", "tuning", "trials")
	}
	if len(t.Space) > 0 {
		return bad("grid mode searches the peak on tuning.grid; remove space", "tuning", "space")
	}
	if !(t.Warmup >= 0 && t.Warmup < 1) {
		return bad(fmt.Sprintf("warmup %v: want a fraction of the budget in [0, 1)", t.Warmup), "tuning", "warmup")
	}
	if t.WarmupSteps < 0 {
		return bad("warmup_steps must not be negative", "tuning", "warmup_steps")
	}
	if t.WarmupSteps > 0 && t.Warmup > 0 {
		return bad("give warmup (a fraction) or warmup_steps, not both", "tuning", "warmup_steps")
	}
	if t.Grid.Points != 0 && t.Grid.Points < MinGridPoints {
		return bad(fmt.Sprintf("points %d: want at least %d", t.Grid.Points, MinGridPoints), "tuning", "grid", "points")
	}
	if t.Grid.Extend != nil && (*t.Grid.Extend < 0 || *t.Grid.Extend > 20) {
		return bad(fmt.Sprintf("extend %d: want 0 to 20", *t.Grid.Extend), "tuning", "grid", "extend")
	}
	if t.Prune != nil {
		if err := validatePrune(t.Prune, bad); err != nil {
			return err
		}
	}
	checkRange := func(r []float64, path ...string) error {
		if len(r) != 2 || !(r[0] > 0) || !(r[1] > r[0]) || math.IsInf(r[1], 0) {
			return bad(fmt.Sprintf("range %v: want [low, high] with 0 < low < high", r), path...)
		}
		return nil
	}
	if t.Grid.Range != nil {
		if err := checkRange(t.Grid.Range, "tuning", "grid", "range"); err != nil {
			return err
		}
	}
	for w, r := range t.Grid.Ranges {
		if !workloads[w] {
			return bad(fmt.Sprintf("range for %q, which is not in workloads", w), "tuning", "grid", "ranges", w)
		}
		if err := checkRange(r, "tuning", "grid", "ranges", w); err != nil {
			return err
		}
	}
	for i, e := range s.Schedules {
		if e.TuneBudget == 0 {
			continue
		}
		for w := range workloads {
			ok := false
			for _, b := range s.budgetsOf(w) {
				ok = ok || b == e.TuneBudget
			}
			if !ok {
				return bad(fmt.Sprintf("tune_budget %v is not one of the study's budgets for %s", e.TuneBudget, w), "schedules", fmt.Sprint(i), "tune_budget")
			}
		}
	}
	return nil
}

// budgetsOf returns a workload's budgets: its own from workload_budgets,
// else the study's (which default to [1]).
func (s *Study) budgetsOf(w string) []float64 {
	if bs, ok := s.WorkloadBudgets[w]; ok {
		return bs
	}
	if len(s.Budgets) == 0 {
		return []float64{1}
	}
	return s.Budgets
}

// AllBudgets returns every budget of the study, ascending.
func (s *Study) AllBudgets() []float64 {
	seen := map[float64]bool{}
	var out []float64
	for _, w := range s.Workloads {
		for _, b := range s.budgetsOf(w) {
			if !seen[b] {
				seen[b] = true
				out = append(out, b)
			}
		}
	}
	sort.Float64s(out)
	return out
}

// CheckName reports whether name can name a study: reports go to
// out/bench/<name>, so a name must be a simple file name (letters, digits,
// '.', '_' and '-', not starting with '.'), never a path.
func CheckName(name string) error {
	if name == "" {
		return errors.New("a study name must not be empty")
	}
	if len(name) > 100 {
		return fmt.Errorf("study name %.20q... is longer than 100 characters", name)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		if !ok {
			return fmt.Errorf("study name %q: use only letters, digits, '.', '_' and '-' (a study's report goes to out/bench/<name>)", name)
		}
	}
	if name[0] == '.' {
		return fmt.Errorf("study name %q must not start with '.' (a study's report goes to out/bench/<name>)", name)
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
	if s.Tuning.Trials == 0 && s.Tuning.Mode != "grid" {
		s.Tuning.Trials = 1
	}
	if s.Tuning.Grid.Points == 0 {
		s.Tuning.Grid.Points = MinGridPoints
	}
	if s.Tuning.Grid.Extend == nil {
		n := DefaultExtend
		s.Tuning.Grid.Extend = &n
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
