package schedule

import (
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"
)

func TestFormatCanonical(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		// Defaults are left out, parameters follow declaration order.
		{"wsd(shape=1-sqrt, decay=0.2, warmup=500, steps=10000, peak=3e-4)", "wsd(peak=0.0003, steps=10000, warmup=500, decay=0.2, shape=1-sqrt)"},
		{"cosine(steps=100, peak=1, floor=0)", "cosine(steps=100)"},
		{"constant()", "constant()"},
		// Required parameters are written even when zero-like.
		{"linear(steps=5, peak=0)", "linear(peak=0, steps=5)"},
		// Lengths print what was written: a count, or a fraction.
		{"wsd(steps=100, warmup=0.5, decay=10)", "wsd(steps=100, warmup=0.5, decay=10)"},
		{"wsd(steps=100, decay=1.0)", "wsd(steps=100, decay=1.0)"},
		{"wsd(steps=100, warmup=5e-2)", "wsd(steps=100, warmup=0.05)"},
		{"wsd(steps=100, warmup=0.0)", "wsd(steps=100, warmup=0.0)"},
		{"wsd(steps=100, decay=0.10)", "wsd(steps=100)"},
		// Shortest round-trip floats.
		{"cosine(steps=100, peak=0.1000)", "cosine(peak=0.1, steps=100)"},
		{"cosine(steps=100, peak=1e6)", "cosine(peak=1e+06, steps=100)"},
		{"cosine(steps=100, peak=1e-7)", "cosine(peak=1e-07, steps=100)"},
		{"cosine(steps=100, peak=+2)", "cosine(peak=2, steps=100)"},
		// Positional first and unnamed, whether or not it was named.
		{"warmup(steps=10, base=cosine(steps=100))", "warmup(cosine(steps=100), steps=10)"},
		{"join(at=[10], parts=[constant(), cosine(steps=100)])", "join([constant(), cosine(steps=100)], at=[10])"},
		// Lists, with a trailing comma, whitespace and line breaks.
		{"multistep(\n  milestones = [ 30 , 60 , 90 , ] ,\n  gamma=0.5,\n)", "multistep(milestones=[30, 60, 90], gamma=0.5)"},
		{"table(at=[0, 10], lr=[1, 0.5])", "table(at=[0, 10], lr=[1, 0.5])"},
		// Words bare; other strings quoted.
		{`table(file="my table.csv")`, `table(file="my table.csv")`},
		{`table(file="lr.csv")`, `table(file=lr.csv)`},
		{`table(file=123)`, `table(file="123")`},
		{`cosine(steps=100, parity="pytorch")`, `cosine(steps=100, parity=pytorch)`},
		{`exp_decay(rate=0.5, every=10, staircase=true)`, `exp_decay(rate=0.5, every=10, staircase=true)`},
	}
	for _, tt := range tests {
		s, err := Parse(tt.in)
		if err != nil {
			if tt.in == `table(file="my table.csv")` || tt.in == `table(file="lr.csv")` || tt.in == `table(file=123)` {
				// The file does not exist; the formatter is checked below
				// on the unprepared value instead.
				continue
			}
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := Format(s); got != tt.want {
			t.Errorf("Format(Parse(%q)) = %q, want %q", tt.in, got, tt.want)
		}
		if got := s.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Strings that are not words, on values built in Go.
	for _, tt := range []struct {
		file, want string
	}{
		{"my table.csv", `table(file="my table.csv")`},
		{"lr.csv", `table(file=lr.csv)`},
		{"123", `table(file="123")`},
		{"1e5", `table(file="1e5")`},
		{"a+b", `table(file="a+b")`},
		{"say \"hi\"\n", `table(file="say \"hi\"\n")`},
		{"η.csv", `table(file="η.csv")`},
	} {
		if got := Format(Table{File: tt.file, Scale: 1}); got != tt.want {
			t.Errorf("Format(Table{File: %q}) = %q, want %q", tt.file, got, tt.want)
		}
	}
}

func TestFormatNonKinds(t *testing.T) {
	if got := Format(Func(func(int64) float64 { return 1 })); got != "func()" {
		t.Errorf("Format(Func) = %q, want func()", got)
	}
	if got := Format(nil); got != "nil" {
		t.Errorf("Format(nil) = %q, want nil", got)
	}
	// A pointer to a kind formats as the kind.
	c := Cosine{Peak: 1, Steps: 10, Parity: "none"}
	if got := Format(&c); got != "cosine(steps=10)" {
		t.Errorf("Format(&Cosine) = %q", got)
	}
	var nilCosine *Cosine
	if got := Format(nilCosine); got != "nil" {
		t.Errorf("Format((*Cosine)(nil)) = %q", got)
	}
	// A nested Func is written with its String.
	w := Warmup{Base: Func(func(int64) float64 { return 1 }), Steps: 5, Shape: "linear", Beta2: 0.999}
	if got := Format(w); got != "warmup(func(), steps=5)" {
		t.Errorf("Format(warmup of Func) = %q", got)
	}
}

// TestRoundTripEveryKind is the round-trip property of the spec language:
// for random valid parameters of every kind, Parse(Format(s)) equals
// New(s), Format is a fixed point, and the JSON form reads back equal.
func TestRoundTripEveryKind(t *testing.T) {
	r := builtin()
	const cases = 300
	g := &paramGen{r: rand.New(rand.NewPCG(1, 2)), reg: r}
	for _, ks := range r.kinds {
		t.Run(ks.kind.Name, func(t *testing.T) {
			varied := make([]bool, len(ks.params)) // param seen away from its default
			defer func() {
				for i, p := range ks.params {
					if !varied[i] && p.name != "file" {
						t.Errorf("parameter %s never took a value other than its default", p.name)
					}
				}
			}()
			for i := range cases {
				s, tries := g.valid(ks, 0)
				if s == nil {
					t.Fatalf("case %d: no valid %s in %d random tries", i, ks.kind.Name, tries)
				}
				want, err := New(s)
				if err != nil {
					t.Fatalf("New(%s): %v", Format(s), err)
				}
				sv := reflect.ValueOf(s)
				for j, p := range ks.params {
					if p.required || !sameValue(&p, sv.Field(p.field), p.def) {
						varied[j] = true
					}
				}
				text := Format(s)
				got, err := Parse(text)
				if err != nil {
					t.Fatalf("Parse(Format(s)) of %#v: %v\ntext: %s", s, err, text)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("Parse(%q) =\n%#v\nwant\n%#v", text, got, want)
				}
				if again := Format(got); again != text {
					t.Fatalf("Format is not a fixed point: %q then %q", text, again)
				}
				if str := want.String(); str != text {
					t.Fatalf("String() = %q, Format = %q", str, text)
				}
				js, err := ToJSON(want)
				if err != nil {
					t.Fatalf("ToJSON(%s): %v", text, err)
				}
				fromJS, err := ParseJSON(js)
				if err != nil {
					t.Fatalf("ParseJSON(%s): %v", js, err)
				}
				if !reflect.DeepEqual(fromJS, want) {
					t.Fatalf("ParseJSON(%s) =\n%#v\nwant\n%#v", js, fromJS, want)
				}
				if f := Format(fromJS); f != text {
					t.Fatalf("JSON %s formats as %q, want %q", js, f, text)
				}
				if js2, _ := ToJSON(fromJS); string(js2) != string(js) {
					t.Fatalf("ToJSON is not a fixed point: %s then %s", js, js2)
				}
			}
		})
	}
}

// paramGen makes random parameter values for a kind.
type paramGen struct {
	r   *rand.Rand
	reg *registry
}

// valid returns a random schedule of kind ks that passes New, and the
// number of tries it took (nil after too many).
func (g *paramGen) valid(ks *kindSpec, depth int) (Schedule, int) {
	const maxTries = 5000
	for try := 1; try <= maxTries; try++ {
		s := g.random(ks, depth)
		if _, err := New(s); err == nil {
			return s, try
		}
	}
	return nil, maxTries
}

// leafKinds are the kinds without nested schedules.
func (g *paramGen) leafKinds() []*kindSpec {
	var out []*kindSpec
	for _, ks := range g.reg.kinds {
		leaf := true
		for _, p := range ks.params {
			if p.typ == ptSchedule || p.typ == ptSchedules {
				leaf = false
			}
		}
		if leaf {
			out = append(out, ks)
		}
	}
	return out
}

func (g *paramGen) random(ks *kindSpec, depth int) Schedule {
	v := reflect.New(ks.typ).Elem()
	for _, p := range ks.params {
		f := v.Field(p.field)
		if !p.required {
			f.Set(p.def)
			if p.name == "file" || g.r.IntN(10) < 3 {
				continue // keep the default (never read a file)
			}
		}
		switch p.typ {
		case ptFloat:
			f.SetFloat(g.float())
		case ptInt:
			f.SetInt(g.int())
		case ptBool:
			f.SetBool(g.r.IntN(2) == 0)
		case ptString:
			if len(p.choices) > 0 {
				f.SetString(p.choices[g.r.IntN(len(p.choices))])
			} else {
				f.SetString(g.word())
			}
		case ptLength:
			if g.r.IntN(2) == 0 {
				f.Set(reflect.ValueOf(Steps(g.int())))
			} else {
				f.Set(reflect.ValueOf(Fraction(g.fraction())))
			}
		case ptInts:
			n := g.r.IntN(5)
			if n == 0 {
				f.Set(reflect.Zero(f.Type()))
				continue
			}
			xs := make([]int64, n)
			for i := range xs {
				xs[i] = g.int()
			}
			sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
			f.Set(reflect.ValueOf(xs))
		case ptFloats:
			n := g.r.IntN(5)
			if n == 0 {
				f.Set(reflect.Zero(f.Type()))
				continue
			}
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = g.float()
			}
			f.Set(reflect.ValueOf(xs))
		case ptSchedule:
			s := g.child(depth)
			f.Set(reflect.ValueOf(&s).Elem())
		case ptSchedules:
			n := 1 + g.r.IntN(3)
			list := reflect.MakeSlice(f.Type(), n, n)
			for i := range n {
				s := g.child(depth)
				list.Index(i).Set(reflect.ValueOf(&s).Elem())
			}
			f.Set(list)
		}
	}
	return v.Interface().(Schedule)
}

// child returns a valid nested schedule: any kind at the top, a leaf
// below, so that the nesting stays shallow.
func (g *paramGen) child(depth int) Schedule {
	kinds := g.reg.kinds
	if depth >= 1 {
		kinds = g.leafKinds()
	}
	for {
		ks := kinds[g.r.IntN(len(kinds))]
		if s, _ := g.valid(ks, depth+1); s != nil {
			p, err := New(s)
			if err == nil {
				return p
			}
		}
	}
}

func (g *paramGen) float() float64 {
	var f float64
	switch g.r.IntN(6) {
	case 0:
		f = []float64{0, 1, 0.5, 2, 0.1, 0.999}[g.r.IntN(6)]
	case 1:
		f = float64(1 + g.r.IntN(10))
	case 2, 3:
		f = g.r.Float64()
	default:
		f = g.r.Float64() * math.Pow(10, float64(g.r.IntN(10)-6))
	}
	if g.r.IntN(10) == 0 {
		f = -f
	}
	return f
}

func (g *paramGen) int() int64 {
	switch g.r.IntN(4) {
	case 0:
		return int64(g.r.IntN(4))
	case 1:
		return int64(1 + g.r.IntN(20))
	case 2:
		return int64(1 + g.r.IntN(100000))
	}
	return int64(1 + g.r.IntN(1000))
}

func (g *paramGen) fraction() float64 {
	switch g.r.IntN(5) {
	case 0:
		return 0
	case 1:
		return 1
	}
	return g.r.Float64()
}

func (g *paramGen) word() string {
	words := []string{"a", "lr.csv", "x y", "123", "", `q"uote`}
	return words[g.r.IntN(len(words))]
}

// TestFormatEmptyChoice: an empty word in a field with choices is the
// default (as the schedules read it), so it is left out.
func TestFormatEmptyChoice(t *testing.T) {
	s := WSD{Peak: 1, Steps: 100, Decay: Fraction(0.1)}
	if got := Format(s); got != "wsd(steps=100)" {
		t.Errorf("Format(WSD with empty shape and parity) = %s", got)
	}
	js, err := ToJSON(s)
	if err != nil || string(js) != `{"kind":"wsd","steps":100}` {
		t.Errorf("ToJSON = %s, %v", js, err)
	}
	p, err := Parse(Format(s))
	if err != nil {
		t.Fatal(err)
	}
	for st := int64(0); st <= 120; st++ {
		if p.LR(st) != s.LR(st) {
			t.Fatalf("LR(%d): parsed %v, literal %v", st, p.LR(st), s.LR(st))
		}
	}
}
