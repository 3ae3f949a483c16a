package schedule

import (
	"errors"
	"strings"
	"testing"
)

// TestParseErrors checks the exact one-line message, with its position,
// for bad spec text.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		spec, want string
	}{
		// Syntax.
		{"", `spec:1:1: empty spec: write a schedule such as cosine(steps=1000)`},
		{"  \n ", `spec:2:2: empty spec: write a schedule such as cosine(steps=1000)`},
		{"cosine", `spec:1:7: want "(" after cosine, got end of spec (write cosine(...))`},
		{"cosine steps=5", `spec:1:8: want "(" after cosine, got "steps" (write cosine(...))`},
		{"5", `spec:1:1: want a schedule name such as cosine(...), got "5"`},
		{"cosine(steps=10, peak=@)", `spec:1:23: unexpected character '@'`},
		{"η(steps=1)", `spec:1:1: unexpected character 'η'`},
		{"cosine(steps=10, peak=1", `spec:1:7: unclosed "(" of cosine: missing ")"`},
		{"cosine(steps=10))", `spec:1:17: unbalanced ")": nothing to close`},
		{"cosine(steps=10)\n)", `spec:2:1: unbalanced ")": nothing to close`},
		{"cosine(steps=10) x", `spec:1:18: unexpected "x" after the end of the spec`},
		{"cosine(steps=[1, 2)", `spec:1:19: want "," or "]" in a list, got ")"`},
		{"cosine(steps=[1, 2", `spec:1:14: unclosed "[": missing "]"`},
		{"cosine(steps=10,,)", `spec:1:17: want a value, got ","`},
		{"cosine(=5)", `spec:1:8: "=" without a parameter name before it`},
		{"cosine(steps=)", `spec:1:14: want a value after steps=, got ")"`},
		{"cosine(steps=10 peak=1)", `spec:1:17: want "," or ")" in cosine(...), got "peak"`},
		{"cosine(a+b=1)", `spec:1:9: unexpected character '+' in "a+b": a word has only letters, digits and _ - .`},
		{`cosine(steps="abc)`, `spec:1:14: unterminated string: missing closing "`},
		{"cosine(steps=\"a\nb\")", `spec:1:14: unterminated string: a string must close with " on the same line`},
		{`cosine(steps="\q")`, `spec:1:14: bad escape in string "\q"`},
		{strings.Repeat("warmup(", 70) + "constant()" + strings.Repeat(")", 70), `spec:1:456: spec nested too deeply (more than 64 levels)`},
		// Names.
		{"cosin(steps=1)", `spec:1:1: unknown schedule "cosin" (did you mean "cosine"?)`},
		{"Cosine(steps=1)", `spec:1:1: unknown schedule "Cosine" (did you mean "cosine"?)`},
		{"foo(steps=1)", "spec:1:1: unknown schedule \"foo\" (`lrkit schedules` lists them)"},
		{"cosine(peek=1, steps=10)", `spec:1:8: unknown parameter "peek" for cosine (did you mean "peak"?)`},
		{"cosine(steps=10, Peak=1)", `spec:1:18: unknown parameter "Peak" for cosine (did you mean "peak"?)`},
		{"cosine(steps=10, zzz=1)", `spec:1:18: unknown parameter "zzz" for cosine (parameters: peak, floor, steps, parity)`},
		{"cosine(\n  steps=10,\n  peek=1)", `spec:3:3: unknown parameter "peek" for cosine (did you mean "peak"?)`},
		{"warmup(cosine(peek=1, steps=1), steps=10)", `spec:1:15: unknown parameter "peek" for cosine (did you mean "peak"?)`},
		{"wsd(steps=100, shape=sqrt)", `spec:1:22: shape: want one of linear, cosine, 1-sqrt, square, exp, geometric, got sqrt (did you mean "1-sqrt"?)`},
		{"wsd(steps=100, shape=zzzzzz)", `spec:1:22: shape: want one of linear, cosine, 1-sqrt, square, exp, geometric, got zzzzzz`},
		// Missing and duplicate parameters, unnamed arguments.
		{"cosine(peak=1)", `spec:1:1: cosine needs steps (horizon T (PyTorch T_max))`},
		{"warmup(cosine(), steps=10)", `spec:1:8: cosine needs steps (horizon T (PyTorch T_max))`},
		{"cosine(steps=10, peak=1, peak=2)", `spec:1:26: peak given twice in cosine (first at 1:18)`},
		{"warmup(cosine(steps=1), base=constant(), steps=10)", `spec:1:25: base given twice in warmup (first at 1:8)`},
		{"cosine(cosine(steps=1), steps=10)", `spec:1:8: cosine has no unnamed parameter: write name=value (parameters: peak, floor, steps, parity)`},
		{"warmup(steps=10, cosine(steps=1))", `spec:1:18: only the first argument of warmup may be unnamed: write name=value`},
		// Types.
		{"cosine(peak=1, steps=0.5)", `spec:1:22: steps: want an integer step count, got 0.5`},
		{"cosine(steps=1e4)", `spec:1:14: steps: want an integer step count, got 1e4 (write 10000)`},
		{"cosine(steps=99999999999999999999)", `spec:1:14: steps: integer 99999999999999999999 is out of range`},
		{"cosine(steps=10, peak=nan)", `spec:1:23: peak: want a finite number, got nan (NaN and infinities are not allowed)`},
		{"cosine(steps=10, peak=NaN)", `spec:1:23: peak: want a finite number, got NaN (NaN and infinities are not allowed)`},
		{"cosine(steps=10, peak=inf)", `spec:1:23: peak: want a finite number, got inf (NaN and infinities are not allowed)`},
		{"cosine(steps=10, peak=-Inf)", `spec:1:23: peak: want a finite number, got -Inf (NaN and infinities are not allowed)`},
		{"cosine(steps=10, peak=1e400)", `spec:1:23: peak: number 1e400 is out of range`},
		{`cosine(steps=10, peak="1")`, `spec:1:23: peak: want a number, got "1"`},
		{"cosine(steps=10, peak=[1])", `spec:1:23: peak: want a number, got a list`},
		{"cosine(steps=10, peak=constant())", `spec:1:23: peak: want a number, got a call constant(...)`},
		{"warmup(cosine, steps=10)", `spec:1:8: base: want a schedule such as cosine(steps=100), got cosine (write cosine(...))`},
		{"warmup(5, steps=10)", `spec:1:8: base: want a schedule such as cosine(steps=100), got 5`},
		{"wsd(steps=100, warmup=1.5)", `spec:1:23: warmup: a fraction must be in [0, 1], got 1.5 (write an integer for a step count)`},
		{"wsd(steps=100, warmup=x)", `spec:1:23: warmup: want a step count such as 500 or a fraction such as 0.05, got x`},
		{"exp_decay(rate=0.5, every=10, staircase=yes)", `spec:1:41: staircase: want true or false, got yes`},
		{"multistep(milestones=5)", `spec:1:22: milestones: want a list such as [1, 2, 3], got 5`},
		{"multistep(milestones=[1, 2.5])", `spec:1:26: milestones[1]: want an integer step count, got 2.5`},
		{"join([constant(), 5], at=[1])", `spec:1:19: parts[1]: want a schedule such as cosine(steps=100), got 5`},
		{"join(constant(), at=[1])", `spec:1:6: parts: want a list of schedules such as [constant(), cosine(steps=100)], got a call constant(...)`},
		// Values the schedule rejects (*ParamError from Validate or
		// Prepare), at the value, or at the call when defaulted.
		{"cosine(peak=1, floor=2, steps=10)", `spec:1:22: floor: must not exceed peak (floor 2 > peak 1); lower floor or raise peak`},
		{"cosine(\n\tsteps=10,\n\tfloor=2)", `spec:3:8: floor: must not exceed peak (floor 2 > peak 1); lower floor or raise peak`},
		{"multistep(milestones=[3, 2])", `spec:1:22: milestones: must be in increasing order (2 after 3); sort them`},
		{"uba(steps=10, phi=0)", `spec:1:19: phi: must be greater than 0, got 0`},
		{"cosine(steps=-5)", `spec:1:14: steps: must be a positive number of steps, got -5`},
		{"table(at=[0, 1, 2], lr=[1, 2])", `spec:1:24: lr: must have one rate per step in at (3 steps, 2 rates)`},
		{"table()", `spec:1:1: at: must list at least one point, or give file="x.csv"`},
		{`table(file="/nonexistent/x.csv")`, `spec:1:12: file: open /nonexistent/x.csv: no such file or directory`},
		{"warmup(cosine(steps=10, floor=3), steps=5)", `spec:1:31: floor: must not exceed peak (floor 3 > peak 1); lower floor or raise peak`},
	}
	for _, tt := range tests {
		s, err := Parse(tt.spec)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want error %q", tt.spec, s, tt.want)
			continue
		}
		if got := err.Error(); got != tt.want {
			t.Errorf("Parse(%q) error\n got %s\nwant %s", tt.spec, got, tt.want)
		}
		var se *SpecError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) error is %T, want *SpecError", tt.spec, err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%q) error spans lines: %q", tt.spec, err)
		}
	}
}

// TestParseErrorUnwrap checks that a rejected value keeps its *ParamError.
func TestParseErrorUnwrap(t *testing.T) {
	_, err := Parse("cosine(peak=1, floor=2, steps=10)")
	var pe *ParamError
	if !errors.As(err, &pe) || pe.Param != "floor" {
		t.Fatalf("errors.As(%v, *ParamError) = %v, want param floor", err, pe)
	}
	var se *SpecError
	if !errors.As(err, &se) || se.Pos != (Pos{Offset: 21, Line: 1, Col: 22}) {
		t.Fatalf("SpecError position = %+v, want offset 21, 1:22", se)
	}
}

func TestParseJSONErrors(t *testing.T) {
	tests := []struct {
		json, want string
	}{
		{``, `$: unexpected end of JSON`},
		{`[]`, `$: want a JSON object such as {"kind":"cosine","steps":1000}`},
		{`{"kind":"cosine","steps":10}x`, `$: unexpected data after the JSON object`},
		{`{"kind":"cosine","steps":10`, `$: unexpected end of JSON`},
		{`{"steps":10}`, `$: missing "kind": name the schedule, as in {"kind":"cosine","steps":1000}`},
		{`{"kind":5}`, `$.kind: want the schedule name as a string, got 5`},
		{`{"kind":"cosin","steps":10}`, `$: unknown schedule "cosin" (did you mean "cosine"?)`},
		{`{"kind":"cosine","peek":1,"steps":10}`, `$.peek: unknown parameter "peek" for cosine (did you mean "peak"?)`},
		{`{"kind":"cosine","steps":0.5}`, `$.steps: want an integer step count, got 0.5`},
		{`{"kind":"cosine","steps":"10"}`, `$.steps: want an integer step count, got "10"`},
		{`{"kind":"cosine","steps":null}`, `$.steps: null is not a value: leave the key out to get its default`},
		{`{"kind":"cosine","steps":10,"steps":11}`, `$.steps: key "steps" given twice`},
		{`{"kind":"cosine","steps":10,"floor":2}`, `$.floor: must not exceed peak (floor 2 > peak 1); lower floor or raise peak`},
		{`{"kind":"cosine","peak":0.5}`, `$: cosine needs steps (horizon T (PyTorch T_max))`},
		{`{"kind":"warmup","base":{"kind":"cosine","steps":0.5},"steps":10}`, `$.base.steps: want an integer step count, got 0.5`},
		{`{"kind":"warmup","base":{"kind":"cosine","steps":10,"floor":3},"steps":10}`, `$.base.floor: must not exceed peak (floor 3 > peak 1); lower floor or raise peak`},
		{`{"kind":"warmup","base":{"kind":"cosine"},"steps":10}`, `$.base: cosine needs steps (horizon T (PyTorch T_max))`},
		{`{"kind":"join","parts":[{"kind":"constant"},{"kind":"cosine","steps":1.5}],"at":[5]}`, `$.parts[1].steps: want an integer step count, got 1.5`},
		{`{"kind":"multistep","milestones":[1,2.5]}`, `$.milestones[1]: want an integer step count, got 2.5`},
		{`{"kind":"multistep","milestones":[3,2]}`, `$.milestones: must be in increasing order (2 after 3); sort them`},
		{`{"kind":"wsd","steps":100,"warmup":1.5}`, `$.warmup: a fraction must be in [0, 1], got 1.5 (write an integer for a step count)`},
		{`{"kind":"exp_decay","rate":0.5,"every":10,"staircase":"true"}`, `$.staircase: want true or false, got "true"`},
		{`{"kind":"table"}`, `$.at: must list at least one point, or give file="x.csv"`},
	}
	for _, tt := range tests {
		s, err := ParseJSON([]byte(tt.json))
		if err == nil {
			t.Errorf("ParseJSON(%s) = %v, want error %q", tt.json, s, tt.want)
			continue
		}
		if got := err.Error(); got != tt.want {
			t.Errorf("ParseJSON(%s) error\n got %s\nwant %s", tt.json, got, tt.want)
		}
	}
}
