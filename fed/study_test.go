package fed

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const minimalStudy = `name: t
datasets: [mnist]
clients: 4
dirichlet: 0.5
local_steps: 5
budget: 100
eval: {every: 10}
targets: {mnist: 0.8}
seeds: {select: [9], eval: [1, 2]}
lrs: [0.1]
methods:
  - {name: avg, algorithm: fedavg}
`

func TestParseStudyDefaults(t *testing.T) {
	s, err := ParseStudy("t.yaml", []byte(minimalStudy))
	if err != nil {
		t.Fatal(err)
	}
	m := s.Methods[0]
	if s.Model != "mlp:64" || s.Optimizer != "sgd" || s.Batch != 32 || s.MinShard != 32 || s.Weights != "samples" ||
		s.Speeds.Dist != "fixed" || s.Speeds.Mean != 1 || m.Alpha != 0.9 || m.Staleness.Fn != "polynomial" || m.Staleness.A != 0.5 ||
		m.Buffer != 2 || m.QMin != 1 || m.Lambda != 1.5 || m.SpeedMomentum != 0.9 || len(m.LRs) != 1 {
		t.Fatalf("defaults: %+v %+v", s, m)
	}
}

func TestParseStudyErrors(t *testing.T) {
	replace := func(old, new string) string {
		if !strings.Contains(minimalStudy, old) {
			t.Fatalf("test study has no %q", old)
		}
		return strings.Replace(minimalStudy, old, new, 1)
	}
	for _, c := range []struct {
		text, want string
	}{
		{"", "t.yaml:1: a study is a YAML mapping"},
		{"- a\n", "t.yaml:1: a study is a YAML mapping"},
		{replace("clients: 4", "clients: four"), "t.yaml:3: cannot unmarshal !!str `four` into int"},
		{replace("clients: 4", "clients: 4\nclient: 5"), "t.yaml:4: field client not found in Study"},
		{replace("[mnist]", "[cifar]"), `t.yaml:2: datasets.0: unknown data set "cifar" (have mnist, fashion-mnist)`},
		{replace("{mnist: 0.8}", "{mnist: 80}"), "t.yaml:8: targets.mnist: target 80, want an accuracy in (0, 1)"},
		{replace("{mnist: 0.8}", "{fashion-mnist: 0.8}"), "t.yaml:8: targets: no target accuracy for mnist"},
		{replace("eval: [1, 2]", "eval: [9, 2]"), "t.yaml:9: seeds.eval.0: seed 9 is also a selection seed: evaluation seeds must be fresh"},
		{replace("eval: [1, 2]", "eval: [1]"), "t.yaml:9: seeds.eval: list at least two evaluation seeds"},
		{replace("lrs: [0.1]", "lrs: [0.1, -1]"), "t.yaml:12: methods.0.lrs.1: rate -1, want a finite number > 0"},
		{replace("algorithm: fedavg", "algorithm: fedprox"), `t.yaml:12: methods.0: unknown algorithm "fedprox" (have fedavg, fedasync, fedbuff, fedcompass)`},
		{replace("{name: avg, algorithm: fedavg}", "{name: b, algorithm: fedbuff, buffer: 9}"), "t.yaml:12: methods.0: buffer 9, want 1..4 (the number of clients)"},
		{replace("{name: avg, algorithm: fedavg}", "{name: c, algorithm: fedcompass, q_min: 6}"), "t.yaml:12: methods.0: q_min 6, want 1..5 (local_steps, which is Q_max)"},
		{replace("{name: avg, algorithm: fedavg}", "{name: a, algorithm: fedasync, staleness: {fn: hinge, a: 1, b: -2}}"), "t.yaml:12: methods.0: staleness hinge: b -2"},
		{replace("budget: 100", "budget: 0"), "t.yaml:6: budget: budget 0, want virtual seconds > 0"},
		{replace("dirichlet: 0.5", "dirichlet: 0"), "t.yaml:4: dirichlet: alpha 0, want a finite number > 0"},
		{replace("clients: 4", "clients: 4\noptimizer: lbfgs"), `t.yaml:4: optimizer: unknown optimizer "lbfgs"`},
		{replace("clients: 4", "clients: 4\nweights: size"), `t.yaml:4: weights: weights "size", want samples or equal`},
		{minimalStudy + "fedhyper: {baseline: nope, rules: [fedhyper-g]}\n", `t.yaml:13: fedhyper.baseline: baseline "nope" is not a fedavg method of this study`},
		{minimalStudy + "fedhyper: {baseline: avg, rules: [fedhyper-x]}\n", `t.yaml:13: fedhyper.rules.0: unknown rule "fedhyper-x"`},
		{minimalStudy + "fedhyper: {baseline: avg, rules: [fedhyper-g], poor: 1}\n", "t.yaml:13: fedhyper.poor: poor 1, want a positive factor other than 1"},
		{replace("eval: {every: 10}", "eval: {every: 10}\nmodel: mlp:0"), `t.yaml:8: model: model "mlp:0": hidden width "0", want an integer in 1..65536`},
	} {
		_, err := ParseStudy("t.yaml", []byte(c.text))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %s", c.text, err, c.want)
		}
	}
}

// TestShippedStudies parses the study files in studies/.
func TestShippedStudies(t *testing.T) {
	files, _ := filepath.Glob("studies/*.yaml")
	if len(files) == 0 {
		t.Fatal("no studies in fed/studies")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseStudy(f, b); err != nil {
			t.Error(err)
		}
	}
}

// FuzzParseStudy checks that no input makes the parser panic and that an
// accepted study builds valid run configurations.
func FuzzParseStudy(f *testing.F) {
	f.Add([]byte(minimalStudy))
	if b, err := os.ReadFile("studies/smoke.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("datasets: [mnist]\nmethods: [{}]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseStudy("f.yaml", b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		for _, j := range s.selectionJobs() {
			if err := j.cfg.Validate(); err != nil {
				t.Fatalf("accepted study gives an invalid run %s: %v", j.key, err)
			}
		}
	})
}
