package control

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/lrkit/lrkit/internal/textmatch"
	"github.com/lrkit/lrkit/schedule"
)

// Parse reads a controller spec, in the same language as schedules:
//
//	plateau(base=cosine(peak=0.1, steps=1000), factor=0.5, patience=3)
//	hd(lr=0.01, beta=1e-4)
//	autolrs(min=1e-5, max=1e-1)
//	refined(file=refined.csv, peak=3e-3)
//
// Any schedule spec is also accepted and gives a Fixed controller. Errors
// are *schedule.SpecError with the line and column and, for a misspelt
// name, the nearest one: `spec:1:9: unknown parameter "factr" for plateau
// (did you mean "factor"?)`. The returned controller is in its initial
// state; String returns canonical spec text that Parse reads back to an
// equal controller.
func Parse(spec string) (Controller, error) {
	e, err := schedule.ParseExpr(spec)
	if err != nil {
		return nil, err
	}
	return BuildExpr(e)
}

// BuildExpr builds a controller from a parsed call (see Parse).
func BuildExpr(e *schedule.Expr) (Controller, error) {
	if e == nil {
		return nil, errors.New("control: BuildExpr of a nil expression")
	}
	for _, k := range Kinds() {
		if k.Name == e.Name {
			return build(k, e)
		}
	}
	if _, ok := schedule.KindOf(e.Name); !ok {
		names := append(schedule.KindNames(), kindNames()...)
		hint := " (`lrkit schedules` lists them)"
		if s := suggest(e.Name, names); s != "" {
			hint = fmt.Sprintf(" (did you mean %q?)", s)
		}
		return nil, &schedule.SpecError{Pos: e.Pos, Msg: fmt.Sprintf("unknown schedule or controller %q%s", e.Name, hint)}
	}
	s, err := schedule.BuildExpr(e)
	if err != nil {
		return nil, err
	}
	return NewFixed(s), nil
}

func kindNames() []string {
	var ns []string
	for _, k := range Kinds() {
		ns = append(ns, k.Name)
	}
	return ns
}

// build fills a new controller of kind k from the call's arguments.
func build(k Kind, e *schedule.Expr) (Controller, error) {
	ptr := reflect.New(reflect.TypeOf(k.Proto).Elem())
	v := ptr.Elem()
	v.Set(reflect.ValueOf(k.Proto).Elem()) // kind flags such as HD.Adam
	t := v.Type()
	overrides := defaultsOf(k.Proto)
	type field struct {
		idx      int
		name     string
		required bool
	}
	var fields []field
	byName := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, ok := f.Tag.Lookup("spec")
		if !ok {
			continue
		}
		def, has := f.Tag.Lookup("default")
		if d, ok := overrides[name]; ok {
			def = d
		}
		if has {
			dv, err := convertText(f, def)
			if err != nil {
				return nil, fmt.Errorf("control: bad default %q of %s.%s: %w", def, k.Name, name, err)
			}
			v.Field(i).Set(dv)
		}
		byName[name] = len(fields)
		fields = append(fields, field{i, name, !has})
	}
	given := make([]*schedule.Arg, len(fields))
	for ai := range e.Args {
		a := &e.Args[ai]
		if a.Key == "" {
			return nil, &schedule.SpecError{Pos: a.KeyPos, Msg: fmt.Sprintf("%s has no unnamed parameter: write name=value (parameters: %s)", k.Name, paramList(fields, func(f field) string { return f.name }))}
		}
		fi, ok := byName[a.Key]
		if !ok {
			names := make([]string, len(fields))
			for i, f := range fields {
				names[i] = f.name
			}
			hint := " (parameters: " + strings.Join(names, ", ") + ")"
			if s := suggest(a.Key, names); s != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", s)
			}
			return nil, &schedule.SpecError{Pos: a.KeyPos, Msg: fmt.Sprintf("unknown parameter %q for %s%s", a.Key, k.Name, hint)}
		}
		if prev := given[fi]; prev != nil {
			return nil, &schedule.SpecError{Pos: a.KeyPos, Msg: fmt.Sprintf("%s given twice in %s (first at %s)", a.Key, k.Name, prev.KeyPos)}
		}
		given[fi] = a
		f := t.Field(fields[fi].idx)
		fv, err := convertValue(f, a.Value)
		if err != nil {
			return nil, err
		}
		v.Field(fields[fi].idx).Set(fv)
	}
	for i, f := range fields {
		if f.required && given[i] == nil {
			msg := fmt.Sprintf("%s needs %s", k.Name, f.name)
			if doc := t.Field(f.idx).Tag.Get("doc"); doc != "" {
				msg += " (" + doc + ")"
			}
			return nil, &schedule.SpecError{Pos: e.Pos, Msg: msg}
		}
	}
	at := func(err error) error {
		var pe *schedule.ParamError
		if errors.As(err, &pe) {
			if fi, ok := byName[pe.Param]; ok && given[fi] != nil {
				return &schedule.SpecError{Pos: given[fi].Value.Pos, Msg: pe.Error(), Err: err}
			}
		}
		return &schedule.SpecError{Pos: e.Pos, Msg: k.Name + ": " + err.Error(), Err: err}
	}
	c := ptr.Interface().(Controller)
	if val, ok := c.(interface{ Validate() error }); ok {
		if err := val.Validate(); err != nil {
			return nil, at(err)
		}
	}
	if pr, ok := c.(interface{ Prepare() error }); ok {
		if err := pr.Prepare(); err != nil {
			return nil, at(err)
		}
	}
	if r, ok := c.(interface{ Reset() }); ok {
		r.Reset()
	}
	return c, nil
}

func paramList[F any](fs []F, name func(F) string) string {
	ns := make([]string, len(fs))
	for i, f := range fs {
		ns[i] = name(f)
	}
	return strings.Join(ns, ", ")
}

// convertText reads a default tag's text as the field's value.
func convertText(f reflect.StructField, text string) (reflect.Value, error) {
	switch f.Type.Kind() {
	case reflect.Float64:
		x, err := parseFloatWord(text)
		return reflect.ValueOf(x), err
	case reflect.Int64:
		n, err := strconv.ParseInt(text, 10, 64)
		return reflect.ValueOf(n), err
	case reflect.Bool:
		b, err := strconv.ParseBool(text)
		return reflect.ValueOf(b), err
	case reflect.String:
		return reflect.ValueOf(text), nil
	}
	return reflect.Value{}, fmt.Errorf("no default for type %s", f.Type)
}

// parseFloatWord reads a number, or the words inf and -inf.
func parseFloatWord(s string) (float64, error) {
	switch strings.ToLower(s) {
	case "inf", "+inf":
		return strconv.ParseFloat("+Inf", 64)
	case "-inf":
		return strconv.ParseFloat("-Inf", 64)
	case "nan":
		return 0, errors.New("NaN is not allowed")
	}
	return strconv.ParseFloat(s, 64)
}

// convertValue reads an argument's value as the field's Go value.
func convertValue(f reflect.StructField, v schedule.Value) (reflect.Value, error) {
	name := f.Tag.Get("spec")
	bad := func(format string, args ...any) error {
		return &schedule.SpecError{Pos: v.Pos, Msg: name + ": " + fmt.Sprintf(format, args...)}
	}
	describe := func() string {
		switch v.Kind {
		case schedule.NumberValue, schedule.WordValue:
			return v.Text
		case schedule.StringValue:
			return strconv.Quote(v.Text)
		case schedule.ListValue:
			return "a list"
		case schedule.CallValue:
			return "a call " + v.Call.Name + "(...)"
		}
		return "nothing"
	}
	if f.Type == scheduleType {
		if v.Kind != schedule.CallValue {
			return reflect.Value{}, bad("want a schedule such as cosine(peak=0.1, steps=1000), got %s", describe())
		}
		s, err := schedule.BuildExpr(v.Call)
		if err != nil {
			return reflect.Value{}, err
		}
		return reflect.ValueOf(&s).Elem(), nil
	}
	switch f.Type.Kind() {
	case reflect.Float64:
		if v.Kind != schedule.NumberValue && v.Kind != schedule.WordValue {
			return reflect.Value{}, bad("want a number, got %s", describe())
		}
		x, err := parseFloatWord(v.Text)
		if err != nil {
			return reflect.Value{}, bad("want a number, got %s", describe())
		}
		return reflect.ValueOf(x), nil
	case reflect.Int64:
		if v.Kind != schedule.NumberValue {
			return reflect.Value{}, bad("want an integer, got %s", describe())
		}
		n, err := strconv.ParseInt(v.Text, 10, 64)
		if err != nil {
			hint := ""
			if x, ferr := strconv.ParseFloat(v.Text, 64); ferr == nil && x == float64(int64(x)) {
				hint = fmt.Sprintf(" (write %d)", int64(x))
			}
			return reflect.Value{}, bad("want an integer, got %s%s", v.Text, hint)
		}
		return reflect.ValueOf(n), nil
	case reflect.Bool:
		if v.Kind == schedule.WordValue && (v.Text == "true" || v.Text == "false") {
			return reflect.ValueOf(v.Text == "true"), nil
		}
		return reflect.Value{}, bad("want true or false, got %s", describe())
	case reflect.String:
		if v.Kind != schedule.WordValue && v.Kind != schedule.StringValue {
			return reflect.Value{}, bad("want a word or a quoted string, got %s", describe())
		}
		if c := f.Tag.Get("choices"); c != "" {
			choices := strings.Split(c, "|")
			for _, ch := range choices {
				if ch == v.Text {
					return reflect.ValueOf(v.Text), nil
				}
			}
			hint := ""
			if s := suggest(v.Text, choices); s != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", s)
			}
			return reflect.Value{}, bad("must be one of %s, got %q%s", strings.Join(choices, ", "), v.Text, hint)
		}
		return reflect.ValueOf(v.Text), nil
	}
	return reflect.Value{}, bad("unsupported parameter type %s", f.Type)
}

// suggest returns the nearest likely-typo candidate, or "" (the spec
// language's shared suggester).
func suggest(name string, candidates []string) string {
	return textmatch.Suggest(name, candidates)
}
