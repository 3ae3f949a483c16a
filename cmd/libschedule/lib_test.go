package main

import (
	"errors"
	"math"
	"runtime/cgo"
	"slices"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/schedule"
)

// The library's functions give what package schedule gives: the same
// rates, canonical text, JSON and errors.
func TestParseMatchesSchedule(t *testing.T) {
	for _, spec := range []string{
		"warmup(cosine(peak=0.1, steps=1000), steps=100)",
		"wsd(peak=3e-4, steps=1000, warmup=50, decay=0.2, shape=1-sqrt)",
		"onecycle(peak=0.4, steps=1000)",
		"sgdr(peak=0.1, floor=1e-4, period=100, mult=2)",
		"join([warmup(constant(peak=0.01), steps=20), cosine(peak=0.01, steps=980)], at=[20])",
		"table(at=[0, 100, 1000], lr=[0, 0.1, 0.001])",
		" cosine( steps = 10 ) ",
	} {
		want, err := schedule.Parse(spec)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		got, err := parse(spec, "")
		if err != nil {
			t.Fatalf("parse(%q): %v", spec, err)
		}
		h := cgo.NewHandle(got)
		steps := []int64{0, 1, 50, 99, 100, 101, 500, 999, 1000, 1001, 1 << 40, math.MaxInt64, -5}
		out := make([]float64, len(steps))
		if rc := valuesAt(h, steps, out); rc != allFinite {
			t.Errorf("%s: valuesAt returned %d, want %d", spec, rc, allFinite)
		}
		for i, s := range steps {
			if w := want.LR(s); out[i] != w || rate(h, s) != w {
				t.Errorf("%s: step %d: values %v, rate %v; want %v", spec, s, out[i], rate(h, s), w)
			}
		}
		rng := make([]float64, 30)
		if rc := valuesRange(h, 1000, -37, rng); rc != allFinite {
			t.Errorf("%s: valuesRange returned %d", spec, rc)
		}
		for i, v := range rng {
			if w := want.LR(1000 - 37*int64(i)); v != w {
				t.Errorf("%s: range item %d = %v, want %v", spec, i, v, w)
			}
		}
		if c := canonical(h); c != want.String() {
			t.Errorf("canonical %q, want %q", c, want.String())
		}
		js, err := toJSON(h)
		wantJS, _ := schedule.ToJSON(want)
		if err != nil || js != string(wantJS) {
			t.Errorf("%s: JSON %q, %v; want %q", spec, js, err, wantJS)
		}
		back, err := parse(js, "")
		if err != nil || back.String() != want.String() {
			t.Errorf("%s: JSON read back as %v, %v", spec, back, err)
		}
		h.Delete()
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ spec, parity, want string }{
		{"cosine(peek=0.1, steps=10)", "", `spec:1:8: unknown parameter "peek" for cosine (did you mean "peak"?)`},
		{"cosin(steps=10)", "", `spec:1:1: unknown schedule "cosin" (did you mean "cosine"?)`},
		{"cosine(steps=10)\x00", "", "spec:1:17: "},
		{`{"kind":"cosine","steps":0.5}`, "", "$.steps: "},
		{"cosine(steps=10)", "pytorh", `parity: unknown parity "pytorh" (did you mean "pytorch"?)`},
		// A controller is the CLI's error, not an unknown schedule.
		{"plateau(base=constant(peak=0.1))", "", "spec:1:1: plateau is a controller (it learns from the run) and cannot stand here, " +
			"where a schedule (a pure function of the step) is wanted; a trainer or the server takes it as the whole spec"},
		{"warmup(hd(base=constant()), steps=10)", "", "spec:1:8: hd is a controller (it learns from the run) and cannot stand " +
			"inside another schedule; a trainer or the server takes it as the whole spec"},
		{`{"kind":"autolrs","base":{"kind":"constant"}}`, "", "$: autolrs is a controller (it learns from the run) and cannot stand here, " +
			"where a schedule (a pure function of the step) is wanted; a trainer or the server takes it as the whole spec"},
	} {
		s, err := parse(tc.spec, tc.parity)
		if err == nil {
			t.Errorf("parse(%.40q, %q) = %v, want an error", tc.spec, tc.parity, s)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("parse(%.40q, %q): %q, want it to start with %q", tc.spec, tc.parity, err, tc.want)
		}
		if tc.parity == "" && len(tc.spec) < 100 {
			_, perr := schedule.Parse(tc.spec)
			if strings.HasPrefix(tc.spec, "{") {
				_, perr = schedule.ParseJSON([]byte(tc.spec))
			}
			if perr == nil || perr.Error() != err.Error() {
				t.Errorf("parse(%q): %q; package schedule says %v", tc.spec, err, perr)
			}
			var se *schedule.SpecError
			if !errors.As(err, &se) {
				t.Errorf("parse(%q): %T, want a *schedule.SpecError", tc.spec, err)
			}
		}
	}
}

// Every controller kind is known to the library (it links package control,
// as cmd/lrkit does) and refused with package schedule's message for a
// controller where a schedule is wanted, at the spec's position. This test
// file does not import package control: the library itself must.
func TestControllerSpecs(t *testing.T) {
	var names []string
	for _, k := range schedule.Kinds() {
		if k.Stateful {
			names = append(names, k.Name)
		}
	}
	if !slices.Contains(names, "plateau") || !slices.Contains(names, "hd") {
		t.Fatalf("controller kinds registered in the library: %q; want plateau, hd and the rest of package control's", names)
	}
	const why = " is a controller (it learns from the run) and cannot stand here, where a schedule (a pure function of the step) is wanted; a trainer or the server takes it as the whole spec"
	for _, name := range names {
		for _, spec := range []string{name + "()", "  " + name + "(base=constant())", `{"kind":"` + name + `"}`} {
			want := "spec:1:1: " + name + why
			if strings.HasPrefix(spec, " ") {
				want = "spec:1:3: " + name + why
			} else if strings.HasPrefix(spec, "{") {
				want = "$: " + name + why
			}
			s, err := parse(spec, "")
			if err == nil {
				t.Errorf("parse(%q) = %v, want an error", spec, s)
				continue
			}
			if err.Error() != want {
				t.Errorf("parse(%q): %q\nwant %q", spec, err, want)
			}
		}
	}
}

func TestParity(t *testing.T) {
	s, err := parse("warmup(cosine(peak=0.1, steps=100), steps=10)", "pytorch")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.String(), "warmup(cosine(peak=0.1, steps=100, parity=pytorch), steps=10)"; got != want {
		t.Errorf("canonical %q, want %q", got, want)
	}
}

// A schedule whose rate is not finite is reported by index; the values
// are still written.
func TestNonFinite(t *testing.T) {
	bad := schedule.Func(func(t int64) float64 {
		switch t {
		case 3:
			return math.Inf(1)
		case 4:
			return math.NaN()
		case 6:
			panic("a bug")
		}
		return float64(t)
	})
	h := cgo.NewHandle(schedule.Schedule(bad))
	defer h.Delete()
	out := make([]float64, 4)
	if rc := valuesAt(h, []int64{0, 4, 3, 1}, out); rc != 1 || !math.IsNaN(out[1]) || !math.IsInf(out[2], 1) || out[3] != 1 {
		t.Errorf("valuesAt: %d %v, want 1 [0 NaN +Inf 1]", rc, out)
	}
	out = make([]float64, 8)
	if rc := valuesRange(h, 0, 1, out); rc != 3 {
		t.Errorf("valuesRange: %d, want 3", rc)
	}
	if !math.IsNaN(out[6]) {
		t.Errorf("a panicking LR gave %v, want NaN", out[6])
	}
	if v := rate(h, 6); !math.IsNaN(v) {
		t.Errorf("rate of a panicking LR: %v, want NaN", v)
	}
}

func TestRangeEnd(t *testing.T) {
	for _, tc := range []struct {
		start, stride, n int64
		end              int64
		ok               bool
	}{
		{0, 1, 1, 0, true},
		{0, 1, 10, 9, true},
		{100, -7, 5, 72, true},
		{math.MaxInt64 - 10, 5, 3, math.MaxInt64, true},
		{math.MaxInt64 - 10, 5, 4, 0, false},
		{math.MaxInt64, 1, 2, 0, false},
		{0, math.MinInt64, 2, math.MinInt64, true},
		{-1, math.MinInt64, 2, 0, false},
		{0, math.MaxInt64, 3, 0, false},
		{5, 0, math.MaxInt64, 5, true},
		{0, 1, 0, 0, false},
	} {
		end, ok := rangeEnd(tc.start, tc.stride, tc.n)
		if ok != tc.ok || (ok && end != tc.end) {
			t.Errorf("rangeEnd(%d, %d, %d) = %d, %v; want %d, %v", tc.start, tc.stride, tc.n, end, ok, tc.end, tc.ok)
		}
	}
	h := cgo.NewHandle(schedule.Schedule(schedule.Constant{Peak: 1}))
	defer h.Delete()
	if rc := valuesRange(h, math.MaxInt64-1, 1, make([]float64, 3)); rc != badArgs {
		t.Errorf("valuesRange past int64: %d, want %d", rc, badArgs)
	}
}

// FuzzParse feeds the library's parse arbitrary text and parity: it must
// return a schedule or an error, never panic, and agree with package
// schedule on which.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"cosine(peak=0.1, steps=10)", "wsd(steps=100, decay=0.2)", `{"kind":"linear","steps":5}`,
		"join([constant(), linear(steps=3)], at=[2])", "cosine(steps=1e99)", "(((", ""} {
		f.Add(s, "")
		f.Add(s, "pytorch")
	}
	f.Fuzz(func(t *testing.T, spec, parity string) {
		s, err := parse(spec, parity)
		if err != nil {
			if s != nil {
				t.Fatalf("parse(%q, %q) returned both %v and %v", spec, parity, s, err)
			}
			return
		}
		if parity == "" {
			back, err := parse(s.String(), "")
			if err != nil || back.String() != s.String() {
				t.Fatalf("canonical %q does not read back: %v", s.String(), err)
			}
		}
		h := cgo.NewHandle(s)
		defer h.Delete()
		valuesRange(h, 0, 97, make([]float64, 50))
	})
}
