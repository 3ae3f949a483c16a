package schedule

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The declarations B's parser and `lrkit schedules` read: every exported
// field is a documented parameter, choices include their default, and the
// kinds the spec marks as unverified say so.
func TestKindDeclarations(t *testing.T) {
	names := map[string]bool{}
	for _, k := range builtinKinds {
		if names[k.Name] {
			t.Errorf("kind %s listed twice", k.Name)
		}
		names[k.Name] = true
		if k.Summary == "" || k.Source == "" {
			t.Errorf("%s: missing summary or source", k.Name)
		}
		typ := reflect.TypeOf(k.Proto)
		if typ.Kind() != reflect.Struct {
			t.Errorf("%s: Proto is %s, want a struct value", k.Name, typ)
			continue
		}
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			if !f.IsExported() {
				continue
			}
			spec, ok := f.Tag.Lookup("spec")
			if !ok || spec == "" {
				t.Errorf("%s.%s: no spec tag", k.Name, f.Name)
			}
			if f.Tag.Get("doc") == "" {
				t.Errorf("%s.%s: no doc tag", k.Name, f.Name)
			}
			if ch := f.Tag.Get("choices"); ch != "" {
				def, ok := f.Tag.Lookup("default")
				words := strings.Split(ch, "|")
				if !ok || words[0] != def {
					t.Errorf("%s.%s: default %q must be the first choice of %q (an empty string means the first)", k.Name, f.Name, def, ch)
				}
			}
		}
	}
	for _, name := range []string{"uba", "damped_cosine", "wsdc", "slow_start_fast_decay", "power", "wsds", "rex", "defazio", "infinite"} {
		k := kindByName(name)
		if k == nil {
			t.Errorf("kind %s missing", name)
			continue
		}
		if k.Unverified == "" {
			t.Errorf("%s: the spec marks parts of it unverified; say which in Unverified", name)
		}
	}
}

func kindByName(name string) *Kind {
	i := slices.IndexFunc(builtinKinds, func(k Kind) bool { return k.Name == name })
	if i < 0 {
		return nil
	}
	return &builtinKinds[i]
}

// An empty word field means its default word, so Go struct literals need
// not spell out shape, mode or parity.
func TestEmptyWordMeansDefault(t *testing.T) {
	for _, c := range propCases() {
		v := reflect.ValueOf(c.s)
		typ := v.Type()
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			ch := f.Tag.Get("choices")
			if ch == "" || v.Field(i).String() != f.Tag.Get("default") {
				continue
			}
			empty := reflect.New(typ).Elem()
			empty.Set(v)
			empty.Field(i).SetString("")
			a := mustNew(t, c.s)
			b := mustNew(t, empty.Interface().(Schedule))
			for st := int64(0); st <= 2500; st += 7 {
				if a.LR(st) != b.LR(st) {
					t.Errorf("%s: %s=\"\" gives LR(%d) = %g, %s=%s gives %g", c.name, f.Tag.Get("spec"), st, b.LR(st), f.Tag.Get("spec"), f.Tag.Get("default"), a.LR(st))
					break
				}
			}
		}
	}
}
