package schedule

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

// Test-only kinds, so that the machinery is checked independently of the
// built-in schedules.

type tConst struct {
	V float64 `spec:"v" default:"1" doc:"the value"`
}

func (s tConst) LR(int64) float64 { return s.V }
func (s tConst) String() string   { return "tconst" }

type tAll struct {
	Base   Schedule   `spec:"base,positional" doc:"inner"`
	F      float64    `spec:"f" default:"0.5" doc:"a number"`
	N      int64      `spec:"n" doc:"steps of something"`
	Count  int64      `spec:"count" default:"3" doc:"how many"`
	B      bool       `spec:"b" default:"false"`
	W      string     `spec:"w" default:"one" choices:"one|two|1-sqrt" doc:"a choice"`
	S      string     `spec:"s" default:""`
	L      Length     `spec:"l" default:"0.1"`
	Fs     []float64  `spec:"fs" default:"[1, 2]"`
	Ns     []int64    `spec:"ns" default:"[]"`
	Extra  []Schedule `spec:"extra" default:"[tc(v=2)]"`
	hidden int
}

func (s tAll) LR(int64) float64 { return 0 }
func (s tAll) String() string   { return "tall" }

// Validate rejects f > 1, naming the parameter.
func (s tAll) Validate() error {
	if s.F > 1 {
		return &ParamError{Param: "f", Msg: "must be at most 1"}
	}
	if len(s.Ns) > 1 && s.Ns[1] == 0 {
		return &ParamError{Param: "ns[1]", Msg: "must not be 0"}
	}
	return nil
}

// Prepare fills an unexported field.
func (s tAll) Prepare() (Schedule, error) {
	s.hidden = len(s.Fs)
	return s, nil
}

var testKinds = []Kind{
	{Name: "tc", Proto: tConst{}},
	{Name: "tall", Proto: tAll{}},
}

func testRegistry(t *testing.T) *registry {
	t.Helper()
	r, err := newRegistry(testKinds)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRegistryBuildsTestKinds(t *testing.T) {
	r := testRegistry(t)
	s, err := parseIn(r, `tall(tc(), n=7, b=true, w=1-sqrt, s="x y", l=500, fs=[], ns=[4, 5], extra=[tc(), tc(v=3)])`, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := tAll{Base: tConst{V: 1}, F: 0.5, N: 7, Count: 3, B: true, W: "1-sqrt", S: "x y", L: Steps(500),
		Ns: []int64{4, 5}, Extra: []Schedule{tConst{V: 1}, tConst{V: 3}}}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("got\n%#v\nwant\n%#v", s, want)
	}
	// Defaults, the unexported field filled by Prepare.
	s, err = parseIn(r, `tall(base=tc(v=0), n=1)`, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want = tAll{Base: tConst{V: 0}, F: 0.5, N: 1, Count: 3, W: "one", L: Fraction(0.1), Fs: []float64{1, 2},
		Extra: []Schedule{tConst{V: 2}}, hidden: 2}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("got\n%#v\nwant\n%#v", s, want)
	}
	if got := string(r.appendSchedule(nil, s, 0)); got != "tall(tc(v=0), n=1)" {
		t.Errorf("format = %s", got)
	}
	if got := string(r.appendSchedule(nil, tAll{Base: tConst{V: 1}, N: 2, Fs: []float64{1, 2}, Ns: []int64{}, Extra: []Schedule{tConst{V: 2}}}, 0)); got != `tall(tc(), f=0, n=2, count=0, l=0)` {
		t.Errorf("format of zero fields = %s", got)
	}
}

func TestRegistryErrorsTestKinds(t *testing.T) {
	r := testRegistry(t)
	tests := []struct{ spec, want string }{
		{"tall(tc())", "spec:1:1: tall needs n (steps of something)"},
		{"tall(tc(), n=1, f=2)", "spec:1:19: f: must be at most 1"},
		{"tall(tc(), n=1, ns=[1, 0, 3])", "spec:1:24: ns[1]: must not be 0"},
		{"tall(tc(), n=1.5)", "spec:1:14: n: want an integer step count, got 1.5"},
		{"tall(tc(), n=1, count=1.5)", "spec:1:23: count: want an integer, got 1.5"},
		{"tall(tc(), n=1, w=two2)", `spec:1:19: w: want one of one, two, 1-sqrt, got two2 (did you mean "two"?)`},
		{"tall(tc(), n=1, extra=[tc(), tx()])", `spec:1:30: unknown schedule "tx" (did you mean "tc"?)`},
		{"tall(tc(), n=1, s=[1])", `spec:1:19: s: want a word or a quoted string, got a list`},
		{"tall(tc(), n=1, fs=[1, x])", `spec:1:24: fs[1]: want a number, got x`},
	}
	for _, tt := range tests {
		_, err := parseIn(r, tt.spec, Options{})
		if err == nil || err.Error() != tt.want {
			t.Errorf("parse %q: got %v, want %s", tt.spec, err, tt.want)
		}
	}
}

type tBadType struct {
	X int `spec:"x"`
}

func (tBadType) LR(int64) float64 { return 0 }
func (tBadType) String() string   { return "" }

type tBadDefault struct {
	X float64 `spec:"x" default:"abc"`
}

func (tBadDefault) LR(int64) float64 { return 0 }
func (tBadDefault) String() string   { return "" }

type tTwoPositional struct {
	A Schedule `spec:"a,positional"`
	B Schedule `spec:"b,positional"`
}

func (tTwoPositional) LR(int64) float64 { return 0 }
func (tTwoPositional) String() string   { return "" }

type tPositionalNumber struct {
	A float64 `spec:"a,positional"`
}

func (tPositionalNumber) LR(int64) float64 { return 0 }
func (tPositionalNumber) String() string   { return "" }

type tChoicesOnNumber struct {
	A float64 `spec:"a" choices:"1|2"`
}

func (tChoicesOnNumber) LR(int64) float64 { return 0 }
func (tChoicesOnNumber) String() string   { return "" }

type tKindParam struct {
	Kind string `spec:"kind"`
}

func (tKindParam) LR(int64) float64 { return 0 }
func (tKindParam) String() string   { return "" }

type tDupName struct {
	A float64 `spec:"a"`
	B float64 `spec:"a"`
}

func (tDupName) LR(int64) float64 { return 0 }
func (tDupName) String() string   { return "" }

func TestRegistryRejectsBadTags(t *testing.T) {
	tests := []struct {
		kinds []Kind
		want  string
	}{
		{[]Kind{{Name: "x", Proto: tBadType{}}}, `kind "x": field X: type int is not a spec parameter type`},
		{[]Kind{{Name: "x", Proto: tBadDefault{}}}, `kind "x": field X: default "abc": spec:1:3: x: want a number, got abc`},
		{[]Kind{{Name: "x", Proto: tTwoPositional{}}}, `kind "x": field B: a second positional parameter`},
		{[]Kind{{Name: "x", Proto: tPositionalNumber{}}}, `kind "x": field A: only a schedule or a list of schedules can be positional`},
		{[]Kind{{Name: "x", Proto: tChoicesOnNumber{}}}, `kind "x": field A: choices on a number`},
		{[]Kind{{Name: "x", Proto: tKindParam{}}}, `kind "x": field Kind: the name "kind" is reserved for the JSON form`},
		{[]Kind{{Name: "x", Proto: tDupName{}}}, `kind "x": field B: parameter "a" declared twice`},
		{[]Kind{{Name: "x", Proto: tConst{}}, {Name: "x", Proto: tAll{}}}, `kind "x" listed twice`},
		{[]Kind{{Name: "x", Proto: tConst{}}, {Name: "y", Proto: tConst{}}}, `kinds "x" and "y" share the type schedule.tConst, which has no SpecKind method`},
		{[]Kind{{Name: "a b", Proto: tConst{}}}, `kind "a b": name is not a word`},
		{[]Kind{{Name: "x"}}, `kind "x": Proto is nil`},
		{[]Kind{{Name: "x", Proto: Func(nil)}}, `kind "x": Proto schedule.Func is not a struct or a pointer to one`},
		{[]Kind{{Name: "x", Proto: (*tCtl)(nil)}}, `kind "x": Proto is a nil pointer`},
		{[]Kind{{Name: "x", Proto: tPathNumber{}}}, `kind "x": field A: only a string can be a path`},
		{[]Kind{{Name: "x", Proto: tInfWord{}}}, `kind "x": field A: only a number can allow inf`},
		{[]Kind{{Name: "x", Proto: tConst{}, Defaults: map[string]string{"w": "1"}}}, `kind "x": the kind's Defaults name "w", which is not a parameter`},
	}
	for _, tt := range tests {
		_, err := newRegistry(tt.kinds)
		if err == nil || err.Error() != tt.want {
			t.Errorf("newRegistry: got %v, want %s", err, tt.want)
		}
	}
}

func TestBuiltinKinds(t *testing.T) {
	if _, err := newRegistry(builtinKinds); err != nil {
		t.Fatalf("builtin kinds: %v", err)
	}
	names := KindNames()
	kinds := Kinds()
	if len(names) != len(builtinKinds) || len(kinds) != len(names) {
		t.Fatalf("%d names, %d kinds, want %d", len(names), len(kinds), len(builtinKinds))
	}
	for i, n := range names {
		k, ok := KindOf(n)
		if !ok || k.Name != n || kinds[i].Name != n {
			t.Errorf("KindOf(%q) = %v, %v", n, k.Name, ok)
		}
		for _, p := range Params(k) {
			if p.Doc == "" {
				t.Errorf("%s.%s has no doc", n, p.Name)
			}
		}
	}
	if _, ok := KindOf("nope"); ok {
		t.Error(`KindOf("nope") found`)
	}
}

func TestParams(t *testing.T) {
	k, ok := KindOf("wsd")
	if !ok {
		t.Fatal("no wsd")
	}
	ps := Params(k)
	byName := map[string]ParamInfo{}
	for _, p := range ps {
		byName[p.Name] = p
	}
	if p := byName["steps"]; !p.Required || p.Type != "integer" || p.Default != "" {
		t.Errorf("wsd steps = %+v", p)
	}
	if p := byName["decay"]; p.Required || p.Type != "length" || p.Default != "0.1" {
		t.Errorf("wsd decay = %+v", p)
	}
	if p := byName["shape"]; p.Type != "word" || p.Default != "linear" || !reflect.DeepEqual(p.Choices, []string{"linear", "cosine", "1-sqrt", "square", "exp", "geometric"}) {
		t.Errorf("wsd shape = %+v", p)
	}
	k, _ = KindOf("warmup")
	if p := Params(k)[0]; p.Name != "base" || !p.Positional || p.Type != "schedule" || !p.Required {
		t.Errorf("warmup base = %+v", p)
	}
	// A kind outside the spec language is read from its tags.
	if ps := Params(Kind{Name: "tc", Proto: tConst{}}); !reflect.DeepEqual(ps, []ParamInfo{{Name: "v", Type: "number", Default: "1", Doc: "the value"}}) {
		t.Errorf("Params(tc) = %+v", ps)
	}
	ps = testRegistry(t).byName["tall"].info()
	var names []string
	for _, p := range ps {
		names = append(names, p.Name+":"+p.Type)
	}
	want := "base:schedule f:number n:integer count:integer b:bool w:word s:word l:length fs:list of numbers ns:list of integers extra:list of schedules"
	if strings.Join(names, " ") != want {
		t.Errorf("Params(tall) = %s\nwant %s", strings.Join(names, " "), want)
	}
	if Params(Kind{Name: "bad", Proto: tBadType{}}) != nil {
		t.Error("Params of a kind with a bad tag is not nil")
	}
}

type tPathNumber struct {
	A float64 `spec:"a,path"`
}

func (tPathNumber) LR(int64) float64 { return 0 }
func (tPathNumber) String() string   { return "" }

type tInfWord struct {
	A string `spec:"a,inf"`
}

func (tInfWord) LR(int64) float64 { return 0 }
func (tInfWord) String() string   { return "" }

// tCtl is a test controller: a stateful kind with a pointer Proto, a
// preset field that two kinds share the type by, a path and an inf.
type tCtl struct {
	Base  Schedule `spec:"base" doc:"inner"`
	Beta  float64  `spec:"beta" default:"1" doc:"a rate"`
	Low   float64  `spec:"low,inf" default:"0" doc:"a bound that may be -inf"`
	File  string   `spec:"file,path" default:"" doc:"a file"`
	Twin  bool     // set by the kind tctl2
	state int
}

func (c *tCtl) LR(int64) float64 { return float64(c.state) }
func (c *tCtl) String() string   { return "tctl" }
func (c *tCtl) SpecKind() string {
	if c.Twin {
		return "tctl2"
	}
	return "tctl"
}

// Prepare starts the state, as controllers reset in Prepare.
func (c *tCtl) Prepare() (Schedule, error) {
	c.state = 7
	return c, nil
}

var testCtlKinds = append(append([]Kind(nil), testKinds...),
	Kind{Name: "tctl", Proto: &tCtl{}, Stateful: true},
	Kind{Name: "tctl2", Proto: &tCtl{Twin: true}, Stateful: true, Defaults: map[string]string{"beta": "2"}},
)

func TestRegistryStatefulKinds(t *testing.T) {
	r, err := newRegistry(testCtlKinds)
	if err != nil {
		t.Fatal(err)
	}
	stateful := Options{Stateful: true}
	s, err := parseIn(r, "tctl2(base=tc(v=3), low=-inf)", stateful)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := s.(*tCtl)
	if !ok {
		t.Fatalf("got %T, want *tCtl", s)
	}
	want := tCtl{Base: tConst{V: 3}, Beta: 2, Low: math.Inf(-1), Twin: true, state: 7}
	if !reflect.DeepEqual(*c, want) {
		t.Fatalf("got %#v, want %#v", *c, want)
	}
	if got := string(r.appendSchedule(nil, s, 0)); got != "tctl2(base=tc(v=3), low=-Inf)" {
		t.Errorf("format = %s", got)
	}
	// The canonical text reads back to an equal value.
	back, err := parseIn(r, string(r.appendSchedule(nil, s, 0)), stateful)
	if err != nil || !reflect.DeepEqual(back, s) {
		t.Errorf("round trip: got %#v, %v", back, err)
	}
	if got := string(r.appendSchedule(nil, &tCtl{Base: tConst{V: 1}, Beta: 1}, 0)); got != "tctl(base=tc())" {
		t.Errorf("format of the first kind = %s", got)
	}

	tests := []struct {
		spec string
		o    Options
		want string
	}{
		{"tctl(base=tc())", Options{}, "spec:1:1: tctl is a controller (it learns from the run) and cannot stand here, where a schedule (a pure function of the step) is wanted; a trainer or the server takes it as the whole spec"},
		{"tall(tctl(base=tc()), n=1)", stateful, "spec:1:6: tctl is a controller (it learns from the run) and cannot stand inside another schedule; a trainer or the server takes it as the whole spec"},
		{"tctl(base=tctl2(base=tc()))", stateful, "spec:1:11: tctl2 is a controller (it learns from the run) and cannot stand inside another schedule; a trainer or the server takes it as the whole spec"},
		{`tctl(base=tc(), file="/etc/passwd")`, Options{Stateful: true, Untrusted: true}, "spec:1:22: file: naming a file is not allowed in a spec from this source (no file is read for it); give the values inline"},
		{"tctl(base=tc(), low=nan)", stateful, "spec:1:21: low: want a finite number, got nan (NaN and infinities are not allowed)"},
		{"tctl(base=tc(), beta=inf)", stateful, "spec:1:22: beta: want a finite number, got inf (NaN and infinities are not allowed)"},
		{"tctx(base=tc())", stateful, `spec:1:1: unknown schedule or controller "tctx" (did you mean "tctl"?)`},
	}
	for _, tt := range tests {
		_, err := parseIn(r, tt.spec, tt.o)
		if err == nil || err.Error() != tt.want {
			t.Errorf("parse %q: got %v, want %s", tt.spec, err, tt.want)
		}
	}
	// A file named in trusted text is accepted (the test kind reads none).
	if _, err := parseIn(r, `tctl(base=tc(), file="x.csv")`, stateful); err != nil {
		t.Errorf("trusted file: %v", err)
	}
}

func TestUntrustedLimits(t *testing.T) {
	big := "tall(tc(), n=1, fs=[" + strings.Repeat("1, ", MaxUntrustedList) + "1])"
	want := fmt.Sprintf("spec:1:20: fs: list has %d elements; at most %d are accepted here", MaxUntrustedList+1, MaxUntrustedList)
	r, rerr := newRegistry(testKinds)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if _, err := parseIn(r, big, Options{Untrusted: true}); err == nil || err.Error() != want {
		t.Errorf("long list: got %v, want %s", err, want)
	}
	if _, err := parseIn(r, big, Options{}); err != nil {
		t.Errorf("long list, trusted: %v", err)
	}
	huge := "constant(peak=1" + strings.Repeat(" ", MaxUntrustedSpec) + ")"
	want = fmt.Sprintf("spec:1:1: spec is %d bytes; at most %d are accepted here", len(huge), MaxUntrustedSpec)
	if _, err := ParseUntrusted(huge); err == nil || err.Error() != want {
		t.Errorf("huge spec: got %v, want %s", err, want)
	}
	if _, err := ParseJSONWith([]byte(`{"kind":"table","file":"/proc/self/environ"}`), Options{Untrusted: true}); err == nil || !strings.Contains(err.Error(), "naming a file is not allowed") {
		t.Errorf("untrusted JSON with a file: got %v", err)
	}
}
