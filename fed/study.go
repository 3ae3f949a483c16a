package fed

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Study is a federated study as written in a YAML file: the federation
// (data set, partition, model, clients and their speeds), the methods
// compared (aggregation algorithms, each with its own tuned client rate)
// and FedHyper's rules, the seeds that tune and the seeds that evaluate.
//
//	name: fed
//	datasets: [mnist, fashion-mnist]
//	model: mlp:64                  # logistic, mlp:<widths>, or a workload's model
//	optimizer: sgd                 # fresh every local round
//	batch: 32
//	clients: 8
//	dirichlet: 0.3                 # α of the label partition
//	local_steps: 20                # Q (Q_max for FedCompass)
//	speeds: {dist: lognormal, mean: 1, sigma: 0.8, jitter: 0.1}
//	budget: 1500                   # virtual seconds per run
//	eval: {every: 20, rounds: 1, examples: 2000}
//	targets: {mnist: 0.92, fashion-mnist: 0.78}
//	seeds: {select: [1001, 1002], eval: [1, 2, 3, 4, 5]}
//	lrs: [0.01, 0.03, 0.1, 0.3]    # client rates searched per method
//	methods:
//	  - {name: fedavg, algorithm: fedavg}
//	  - {name: fedcompass, algorithm: fedcompass, q_min: 4, lambda: 1.5}
//	fedhyper:
//	  baseline: fedavg             # its tuned rate is the good initial rate
//	  rules: [fedhyper-g, fedhyper-gm, fedhyper-sl, fedhyper-cl, fedhyper-full]
//	  poor: 0.1                    # the poor initial rate is good × poor
//
// Every method's client rate is chosen from lrs on the selection seeds
// (least mean virtual time to the target; ties by final accuracy) and
// then run on the evaluation seeds, which never influence a choice.
type Study struct {
	Name       string             `yaml:"name"`
	Datasets   []string           `yaml:"datasets"`
	Model      string             `yaml:"model"`
	Optimizer  string             `yaml:"optimizer"`
	Batch      int                `yaml:"batch"`
	Clients    int                `yaml:"clients"`
	Dirichlet  float64            `yaml:"dirichlet"`
	MinShard   int                `yaml:"min_shard"`
	LocalSteps int                `yaml:"local_steps"`
	Weights    string             `yaml:"weights"`
	Speeds     Speeds             `yaml:"speeds"`
	Budget     float64            `yaml:"budget"`
	Eval       StudyEval          `yaml:"eval"`
	Targets    map[string]float64 `yaml:"targets"`
	Seeds      StudySeeds         `yaml:"seeds"`
	LRs        []float64          `yaml:"lrs"`
	Methods    []Method           `yaml:"methods"`
	FedHyper   *HyperArm          `yaml:"fedhyper"`
	Limit      int                `yaml:"limit"`
}

// StudyEval says when and on how many test examples runs evaluate.
type StudyEval struct {
	Every    float64 `yaml:"every"`    // virtual seconds
	Rounds   int     `yaml:"rounds"`   // FedAvg: also every this many rounds
	Examples int     `yaml:"examples"` // evaluation subset of the test set (0: all)
}

// StudySeeds separates the seeds that choose settings from those that
// report them.
type StudySeeds struct {
	Select []uint64 `yaml:"select"`
	Eval   []uint64 `yaml:"eval"`
}

// Method is one aggregation algorithm with its knobs.
type Method struct {
	Name          string     `yaml:"name"`
	Algorithm     string     `yaml:"algorithm"`
	Alpha         float64    `yaml:"alpha"`
	Staleness     *Staleness `yaml:"staleness"`
	Buffer        int        `yaml:"buffer"`
	QMin          int        `yaml:"q_min"`
	Lambda        float64    `yaml:"lambda"`
	SpeedMomentum float64    `yaml:"speed_momentum"`
	Fraction      float64    `yaml:"fraction"`
	LRs           []float64  `yaml:"lrs"` // overrides the study's grid
}

// HyperArm runs FedHyper's rules on a FedAvg method at its tuned (good)
// rate and at a poor one.
type HyperArm struct {
	Baseline string   `yaml:"baseline"`
	Rules    []string `yaml:"rules"`
	Poor     float64  `yaml:"poor"`
}

// StudyError is an error in a study file, with its line and field.
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

// ParseStudy reads a study from YAML; file names the source in errors,
// which give the line and the field's path ("methods.2.buffer").
func ParseStudy(file string, text []byte) (*Study, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(text, &root); err != nil {
		return nil, yamlError(file, err)
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, &StudyError{File: file, Line: 1, Msg: "a study is a YAML mapping (name:, datasets:, methods:, …)"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	var s Study
	if err := dec.Decode(&s); err != nil {
		return nil, yamlError(file, err)
	}
	s.applyDefaults()
	if err := s.validate(file, root.Content[0]); err != nil {
		return nil, err
	}
	return &s, nil
}

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
	msg = strings.ReplaceAll(msg, "in type fed.", "in ")
	return &StudyError{File: file, Line: line, Msg: msg}
}

// find returns the node at a path of mapping keys and sequence indexes.
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

func (s *Study) applyDefaults() {
	if s.Name == "" {
		s.Name = "fed"
	}
	if s.Model == "" {
		s.Model = "mlp:64"
	}
	if s.Optimizer == "" {
		s.Optimizer = "sgd"
	}
	if s.Batch == 0 {
		s.Batch = 32
	}
	if s.Weights == "" {
		s.Weights = "samples"
	}
	if s.MinShard == 0 {
		s.MinShard = s.Batch
	}
	if s.Speeds.Dist == "" {
		s.Speeds.Dist = "fixed"
		if s.Speeds.Mean == 0 {
			s.Speeds.Mean = 1
		}
	}
	for i := range s.Methods {
		m := &s.Methods[i]
		if m.Alpha == 0 {
			m.Alpha = 0.9
		}
		if m.Staleness == nil {
			m.Staleness = &Staleness{Fn: "polynomial", A: 0.5}
		}
		if m.Buffer == 0 {
			m.Buffer = max(1, s.Clients/2)
		}
		if m.QMin == 0 {
			m.QMin = max(1, s.LocalSteps/5)
		}
		if m.Lambda == 0 {
			m.Lambda = 1.5
		}
		if m.SpeedMomentum == 0 {
			m.SpeedMomentum = 0.9
		}
		if len(m.LRs) == 0 {
			m.LRs = slices.Clone(s.LRs)
		}
	}
	if s.FedHyper != nil && s.FedHyper.Poor == 0 {
		s.FedHyper.Poor = 0.1
	}
}

func (s *Study) validate(file string, root *yaml.Node) error {
	bad := func(msg string, path ...string) error {
		line := root.Line
		for k := len(path); k > 0; k-- {
			if n := find(root, path[:k]...); n != nil {
				line = n.Line
				break
			}
		}
		return &StudyError{File: file, Line: line, Field: strings.Join(path, "."), Msg: msg}
	}
	if len(s.Datasets) == 0 {
		return bad("list at least one data set ("+strings.Join(Datasets, ", ")+")", "datasets")
	}
	for i, d := range s.Datasets {
		if !slices.Contains(Datasets, d) {
			return bad(fmt.Sprintf("unknown data set %q (have %s)", d, strings.Join(Datasets, ", ")), "datasets", fmt.Sprint(i))
		}
		if slices.Index(s.Datasets, d) != i {
			return bad(fmt.Sprintf("data set %q listed twice", d), "datasets", fmt.Sprint(i))
		}
		t, ok := s.Targets[d]
		if !ok {
			return bad(fmt.Sprintf("no target accuracy for %s", d), "targets")
		}
		if !(t > 0 && t < 1) {
			return bad(fmt.Sprintf("target %v, want an accuracy in (0, 1)", t), "targets", d)
		}
	}
	for d := range s.Targets {
		if !slices.Contains(s.Datasets, d) {
			return bad(fmt.Sprintf("target for %q, which is not in datasets", d), "targets", d)
		}
	}
	if _, err := parseModel(s.Model); err != nil {
		return bad(err.Error(), "model")
	}
	if s.Clients < 1 {
		return bad(fmt.Sprintf("%d clients, want ≥ 1", s.Clients), "clients")
	}
	if s.LocalSteps < 1 {
		return bad(fmt.Sprintf("%d local steps, want ≥ 1", s.LocalSteps), "local_steps")
	}
	if s.Limit < 0 {
		return bad("limit must not be negative", "limit")
	}
	if !(s.Dirichlet > 0) || math.IsInf(s.Dirichlet, 0) {
		return bad(fmt.Sprintf("alpha %v, want a finite number > 0", s.Dirichlet), "dirichlet")
	}
	if s.Batch < 1 {
		return bad(fmt.Sprintf("batch %d, want ≥ 1", s.Batch), "batch")
	}
	if s.MinShard < 1 {
		return bad(fmt.Sprintf("min shard %d, want ≥ 1", s.MinShard), "min_shard")
	}
	if err := (EnvSpec{Dataset: s.Datasets[0], Clients: s.Clients, Dirichlet: s.Dirichlet, MinShard: s.MinShard, Model: s.Model,
		Batch: s.Batch, Optimizer: s.Optimizer, EvalExamples: s.Eval.Examples}).Validate(); err != nil {
		return bad(err.Error(), "optimizer")
	}
	if s.Weights != "samples" && s.Weights != "equal" {
		return bad(fmt.Sprintf("weights %q, want samples or equal", s.Weights), "weights")
	}
	if err := s.Speeds.Validate(); err != nil {
		return bad(err.Error(), "speeds")
	}
	if !(s.Eval.Every > 0) || math.IsInf(s.Eval.Every, 0) {
		return bad(fmt.Sprintf("every %v, want virtual seconds > 0", s.Eval.Every), "eval", "every")
	}
	if s.Eval.Examples < 0 {
		return bad(fmt.Sprintf("examples %d, want ≥ 0 (0: the whole test set)", s.Eval.Examples), "eval", "examples")
	}
	if s.Eval.Rounds < 0 {
		return bad(fmt.Sprintf("rounds %d, want ≥ 0", s.Eval.Rounds), "eval", "rounds")
	}
	if !(s.Budget > 0) || math.IsInf(s.Budget, 0) {
		return bad(fmt.Sprintf("budget %v, want virtual seconds > 0", s.Budget), "budget")
	}
	if len(s.Seeds.Select) == 0 {
		return bad("list at least one selection seed", "seeds", "select")
	}
	if len(s.Seeds.Eval) < 2 {
		return bad("list at least two evaluation seeds (intervals need two)", "seeds", "eval")
	}
	for i, v := range s.Seeds.Eval {
		if slices.Contains(s.Seeds.Select, v) {
			return bad(fmt.Sprintf("seed %d is also a selection seed: evaluation seeds must be fresh", v), "seeds", "eval", fmt.Sprint(i))
		}
	}
	if len(s.Methods) == 0 {
		return bad("list at least one method", "methods")
	}
	for i, m := range s.Methods {
		idx := fmt.Sprint(i)
		if m.Name == "" {
			return bad("every method needs a name", "methods", idx, "name")
		}
		for j := range i {
			if s.Methods[j].Name == m.Name {
				return bad(fmt.Sprintf("method name %q used twice", m.Name), "methods", idx, "name")
			}
		}
		if len(m.LRs) == 0 {
			return bad("no learning rates to search: give lrs for the study or the method", "methods", idx, "lrs")
		}
		for k, lr := range m.LRs {
			if !(lr > 0) || math.IsInf(lr, 0) {
				return bad(fmt.Sprintf("rate %v, want a finite number > 0", lr), "methods", idx, "lrs", fmt.Sprint(k))
			}
		}
		cfg := s.config(s.Datasets[0], m, RuleNone, m.LRs[0], s.Seeds.Eval[0])
		if err := cfg.Validate(); err != nil {
			return bad(err.Error(), "methods", idx)
		}
	}
	if h := s.FedHyper; h != nil {
		base := slices.IndexFunc(s.Methods, func(m Method) bool { return m.Name == h.Baseline })
		if base < 0 || s.Methods[base].Algorithm != FedAvg {
			return bad(fmt.Sprintf("baseline %q is not a fedavg method of this study", h.Baseline), "fedhyper", "baseline")
		}
		if len(h.Rules) == 0 {
			return bad("list at least one rule", "fedhyper", "rules")
		}
		for i, r := range h.Rules {
			if r == RuleNone || !slices.Contains(Rules, r) {
				return bad(fmt.Sprintf("unknown rule %q (have %s)", r, strings.Join(Rules[1:], ", ")), "fedhyper", "rules", fmt.Sprint(i))
			}
		}
		if !(h.Poor > 0) || h.Poor == 1 || math.IsInf(h.Poor, 0) {
			return bad(fmt.Sprintf("poor %v, want a positive factor other than 1", h.Poor), "fedhyper", "poor")
		}
	}
	return nil
}

// config builds the run configuration of a method on a data set with a
// rule, a client rate and a seed.
func (s *Study) config(dataset string, m Method, rule string, lr float64, seed uint64) Config {
	return Config{
		Env: EnvSpec{Dataset: dataset, Limit: s.Limit, Clients: s.Clients, Dirichlet: s.Dirichlet, MinShard: s.MinShard,
			Model: s.Model, Batch: s.Batch, Optimizer: s.Optimizer, EvalExamples: s.Eval.Examples, Seed: seed},
		Algorithm: m.Algorithm, Rule: rule, LR: lr, LocalSteps: s.LocalSteps, Fraction: m.Fraction,
		Alpha: m.Alpha, Staleness: *m.Staleness, Buffer: m.Buffer, QMin: m.QMin, Lambda: m.Lambda,
		SpeedMomentum: m.SpeedMomentum, Weights: s.Weights, Speeds: s.Speeds, Budget: s.Budget,
		EvalEvery: s.Eval.Every, EvalRounds: s.Eval.Rounds,
	}
}
