package schedule

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that its errors are one-line
// *SpecErrors, and that whatever it accepts formats to text that parses
// back equal, with Format a fixed point and the JSON form equal too. The
// seed corpus is testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add("wsd(peak=3e-4, steps=10000, warmup=500, decay=0.2, shape=1-sqrt)")
	f.Add("warmup(cosine(steps=100), steps=10)")
	f.Add(`table(file="good.csv", peak=2)`)
	f.Add(`join([table(file=bad.csv), constant()], at=[5])`)
	f.Fuzz(checkParseRoundTrip)
}

// checkParseRoundTrip is the body of FuzzParse.
func checkParseRoundTrip(t *testing.T, spec string) {
	e, err := ParseExpr(spec)
	if err != nil {
		checkSpecError(t, spec, err)
		if _, perr := Parse(spec); perr == nil || perr.Error() != err.Error() {
			t.Fatalf("ParseExpr error %v but Parse error %v", err, perr)
		}
		return
	}
	// The tree prints as text that reads back to the same tree.
	e2, err := ParseExpr(e.String())
	if err != nil {
		t.Fatalf("ParseExpr(%q) of Expr.String: %v", e.String(), err)
	}
	if !reflect.DeepEqual(stripPos(e), stripPos(e2)) {
		t.Fatalf("tree of %q differs from tree of its String %q", spec, e.String())
	}
	if readsFile(e) {
		// Untrusted text never reads a file; trusted text reads only the
		// fixtures in testdata/files (plain names), from that directory.
		names := fileValues(e)
		named := false
		for _, v := range names {
			named = named || v.Text != ""
		}
		if _, err := ParseUntrusted(spec); err == nil && named {
			t.Fatalf("ParseUntrusted accepted %q, which names a file", spec)
		}
		for _, v := range names {
			if v.Kind != StringValue && v.Kind != WordValue || strings.ContainsAny(v.Text, "/\\") || strings.HasPrefix(v.Text, ".") {
				return // could name a file outside the fixtures
			}
		}
		t.Chdir("testdata/files")
	}
	s, err := Parse(spec)
	if err != nil {
		checkSpecError(t, spec, err)
		return
	}
	text := Format(s)
	s2, err := Parse(text)
	if err != nil {
		t.Fatalf("Parse(%q) ok, but Parse of its Format %q: %v", spec, text, err)
	}
	if !reflect.DeepEqual(s, s2) {
		t.Fatalf("Parse(Format(s)) != s for %q\nformat %q\n%#v\n%#v", spec, text, s, s2)
	}
	if again := Format(s2); again != text {
		t.Fatalf("Format not a fixed point: %q then %q", text, again)
	}
	js, err := ToJSON(s)
	if err != nil {
		t.Fatalf("ToJSON(%s): %v", text, err)
	}
	s3, err := ParseJSON(js)
	if err != nil {
		t.Fatalf("ParseJSON(%s): %v", js, err)
	}
	if !reflect.DeepEqual(s, s3) {
		t.Fatalf("ParseJSON(ToJSON(s)) != s for %s", js)
	}
}

// FuzzParseJSON checks that ParseJSON never panics and that what it
// accepts round-trips through ToJSON and through the text form.
func FuzzParseJSON(f *testing.F) {
	f.Add(`{"kind":"wsd","peak":0.0003,"steps":10000,"warmup":500,"decay":0.2,"shape":"1-sqrt"}`)
	f.Add(`{"kind":"table","file":"/proc/self/environ"}`)
	f.Fuzz(func(t *testing.T, data string) {
		if strings.Contains(data, "file") {
			// Untrusted JSON never reads a file; trusted JSON naming one is
			// left to FuzzParse's fixtures.
			if _, err := ParseJSONWith([]byte(data), Options{Untrusted: true}); err != nil {
				checkSpecError(t, data, err)
			}
			return
		}
		s, err := ParseJSON([]byte(data))
		if err != nil {
			checkSpecError(t, data, err)
			return
		}
		js, err := ToJSON(s)
		if err != nil {
			t.Fatalf("ToJSON: %v", err)
		}
		s2, err := ParseJSON(js)
		if err != nil {
			t.Fatalf("ParseJSON(%s) of ToJSON: %v", js, err)
		}
		if !reflect.DeepEqual(s, s2) {
			t.Fatalf("ParseJSON(ToJSON(s)) != s for %s", js)
		}
		if js2, _ := ToJSON(s2); string(js2) != string(js) {
			t.Fatalf("ToJSON not a fixed point: %s then %s", js, js2)
		}
		s3, err := Parse(Format(s))
		if err != nil || !reflect.DeepEqual(s, s3) {
			t.Fatalf("text form %q of JSON %s does not read back: %v", Format(s), data, err)
		}
	})
}

func checkSpecError(t *testing.T, input string, err error) {
	t.Helper()
	var se *SpecError
	if !errors.As(err, &se) {
		t.Fatalf("error for %q is %T, not *SpecError: %v", input, err, err)
	}
	if msg := err.Error(); strings.ContainsAny(msg, "\r\n") || msg == "" {
		t.Fatalf("error for %q is not one line: %q", input, msg)
	}
}

// fileValues returns the values of every parameter named file in a tree.
func fileValues(e *Expr) []Value {
	var out []Value
	var walk func(v Value)
	walk = func(v Value) {
		switch v.Kind {
		case CallValue:
			out = append(out, fileValues(v.Call)...)
		case ListValue:
			for _, x := range v.List {
				walk(x)
			}
		}
	}
	for _, a := range e.Args {
		if a.Key == "file" {
			out = append(out, a.Value)
		}
		walk(a.Value)
	}
	return out
}

// readsFile reports whether a tree sets a parameter named file anywhere.
func readsFile(e *Expr) bool {
	for _, a := range e.Args {
		if a.Key == "file" || valueReadsFile(a.Value) {
			return true
		}
	}
	return false
}

func valueReadsFile(v Value) bool {
	switch v.Kind {
	case CallValue:
		return readsFile(v.Call)
	case ListValue:
		for _, e := range v.List {
			if valueReadsFile(e) {
				return true
			}
		}
	}
	return false
}

// stripPos returns a copy of the tree without positions.
func stripPos(e *Expr) *Expr {
	out := &Expr{Name: e.Name}
	for _, a := range e.Args {
		out.Args = append(out.Args, Arg{Key: a.Key, Value: stripValue(a.Value)})
	}
	return out
}

func stripValue(v Value) Value {
	out := Value{Kind: v.Kind, Text: v.Text}
	if v.Kind == StringValue && isWord(v.Text) {
		out.Kind = WordValue // a string that is a word prints bare
	}
	if v.Call != nil {
		out.Call = stripPos(v.Call)
	}
	for _, e := range v.List {
		out.List = append(out.List, stripValue(e))
	}
	return out
}
