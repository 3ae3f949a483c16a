package control

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/schedule"
)

func writeRefinedCSV(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "refined.csv")
	if err := os.WriteFile(p, []byte("step,lr\n0,0.5\n10,2\n20,1\n30,0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseKinds(t *testing.T) {
	file := writeRefinedCSV(t)
	tests := []struct {
		spec string
		want string // canonical String
		lr0  float64
	}{
		{"cosine(peak=1, steps=100)", "", 1},
		{"plateau(base=constant(peak=0.1), factor=0.5, patience=3)", "", 0.1},
		{"plateau(base=cosine(peak=1, steps=100), metric=loss, mode=max, threshold_mode=abs, cooldown=2, min_lr=1e-3, eps=0)", "", 1},
		{"hd(lr=0.1)", "hd(lr=0.1)", 0.1},
		{"hd(lr=0.1, beta=1e-6)", "hd(lr=0.1)", 0.1},
		{"hd(lr=0.1, beta=0.01, min=0.01, max=1, mult=true)", "", 0.1},
		{"adam_hd(lr=0.001)", "adam_hd(lr=0.001)", 0.001},
		{"adam_hd(lr=0.001, beta=1e-6)", "adam_hd(lr=0.001, beta=1e-06)", 0.001},
		{"fedhyper()", "fedhyper()", 0},
		{"fedhyper(mode=g)", "fedhyper(mode=g)", 1},
		{"fedhyper(mode=sl, lr=0.05)", "fedhyper(mode=sl, lr=0.05)", 0.05},
		{"autolrs(min=1e-5, max=1e-1)", "autolrs(min=1e-05, max=0.1)", 1e-3},
		{"autolrs(min=1e-5, max=1e-1, tau=100, tau_max=400, evals=5, kappa=2, warmup=10, warmup_lr=0.01, seed=3, loss_floor=-inf)", "", 0.001},
		{`table(file="` + file + `", peak=3e-3)`, "", 0.5 / 2 * 3e-3},
	}
	for _, tc := range tests {
		c, err := Parse(tc.spec)
		if err != nil {
			t.Errorf("%s: %v", tc.spec, err)
			continue
		}
		if got := c.LR(0); !closeTo(got, tc.lr0, 1e-12) {
			t.Errorf("%s: LR(0) = %v, want %v", tc.spec, got, tc.lr0)
		}
		s := c.String()
		if tc.want != "" && s != tc.want {
			t.Errorf("%s: String %q, want %q", tc.spec, s, tc.want)
		}
		c2, err := Parse(s)
		if err != nil {
			t.Errorf("%s: reparse of %q: %v", tc.spec, s, err)
			continue
		}
		if c2.String() != s || !reflect.DeepEqual(c, c2) {
			t.Errorf("%s: round trip %q → %q, equal %v", tc.spec, s, c2.String(), reflect.DeepEqual(c, c2))
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ spec, want string }{
		{"platau(base=constant(peak=1))", `spec:1:1: unknown schedule or controller "platau" (did you mean "plateau"?)`},
		{"plateau(base=constant(peak=1), factr=0.5)", `spec:1:32: unknown parameter "factr" for plateau (did you mean "factor"?)`},
		{"plateau(factor=0.5)", `spec:1:1: plateau needs base`},
		{"plateau(base=constant(peak=1), factor=2)", `spec:1:39: factor: must be in (0, 1), got 2`},
		{"plateau(base=constant(peak=1), mode=mn)", `spec:1:37: mode: want one of min, max, got mn (did you mean "min"?)`},
		{"plateau(base=constant(peak=1), patience=2.5)", `spec:1:41: patience: want an integer, got 2.5`},
		{"plateau(base=0.1)", `spec:1:14: base: want a schedule such as cosine(steps=100), got 0.1`},
		{"plateau(base=hd(lr=1))", `spec:1:14: hd is a controller (it learns from the run) and cannot stand inside another schedule`},
		{"join([constant(), plateau(base=constant())], at=[5])", `spec:1:19: plateau is a controller (it learns from the run) and cannot stand inside another schedule`},
		{"plateau(base=cosine(peek=1, steps=10))", `spec:1:21: unknown parameter "peek" for cosine (did you mean "peak"?)`},
		{"hd(0.1)", `spec:1:4: hd has no unnamed parameter`},
		{"hd(lr=0.1, lr=0.2)", `spec:1:12: lr given twice in hd`},
		{"hd(lr=0.1, mult=yes)", `spec:1:17: mult: want true or false, got yes`},
		{"autolrs(min=0.1, max=0.01)", `spec:1:22: max: must be a finite number above min`},
		{"table(file=nope.csv, peak=1)", `spec:1:12: file: open nope.csv`},
		{"hd(lr=0.1", `spec:1:`},
	}
	for _, tc := range tests {
		_, err := Parse(tc.spec)
		var se *schedule.SpecError
		if err == nil || !errors.As(err, &se) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s:\n got  %v\n want %s...", tc.spec, err, tc.want)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\n\r") {
			t.Errorf("%s: error spans lines", tc.spec)
		}
	}
}

func TestKindsParams(t *testing.T) {
	for _, k := range Kinds() {
		if k.Summary == "" || k.Source == "" {
			t.Errorf("%s: summary or source missing", k.Name)
		}
		ps := schedule.Params(k)
		if len(ps) == 0 {
			t.Errorf("%s: no parameters", k.Name)
		}
		for _, p := range ps {
			if p.Doc == "" {
				t.Errorf("%s.%s: no doc", k.Name, p.Name)
			}
		}
	}
	var beta string
	for _, k := range Kinds() {
		if k.Name == "adam_hd" {
			for _, p := range schedule.Params(k) {
				if p.Name == "beta" {
					beta = p.Default
				}
			}
		}
	}
	if beta != "1e-08" {
		t.Errorf("adam_hd beta default %q, want 1e-08", beta)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"plateau(base=constant(peak=0.1), factor=0.5, patience=3)",
		"hd(lr=0.1, beta=0.01, mult=true)", "adam_hd(lr=1e-3)", "fedhyper(mode=g)",
		"autolrs(min=1e-5, max=1e-1)", "cosine(peak=1, steps=100)", "table(at=[0, 10], lr=[1, 0], peak=2)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		c, err := ParseUntrusted(spec)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		s := c.String()
		c2, err := Parse(s)
		if err != nil {
			t.Fatalf("%q parsed, its String %q does not: %v", spec, s, err)
		}
		if c2.String() != s {
			t.Fatalf("String not canonical: %q then %q", s, c2.String())
		}
	})
}

func TestParseUntrusted(t *testing.T) {
	_, err := ParseUntrusted(`table(file="/proc/self/environ")`)
	want := "spec:1:12: file: naming a file is not allowed in a spec from this source (no file is read for it); give the values inline"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	c, err := ParseUntrusted("plateau(base=table(at=[0, 10], lr=[1, 0.5]))")
	if err != nil || c.LR(10) != 0.5 {
		t.Errorf("inline table: %v, %v", c, err)
	}
}

func TestParseInfBound(t *testing.T) {
	c, err := Parse("autolrs(min=1e-5, max=1e-1, loss_floor=-inf)")
	if err != nil {
		t.Fatal(err)
	}
	if a := c.(*AutoLRS); !math.IsInf(a.Floor, -1) {
		t.Errorf("loss_floor = %v, want -inf", a.Floor)
	}
}
