package schedule

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParseExprTree(t *testing.T) {
	// A controller spec: not a schedule, but the same language.
	src := "plateau(base=cosine(peak=1, steps=100),\n  factor=0.5, mode=min, tag=\"a b\", ms=[1, 2e3], cosine(steps=5),)"
	e, err := ParseExpr(src)
	if err != nil {
		t.Fatal(err)
	}
	pos := func(off, line, col int) Pos { return Pos{Offset: off, Line: line, Col: col} }
	want := &Expr{Name: "plateau", Pos: pos(0, 1, 1), Args: []Arg{
		{Key: "base", KeyPos: pos(8, 1, 9), Value: Value{Kind: CallValue, Pos: pos(13, 1, 14), Call: &Expr{
			Name: "cosine", Pos: pos(13, 1, 14), Args: []Arg{
				{Key: "peak", KeyPos: pos(20, 1, 21), Value: Value{Kind: NumberValue, Pos: pos(25, 1, 26), Text: "1"}},
				{Key: "steps", KeyPos: pos(28, 1, 29), Value: Value{Kind: NumberValue, Pos: pos(34, 1, 35), Text: "100"}},
			}}}},
		{Key: "factor", KeyPos: pos(42, 2, 3), Value: Value{Kind: NumberValue, Pos: pos(49, 2, 10), Text: "0.5"}},
		{Key: "mode", KeyPos: pos(54, 2, 15), Value: Value{Kind: WordValue, Pos: pos(59, 2, 20), Text: "min"}},
		{Key: "tag", KeyPos: pos(64, 2, 25), Value: Value{Kind: StringValue, Pos: pos(68, 2, 29), Text: "a b"}},
		{Key: "ms", KeyPos: pos(75, 2, 36), Value: Value{Kind: ListValue, Pos: pos(78, 2, 39), List: []Value{
			{Kind: NumberValue, Pos: pos(79, 2, 40), Text: "1"},
			{Kind: NumberValue, Pos: pos(82, 2, 43), Text: "2e3"},
		}}},
		{KeyPos: pos(88, 2, 49), Value: Value{Kind: CallValue, Pos: pos(88, 2, 49), Call: &Expr{
			Name: "cosine", Pos: pos(88, 2, 49), Args: []Arg{
				{Key: "steps", KeyPos: pos(95, 2, 56), Value: Value{Kind: NumberValue, Pos: pos(101, 2, 62), Text: "5"}},
			}}}},
	}}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("ParseExpr =\n%#v\nwant\n%#v", e, want)
	}
	if got, want := e.String(), `plateau(base=cosine(peak=1, steps=100), factor=0.5, mode=min, tag="a b", ms=[1, 2e3], cosine(steps=5))`; got != want {
		t.Errorf("Expr.String() = %s, want %s", got, want)
	}
	a, ok := e.Arg("factor")
	if !ok || a.Value.Text != "0.5" {
		t.Errorf(`Arg("factor") = %+v, %v`, a, ok)
	}
	if _, ok := e.Arg("nope"); ok {
		t.Error(`Arg("nope") found`)
	}

	// The nested schedule goes to BuildExpr; errors keep their place in
	// the whole text.
	base, _ := e.Arg("base")
	s, err := BuildExpr(base.Value.Call)
	if err != nil {
		t.Fatal(err)
	}
	if s.String() != "cosine(steps=100)" {
		t.Errorf("BuildExpr(base) = %s", s)
	}
	e2, err := ParseExpr("plateau(\n  base=cosine(peek=1, steps=100))")
	if err != nil {
		t.Fatal(err)
	}
	base, _ = e2.Arg("base")
	_, err = BuildExpr(base.Value.Call)
	if got, want := fmt.Sprint(err), `spec:2:15: unknown parameter "peek" for cosine (did you mean "peak"?)`; got != want {
		t.Errorf("BuildExpr error = %s, want %s", got, want)
	}
	if _, err := BuildExpr(nil); err == nil {
		t.Error("BuildExpr(nil) succeeded")
	}
}

func TestLexNumbersAndWords(t *testing.T) {
	tests := []struct {
		text string
		kind ValueKind
	}{
		{"0", NumberValue}, {"500", NumberValue}, {"-3", NumberValue}, {"+3", NumberValue},
		{"0.05", NumberValue}, {".5", NumberValue}, {"5.", NumberValue}, {"3e-4", NumberValue},
		{"1E+06", NumberValue}, {"-2.5e3", NumberValue},
		{"1-sqrt", WordValue}, {"exp_range", WordValue}, {"e5", WordValue}, {"1e", WordValue},
		{"1.2.3", WordValue}, {"-", WordValue}, {".", WordValue}, {"lr.csv", WordValue},
		{"nan", WordValue}, {"inf", WordValue}, {"true", WordValue}, {"x-1", WordValue},
	}
	for _, tt := range tests {
		e, err := ParseExpr("f(" + tt.text + ")")
		if err != nil {
			t.Errorf("%q: %v", tt.text, err)
			continue
		}
		v := e.Args[0].Value
		if v.Kind != tt.kind || v.Text != tt.text {
			t.Errorf("%q lexes as %v %q, want %v", tt.text, v.Kind, v.Text, tt.kind)
		}
	}
	for _, bad := range []string{"1e+", "a+b", "+", "1+2"} {
		if _, err := ParseExpr("f(" + bad + ")"); err == nil {
			t.Errorf("%q lexes without error", bad)
		}
	}
}

func TestParseWhitespaceAndTrailingCommas(t *testing.T) {
	want := "join([constant(), cosine(steps=100)], at=[10])"
	for _, src := range []string{
		"join([constant(),cosine(steps=100)],at=[10])",
		" join ( [ constant ( ) , cosine ( steps = 100 ) , ] , at = [ 10 , ] , ) ",
		"join(\r\n\t[\n\t\tconstant(),\n\t\tcosine(steps=100),\n\t],\n\tat=[10],\n)\n",
	} {
		s, err := Parse(src)
		if err != nil {
			t.Errorf("Parse(%q): %v", src, err)
			continue
		}
		if s.String() != want {
			t.Errorf("Parse(%q) = %s, want %s", src, s, want)
		}
	}
}

func TestParseLengths(t *testing.T) {
	tests := []struct {
		spec string
		want Length
	}{
		{"wsd(steps=1000, warmup=500)", Steps(500)},
		{"wsd(steps=1000, warmup=0)", Steps(0)},
		{"wsd(steps=1000, warmup=0.05)", Fraction(0.05)},
		{"wsd(steps=1000, warmup=5e-2)", Fraction(0.05)},
		{"wsd(steps=1000, warmup=0.0)", Fraction(0)},
		{"wsd(steps=1000, warmup=1.0, decay=0)", Fraction(1)},
		{"wsd(steps=1000, warmup=1e0, decay=0)", Fraction(1)},
	}
	for _, tt := range tests {
		s, err := Parse(tt.spec)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.spec, err)
			continue
		}
		if got := s.(WSD).Warmup; got != tt.want {
			t.Errorf("Parse(%q).Warmup = %+v, want %+v", tt.spec, got, tt.want)
		}
	}
}

// TestParseMatchesGo checks that Parse fills defaults and values exactly as
// the equivalent struct literal through New.
func TestParseMatchesGo(t *testing.T) {
	tests := []struct {
		spec string
		want Schedule
	}{
		{"wsd(peak=3e-4, steps=10000, warmup=500, decay=0.2, shape=1-sqrt)",
			WSD{Peak: 3e-4, Steps: 10000, Warmup: Steps(500), Decay: Fraction(0.2), Shape: "1-sqrt", Parity: "none"}},
		{"cosine(steps=100)", Cosine{Peak: 1, Steps: 100, Parity: "none"}},
		{"multistep(milestones=[30, 60, 90], peak=0.1)", MultiStep{Peak: 0.1, Milestones: []int64{30, 60, 90}, Gamma: 0.1}},
		{"warmup(cosine(steps=90), steps=10)", Warmup{Base: Cosine{Peak: 1, Steps: 90, Parity: "none"}, Steps: 10, Shape: "linear", Beta2: 0.999}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.spec)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.spec, err)
			continue
		}
		want, err := New(tt.want)
		if err != nil {
			t.Fatalf("New(%#v): %v", tt.want, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Parse(%q) =\n%#v\nwant\n%#v", tt.spec, got, want)
		}
		for _, step := range []int64{0, 1, 50, 99, 100, 5000, 10000, 20000} {
			if got.LR(step) != want.LR(step) {
				t.Errorf("%s: LR(%d) = %v, want %v", tt.spec, step, got.LR(step), want.LR(step))
			}
		}
	}
}

func TestSpecErrorIsOneLine(t *testing.T) {
	e := &SpecError{Pos: Pos{Line: 2, Col: 3}, Msg: "file: bad\nline two\r\nthree"}
	if got, want := e.Error(), "spec:2:3: file: bad line two three"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	inner := errors.New("x")
	e = &SpecError{Pos: Pos{Path: "$.a"}, Msg: "m", Err: inner}
	if e.Error() != "$.a: m" || !errors.Is(e, inner) {
		t.Errorf("JSON SpecError = %q, Unwrap ok = %v", e.Error(), errors.Is(e, inner))
	}
	if (Pos{Line: 3, Col: 4}).String() != "3:4" || (Pos{Path: "$.x"}).String() != "$.x" {
		t.Error("Pos.String")
	}
}

// BenchmarkParseListLength parses specs whose lists grow tenfold; ns/op
// growing tenfold (not a hundredfold) shows that parsing is linear.
func BenchmarkParseListLength(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		at := make([]string, n)
		lr := make([]string, n)
		for i := range at {
			at[i] = fmt.Sprint(i * 10)
			lr[i] = fmt.Sprint(1 / float64(i+1))
		}
		spec := "table(at=[" + strings.Join(at, ", ") + "], lr=[" + strings.Join(lr, ", ") + "])"
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(spec)))
			for b.Loop() {
				if _, err := Parse(spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseWSD(b *testing.B) {
	for b.Loop() {
		if _, err := Parse("wsd(peak=3e-4, steps=10000, warmup=500, decay=0.2, shape=1-sqrt)"); err != nil {
			b.Fatal(err)
		}
	}
}
