package schedule

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/lrkit/lrkit/internal/textmatch"
)

// This file reads the struct tags of the schedule kinds (see Kind) and
// builds schedules from parsed spec text.

// ParamInfo describes one parameter of a schedule kind, for listings such
// as `lrkit schedules`.
type ParamInfo struct {
	Name       string   // name in spec text
	Type       string   // "number", "integer", "bool", "word", "path", "length", "list of numbers", "list of integers", "schedule", "list of schedules"
	Default    string   // default as spec text; "" when Required (or when the default is the empty string)
	Required   bool     // true when the parameter has no default
	Choices    []string // allowed words of an enumerated parameter, else nil
	Doc        string   // one line on what it is
	Positional bool     // may be written first without its name
}

// paramType is the Go type of a parameter field.
type paramType int

const (
	ptFloat paramType = iota + 1
	ptInt
	ptBool
	ptString
	ptLength
	ptFloats
	ptInts
	ptSchedule
	ptSchedules
)

var paramTypeNames = map[paramType]string{
	ptFloat: "number", ptInt: "integer", ptBool: "bool", ptString: "word", ptLength: "length",
	ptFloats: "list of numbers", ptInts: "list of integers", ptSchedule: "schedule", ptSchedules: "list of schedules",
}

var (
	scheduleType = reflect.TypeFor[Schedule]()
	lengthType   = reflect.TypeFor[Length]()
)

func paramTypeOf(t reflect.Type) (paramType, bool) {
	switch {
	case t == lengthType:
		return ptLength, true
	case t == scheduleType:
		return ptSchedule, true
	case t.Kind() == reflect.Slice && t.Elem() == scheduleType:
		return ptSchedules, true
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Float64:
		return ptFloats, true
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Int64:
		return ptInts, true
	}
	switch t.Kind() {
	case reflect.Float64:
		return ptFloat, true
	case reflect.Int64:
		return ptInt, true
	case reflect.Bool:
		return ptBool, true
	case reflect.String:
		return ptString, true
	}
	return 0, false
}

// param is one parameter of a kind, read from a struct field.
type param struct {
	name       string
	field      int // index in the struct
	typ        paramType
	required   bool
	defText    string
	def        reflect.Value // parsed default (invalid when required)
	choices    []string
	doc        string
	positional bool
	path       bool // a file name: refused in untrusted text
	inf        bool // a number that may be inf or -inf
}

// kindSpec is a Kind with its parameters.
type kindSpec struct {
	kind       Kind
	typ        reflect.Type // the struct type
	ptr        bool         // Proto is a pointer to the struct
	params     []param
	byName     map[string]int
	positional int // index in params, or -1
}

// registry is an immutable set of kinds, looked up by name and by type.
// Several kinds may share one type (hd and adam_hd): their values tell
// which kind they are by a SpecKind method.
type registry struct {
	kinds  []*kindSpec
	byName map[string]*kindSpec
	byType map[reflect.Type][]*kindSpec
}

// SpecKinder is implemented by values of a type that several kinds share:
// SpecKind returns the name of the kind the value is.
type SpecKinder interface {
	SpecKind() string
}

// kindOf returns the kind of a value of the spec language, or false.
func (r *registry) kindOf(s any) (*kindSpec, reflect.Value, bool) {
	v := reflect.ValueOf(s)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, v, false
		}
		v = v.Elem()
	}
	kss := r.byType[v.Type()]
	switch {
	case len(kss) == 1:
		return kss[0], v, true
	case len(kss) > 1:
		if k, ok := s.(SpecKinder); ok {
			if ks, ok := r.byName[k.SpecKind()]; ok && ks.typ == v.Type() {
				return ks, v, true
			}
		}
	}
	return nil, v, false
}

// newRegistry reads the tags of every kind. It fails on a tag the spec
// language cannot honour: a programming error in the kind list.
func newRegistry(kinds []Kind) (*registry, error) {
	r := &registry{byName: map[string]*kindSpec{}, byType: map[reflect.Type][]*kindSpec{}}
	for _, k := range kinds {
		if k.Proto == nil {
			return nil, fmt.Errorf("kind %q: Proto is nil", k.Name)
		}
		if !isWord(k.Name) {
			return nil, fmt.Errorf("kind %q: name is not a word", k.Name)
		}
		t := reflect.TypeOf(k.Proto)
		ptr := false
		if t.Kind() == reflect.Pointer {
			if reflect.ValueOf(k.Proto).IsNil() {
				return nil, fmt.Errorf("kind %q: Proto is a nil pointer", k.Name)
			}
			t, ptr = t.Elem(), true
		}
		if t.Kind() != reflect.Struct {
			return nil, fmt.Errorf("kind %q: Proto %v is not a struct or a pointer to one", k.Name, t)
		}
		if _, dup := r.byName[k.Name]; dup {
			return nil, fmt.Errorf("kind %q listed twice", k.Name)
		}
		if others := r.byType[t]; len(others) > 0 {
			if _, ok := k.Proto.(SpecKinder); !ok {
				return nil, fmt.Errorf("kinds %q and %q share the type %v, which has no SpecKind method", others[0].kind.Name, k.Name, t)
			}
		}
		ks := &kindSpec{kind: k, typ: t, ptr: ptr, byName: map[string]int{}, positional: -1}
		r.kinds = append(r.kinds, ks)
		r.byName[k.Name] = ks
		r.byType[t] = append(r.byType[t], ks)
	}
	// Defaults may name other kinds (a schedule default), so read the
	// parameters once every kind is known.
	for _, ks := range r.kinds {
		if err := r.readParams(ks); err != nil {
			return nil, fmt.Errorf("kind %q: %w", ks.kind.Name, err)
		}
	}
	return r, nil
}

func (r *registry) readParams(ks *kindSpec) error {
	t := ks.typ
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("spec")
		if !ok {
			continue
		}
		if !f.IsExported() {
			return fmt.Errorf("field %s has a spec tag but is not exported", f.Name)
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !isWord(name) {
			return fmt.Errorf("field %s: spec name %q is not a word", f.Name, name)
		}
		if name == "kind" {
			return fmt.Errorf("field %s: the name \"kind\" is reserved for the JSON form", f.Name)
		}
		if _, dup := ks.byName[name]; dup {
			return fmt.Errorf("field %s: parameter %q declared twice", f.Name, name)
		}
		pt, ok := paramTypeOf(f.Type)
		if !ok {
			return fmt.Errorf("field %s: type %v is not a spec parameter type", f.Name, f.Type)
		}
		p := param{name: name, field: i, typ: pt, doc: f.Tag.Get("doc")}
		for _, opt := range strings.Split(opts, ",") {
			switch opt {
			case "":
			case "positional":
				if pt != ptSchedule && pt != ptSchedules {
					return fmt.Errorf("field %s: only a schedule or a list of schedules can be positional", f.Name)
				}
				if ks.positional >= 0 {
					return fmt.Errorf("field %s: a second positional parameter", f.Name)
				}
				p.positional = true
				ks.positional = len(ks.params)
			case "path":
				if pt != ptString {
					return fmt.Errorf("field %s: only a string can be a path", f.Name)
				}
				p.path = true
			case "inf":
				if pt != ptFloat {
					return fmt.Errorf("field %s: only a number can allow inf", f.Name)
				}
				p.inf = true
			default:
				return fmt.Errorf("field %s: unknown spec option %q", f.Name, opt)
			}
		}
		if c, ok := f.Tag.Lookup("choices"); ok {
			if pt != ptString {
				return fmt.Errorf("field %s: choices on a %s", f.Name, paramTypeNames[pt])
			}
			p.choices = strings.Split(c, "|")
			for _, w := range p.choices {
				if !isWord(w) {
					return fmt.Errorf("field %s: choice %q is not a word", f.Name, w)
				}
			}
		}
		d, hasDef := f.Tag.Lookup("default")
		if o, ok := ks.kind.Defaults[name]; ok {
			d, hasDef = o, true
		}
		p.required = !hasDef
		if hasDef {
			p.defText = d
			v, err := r.defaultValue(&p, f.Type, d)
			if err != nil {
				return fmt.Errorf("field %s: default %q: %w", f.Name, d, err)
			}
			p.def = v
		}
		ks.byName[name] = len(ks.params)
		ks.params = append(ks.params, p)
	}
	for name := range ks.kind.Defaults {
		if _, ok := ks.byName[name]; !ok {
			return fmt.Errorf("the kind's Defaults name %q, which is not a parameter", name)
		}
	}
	return nil
}

// defaultValue parses a default tag with the spec language itself.
func (r *registry) defaultValue(p *param, t reflect.Type, text string) (reflect.Value, error) {
	if p.typ == ptString && text == "" {
		return reflect.Zero(t), nil
	}
	e, err := ParseExpr("d(" + text + ")")
	if err != nil {
		return reflect.Value{}, err
	}
	if len(e.Args) != 1 || e.Args[0].Key != "" {
		return reflect.Value{}, errors.New("want one value")
	}
	b := builder{reg: r}
	v, serr := b.convert(p, t, e.Args[0].Value, 0)
	if serr != nil {
		return reflect.Value{}, serr
	}
	return v, nil
}

// The registry every parse and format uses: the built-in kinds, read once,
// plus the kinds other packages add with Register (the controllers of
// package control), the way database/sql drivers register. Register
// replaces the registry with a new immutable one, so a parse never sees a
// half-built registry.
var (
	registryMu  sync.Mutex
	registryCur atomic.Pointer[registry]
)

// builtin returns the current registry.
func builtin() *registry {
	if r := registryCur.Load(); r != nil {
		return r
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if r := registryCur.Load(); r != nil {
		return r
	}
	r, err := newRegistry(builtinKinds)
	if err != nil {
		// A bad struct tag is a programming error that the package's
		// tests catch; there is no input that can cause it.
		panic("schedule: " + err.Error())
	}
	registryCur.Store(r)
	return r
}

// Register adds a kind to the spec language, for a package that defines
// kinds of its own (package control registers its controllers in its
// init). Parse, Format, ParseJSON and Kinds see it from then on. Register
// panics when the kind is malformed (a bad struct tag, a missing Proto)
// or its name is taken: both are programming errors, found by the
// registering package's tests.
func Register(k Kind) {
	builtin() // the built-in kinds are in place
	registryMu.Lock()
	defer registryMu.Unlock()
	cur := registryCur.Load()
	kinds := make([]Kind, 0, len(cur.kinds)+1)
	for _, ks := range cur.kinds {
		kinds = append(kinds, ks.kind)
	}
	r, err := newRegistry(append(kinds, k))
	if err != nil {
		panic("schedule: Register: " + err.Error())
	}
	registryCur.Store(r)
}

// Kinds returns every kind of the spec language, in the order `lrkit
// schedules` lists them: the schedules, then the kinds other packages
// registered (the controllers, whose Stateful is true).
func Kinds() []Kind {
	r := builtin()
	out := make([]Kind, len(r.kinds))
	for i, ks := range r.kinds {
		out[i] = ks.kind
	}
	return out
}

// KindNames returns the names of every kind, in Kinds order.
func KindNames() []string {
	r := builtin()
	out := make([]string, len(r.kinds))
	for i, ks := range r.kinds {
		out[i] = ks.kind.Name
	}
	return out
}

// KindOf returns the kind with the given name.
func KindOf(name string) (Kind, bool) {
	ks, ok := builtin().byName[name]
	if !ok {
		return Kind{}, false
	}
	return ks.kind, true
}

// Params lists the parameters of a kind in declaration order, the
// positional one included. A kind outside the spec language is read from
// its struct tags too; Params returns nil when those tags are malformed.
func Params(kind Kind) []ParamInfo {
	r := builtin()
	ks, ok := r.byName[kind.Name]
	if !ok || reflect.TypeOf(ks.kind.Proto) != reflect.TypeOf(kind.Proto) {
		r2, err := newRegistry([]Kind{kind})
		if err != nil {
			return nil
		}
		ks = r2.kinds[0]
	}
	return ks.info()
}

// info lists the parameters for Params.
func (ks *kindSpec) info() []ParamInfo {
	out := make([]ParamInfo, len(ks.params))
	for i, p := range ks.params {
		out[i] = ParamInfo{
			Name: p.name, Type: paramTypeNames[p.typ], Default: p.defText, Required: p.required,
			Choices: append([]string(nil), p.choices...), Doc: p.doc, Positional: p.positional,
		}
		if p.path {
			out[i].Type = "path"
		}
		if len(p.choices) == 0 {
			out[i].Choices = nil
		}
	}
	return out
}

// Parse reads spec text into a validated, prepared schedule:
//
//	s, err := schedule.Parse("wsd(peak=3e-4, steps=10000, warmup=500, decay=0.2, shape=1-sqrt)")
//
// Parameters left out take their defaults. Errors are *SpecError and name
// the line and column: `spec:1:17: unknown parameter "peek" for cosine
// (did you mean "peak"?)`. Parse reads the files a spec names
// (table(file=...)) through a bounded reader; text from an untrusted
// source goes through ParseUntrusted. A stateful kind (a controller) is
// refused: control.Parse reads those.
func Parse(spec string) (Schedule, error) {
	return ParseWith(spec, Options{})
}

// ParseUntrusted is Parse for text from an untrusted source (a request to
// the server, a study file): a spec that names a file is refused, and the
// text and its lists are bounded (MaxUntrustedSpec, MaxUntrustedList).
func ParseUntrusted(spec string) (Schedule, error) {
	return ParseWith(spec, Options{Untrusted: true})
}

// Limits on untrusted spec text.
const (
	MaxUntrustedSpec = 1 << 20 // bytes of spec text
	MaxUntrustedList = 100_000 // elements of one list (a table's points)
)

// Options say how ParseWith reads a spec.
type Options struct {
	// Untrusted refuses file parameters and bounds the text's size (see
	// ParseUntrusted).
	Untrusted bool
	// Stateful accepts a stateful kind (a controller) at the top of the
	// spec. Nested schedules are always stateless.
	Stateful bool
}

// ParseWith reads spec text as Parse does, under the given options.
func ParseWith(spec string, o Options) (Schedule, error) {
	return parseIn(builtin(), spec, o)
}

func parseIn(r *registry, spec string, o Options) (Schedule, error) {
	if o.Untrusted && len(spec) > MaxUntrustedSpec {
		return nil, &SpecError{Pos: Pos{Line: 1, Col: 1}, Msg: fmt.Sprintf("spec is %d bytes; at most %d are accepted here", len(spec), MaxUntrustedSpec)}
	}
	e, err := ParseExpr(spec)
	if err != nil {
		return nil, err
	}
	return buildIn(r, e, o)
}

// BuildExpr turns a parsed call into a validated, prepared schedule. Use
// it on a nested call of an expression read with ParseExpr. Errors are
// *SpecError positioned in the text the expression was read from.
func BuildExpr(e *Expr) (Schedule, error) {
	return BuildExprWith(e, Options{})
}

// BuildExprWith is BuildExpr under the given options.
func BuildExprWith(e *Expr, o Options) (Schedule, error) {
	return buildIn(builtin(), e, o)
}

func buildIn(r *registry, e *Expr, o Options) (Schedule, error) {
	if e == nil {
		return nil, errors.New("schedule: BuildExpr of a nil expression")
	}
	b := builder{reg: r, opts: o}
	s, err := b.build(e, 0)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// builder turns calls into schedules.
type builder struct {
	reg  *registry
	opts Options
}

// build makes the schedule of a call: defaults, then the arguments, then
// Validate and Prepare.
func (b builder) build(e *Expr, depth int) (Schedule, *SpecError) {
	if depth > maxDepth {
		return nil, errorAt(e.Pos, "spec nested too deeply (more than %d levels)", maxDepth)
	}
	ks, ok := b.reg.byName[e.Name]
	if !ok {
		what := "schedule"
		if b.opts.Stateful && depth == 0 {
			what = "schedule or controller"
		}
		return nil, errorAt(e.Pos, "unknown %s %q%s", what, e.Name, b.reg.kindHint(e.Name, b.opts.Stateful && depth == 0))
	}
	if ks.kind.Stateful && (depth > 0 || !b.opts.Stateful) {
		where := "here, where a schedule (a pure function of the step) is wanted"
		if depth > 0 {
			where = "inside another schedule"
		}
		return nil, errorAt(e.Pos, "%s is a controller (it learns from the run) and cannot stand %s; a trainer or the server takes it as the whole spec", e.Name, where)
	}
	pv := reflect.New(ks.typ)
	v := pv.Elem()
	proto := reflect.ValueOf(ks.kind.Proto)
	if ks.ptr {
		proto = proto.Elem()
	}
	v.Set(proto) // the kind's preset fields, if any
	for _, p := range ks.params {
		if !p.required {
			v.Field(p.field).Set(p.def)
		}
	}
	given := make([]*Arg, len(ks.params))
	for i := range e.Args {
		a := &e.Args[i]
		idx, err := b.argParam(ks, e, i)
		if err != nil {
			return nil, err
		}
		p := &ks.params[idx]
		if prev := given[idx]; prev != nil {
			return nil, errorAt(a.KeyPos, "%s given twice in %s (first at %s)", p.name, e.Name, prev.KeyPos)
		}
		given[idx] = a
		fv, err := b.convert(p, v.Field(p.field).Type(), a.Value, depth)
		if err != nil {
			return nil, err
		}
		v.Field(p.field).Set(fv)
	}
	for i, p := range ks.params {
		if p.required && given[i] == nil {
			msg := fmt.Sprintf("%s needs %s", e.Name, p.name)
			if p.doc != "" {
				msg += " (" + p.doc + ")"
			}
			return nil, &SpecError{Pos: e.Pos, Msg: msg}
		}
	}
	var s Schedule
	if ks.ptr {
		s = pv.Interface().(Schedule)
	} else {
		s = v.Interface().(Schedule)
	}
	if val, ok := s.(Validator); ok {
		if err := val.Validate(); err != nil {
			return nil, b.scheduleErr(ks, e, given, err)
		}
	}
	if pr, ok := s.(Preparer); ok {
		ps, err := pr.Prepare()
		if err != nil {
			return nil, b.scheduleErr(ks, e, given, err)
		}
		s = ps
	}
	return s, nil
}

// argParam finds the parameter that argument i of e sets.
func (b builder) argParam(ks *kindSpec, e *Expr, i int) (int, *SpecError) {
	a := e.Args[i]
	if a.Key == "" {
		if ks.positional < 0 {
			return 0, errorAt(a.KeyPos, "%s has no unnamed parameter: write name=value (parameters: %s)", e.Name, ks.paramList())
		}
		if i != 0 {
			return 0, errorAt(a.KeyPos, "only the first argument of %s may be unnamed: write name=value", e.Name)
		}
		return ks.positional, nil
	}
	idx, ok := ks.byName[a.Key]
	if !ok {
		return 0, errorAt(a.KeyPos, "unknown parameter %q for %s%s", a.Key, e.Name, ks.paramHint(a.Key))
	}
	return idx, nil
}

// scheduleErr positions an error from Validate or Prepare: at the value of
// the parameter a *ParamError names, or at the call.
func (b builder) scheduleErr(ks *kindSpec, e *Expr, given []*Arg, err error) *SpecError {
	pe, ok := err.(*ParamError)
	if !ok {
		return &SpecError{Pos: e.Pos, Msg: e.Name + ": " + err.Error(), Err: err}
	}
	name, index := splitIndex(pe.Param)
	if idx, ok := ks.byName[name]; ok && given[idx] != nil {
		v := given[idx].Value
		if index >= 0 && v.Kind == ListValue && index < len(v.List) {
			v = v.List[index]
		}
		if v.Pos.Path != "" {
			return &SpecError{Pos: v.Pos, Msg: pe.Msg, Err: err}
		}
		return &SpecError{Pos: v.Pos, Msg: pe.Error(), Err: err}
	}
	if e.Pos.Path != "" {
		return &SpecError{Pos: Pos{Path: e.Pos.Path + "." + pe.Param}, Msg: pe.Msg, Err: err}
	}
	return &SpecError{Pos: e.Pos, Msg: pe.Error(), Err: err}
}

// splitIndex splits "parts[2]" into "parts" and 2; index is -1 without one.
func splitIndex(s string) (string, int) {
	open := strings.IndexByte(s, '[')
	if open < 0 || !strings.HasSuffix(s, "]") {
		return s, -1
	}
	n, err := strconv.Atoi(s[open+1 : len(s)-1])
	if err != nil {
		return s, -1
	}
	return s[:open], n
}

// elem names element i of a list parameter, or the parameter when i < 0.
type elem struct {
	name string
	i    int
}

func (e elem) String() string {
	if e.i < 0 {
		return e.name
	}
	return fmt.Sprintf("%s[%d]", e.name, e.i)
}

// valueErr reports a bad value of a parameter or list element.
func valueErr(v Value, name elem, format string, args ...any) *SpecError {
	msg := fmt.Sprintf(format, args...)
	if v.Pos.Path != "" {
		return &SpecError{Pos: v.Pos, Msg: msg}
	}
	return &SpecError{Pos: v.Pos, Msg: name.String() + ": " + msg}
}

// convert turns a value into the Go value of parameter p; depth is the
// nesting depth of the call that holds it.
func (b builder) convert(p *param, t reflect.Type, v Value, depth int) (reflect.Value, *SpecError) {
	out := reflect.New(t).Elem()
	name := elem{p.name, -1}
	switch p.typ {
	case ptFloat:
		f, err := floatValue(v, name, p.inf)
		if err != nil {
			return out, err
		}
		out.SetFloat(f)
	case ptInt:
		n, err := intValue(v, name, p.doc)
		if err != nil {
			return out, err
		}
		out.SetInt(n)
	case ptBool:
		if v.Kind != WordValue || (v.Text != "true" && v.Text != "false") {
			return out, valueErr(v, name, "want true or false, got %s", v.describe())
		}
		out.SetBool(v.Text == "true")
	case ptString:
		if v.Kind != WordValue && v.Kind != StringValue && v.Kind != NumberValue {
			return out, valueErr(v, name, "want a word or a quoted string, got %s", v.describe())
		}
		if len(p.choices) > 0 && !contains(p.choices, v.Text) {
			hint := ""
			if s := textmatch.Suggest(v.Text, p.choices); s != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", s)
			}
			return out, valueErr(v, name, "want one of %s, got %s%s", strings.Join(p.choices, ", "), v.describe(), hint)
		}
		if p.path && v.Text != "" && b.opts.Untrusted {
			return out, valueErr(v, name, "naming a file is not allowed in a spec from this source (no file is read for it); give the values inline")
		}
		out.SetString(v.Text)
	case ptLength:
		l, err := lengthValue(v, name)
		if err != nil {
			return out, err
		}
		out.Set(reflect.ValueOf(l))
	case ptFloats, ptInts:
		if v.Kind != ListValue {
			return out, valueErr(v, name, "want a list such as [1, 2, 3], got %s", v.describe())
		}
		if len(v.List) == 0 {
			return out, nil // nil: an empty list is the zero value
		}
		if b.opts.Untrusted && len(v.List) > MaxUntrustedList {
			return out, valueErr(v, name, "list has %d elements; at most %d are accepted here", len(v.List), MaxUntrustedList)
		}
		out = reflect.MakeSlice(t, len(v.List), len(v.List))
		for i, e := range v.List {
			name := elem{p.name, i}
			if p.typ == ptFloats {
				f, err := floatValue(e, name, false)
				if err != nil {
					return out, err
				}
				out.Index(i).SetFloat(f)
			} else {
				n, err := intValue(e, name, p.doc)
				if err != nil {
					return out, err
				}
				out.Index(i).SetInt(n)
			}
		}
	case ptSchedule:
		s, err := b.scheduleValue(v, name, depth)
		if err != nil {
			return out, err
		}
		out.Set(reflect.ValueOf(&s).Elem())
	case ptSchedules:
		if v.Kind != ListValue {
			return out, valueErr(v, name, "want a list of schedules such as [constant(), cosine(steps=100)], got %s", v.describe())
		}
		if len(v.List) == 0 {
			return out, nil
		}
		out = reflect.MakeSlice(t, len(v.List), len(v.List))
		for i, e := range v.List {
			s, err := b.scheduleValue(e, elem{p.name, i}, depth)
			if err != nil {
				return out, err
			}
			out.Index(i).Set(reflect.ValueOf(&s).Elem())
		}
	}
	return out, nil
}

func (b builder) scheduleValue(v Value, name elem, depth int) (Schedule, *SpecError) {
	if v.Kind != CallValue {
		hint := ""
		if v.Kind == WordValue {
			if _, ok := b.reg.byName[v.Text]; ok {
				hint = fmt.Sprintf(" (write %s(...))", v.Text)
			}
		}
		return nil, valueErr(v, name, "want a schedule such as cosine(steps=100), got %s%s", v.describe(), hint)
	}
	return b.build(v.Call, depth+1)
}

// floatValue reads a finite number, or with inf also inf and -inf.
func floatValue(v Value, name elem, inf bool) (float64, *SpecError) {
	if v.Kind == WordValue || (inf && v.Kind == StringValue) {
		w := strings.ToLower(v.Text)
		switch strings.TrimLeft(w, "+-") {
		case "inf", "infinity":
			if inf {
				if strings.HasPrefix(w, "-") {
					return math.Inf(-1), nil
				}
				return math.Inf(1), nil
			}
			return 0, valueErr(v, name, "want a finite number, got %s (NaN and infinities are not allowed)", v.Text)
		case "nan":
			return 0, valueErr(v, name, "want a finite number, got %s (NaN and infinities are not allowed)", v.Text)
		}
	}
	if v.Kind != NumberValue {
		return 0, valueErr(v, name, "want a number, got %s", v.describe())
	}
	f, err := strconv.ParseFloat(v.Text, 64)
	if err != nil || !isFinite(f) {
		return 0, valueErr(v, name, "number %s is out of range", v.Text)
	}
	return f, nil
}

// intValue reads an integer literal.
func intValue(v Value, name elem, doc string) (int64, *SpecError) {
	if v.Kind != NumberValue || !isInteger(v.Text) {
		what := "an integer"
		if strings.Contains(name.name, "step") || strings.Contains(doc, "step") {
			what = "an integer step count"
		}
		hint := ""
		if v.Kind == NumberValue {
			if f, err := strconv.ParseFloat(v.Text, 64); err == nil && f == float64(int64(f)) && f >= -1<<53 && f <= 1<<53 {
				hint = fmt.Sprintf(" (write %d)", int64(f))
			}
		}
		return 0, valueErr(v, name, "want %s, got %s%s", what, v.describe(), hint)
	}
	n, err := strconv.ParseInt(v.Text, 10, 64)
	if err != nil {
		return 0, valueErr(v, name, "integer %s is out of range", v.Text)
	}
	return n, nil
}

// lengthValue reads a step count (an integer) or a fraction in [0, 1]
// (a literal with a point or an exponent).
func lengthValue(v Value, name elem) (Length, *SpecError) {
	if v.Kind != NumberValue {
		return Length{}, valueErr(v, name, "want a step count such as 500 or a fraction such as 0.05, got %s", v.describe())
	}
	if isInteger(v.Text) {
		n, err := intValue(v, name, "")
		if err != nil {
			return Length{}, err
		}
		return Steps(n), nil
	}
	f, err := strconv.ParseFloat(v.Text, 64)
	if err != nil || !(f >= 0 && f <= 1) {
		return Length{}, valueErr(v, name, "a fraction must be in [0, 1], got %s (write an integer for a step count)", v.Text)
	}
	return Fraction(f), nil
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// kindHint suggests a kind name close to name, among the stateless
// kinds, or every kind when stateful ones are accepted.
func (r *registry) kindHint(name string, stateful bool) string {
	var names []string
	for _, ks := range r.kinds {
		if stateful || !ks.kind.Stateful {
			names = append(names, ks.kind.Name)
		}
	}
	if s := textmatch.Suggest(name, names); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return " (`lrkit schedules` lists them)"
}

// paramHint suggests a parameter name close to name, or lists them all.
func (ks *kindSpec) paramHint(name string) string {
	names := make([]string, len(ks.params))
	for i, p := range ks.params {
		names[i] = p.name
	}
	if s := textmatch.Suggest(name, names); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return " (parameters: " + ks.paramList() + ")"
}

func (ks *kindSpec) paramList() string {
	names := make([]string, len(ks.params))
	for i, p := range ks.params {
		names[i] = p.name
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
