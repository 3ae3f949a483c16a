package schedule

import (
	"fmt"
	"github.com/lrkit/lrkit/internal/textmatch"
	"reflect"
	"sort"
	"strings"
)

// parityParam is the parameter that selects a library's behaviour.
const parityParam = "parity"

// WithParity returns a copy of s in which every schedule, nested ones
// included, that has a parity parameter is set to the given library's
// behaviour, validated and prepared again:
//
//	s, _ := schedule.Parse("warmup(cosine(steps=100), steps=10)")
//	p, _ := schedule.WithParity(s, "pytorch") // warmup(cosine(steps=100, parity=pytorch), steps=10)
//
// A kind has a parity parameter exactly when the libraries disagree about
// it; a kind without one (step, multistep, linear, ...) already computes
// what every library that has it computes, and is left as it is. WithParity
// fails when no kind knows the value, and when s holds a kind whose
// libraries disagree but whose parity parameter cannot reproduce the one
// asked for (onecycle has no Hugging Face form), so a request for a
// library's behaviour is never silently ignored. "none" restores lrkit's
// own rules.
func WithParity(s Schedule, parity string) (Schedule, error) {
	r := builtin()
	known := r.parityChoices()
	if !contains(known, parity) {
		hint := ""
		if g := textmatch.Suggest(parity, known); g != "" {
			hint = fmt.Sprintf(" (did you mean %q?)", g)
		}
		return nil, fmt.Errorf("unknown parity %q%s: want one of %s", parity, hint, strings.Join(known, ", "))
	}
	if ks, _, ok := r.kindOf(s); !ok || ks.kind.Stateful {
		return nil, fmt.Errorf("parity %s: %s is not a schedule of the spec language", parity, s)
	}
	changed := 0
	return r.withParity(s, parity, &changed, 0)
}

// parityChoices lists every value a parity parameter of any kind accepts.
func (r *registry) parityChoices() []string {
	set := map[string]bool{}
	for _, ks := range r.kinds {
		if i, ok := ks.byName[parityParam]; ok {
			for _, c := range ks.params[i].choices {
				set[c] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// parityKinds names the kinds that offer a parity value.
func (r *registry) parityKinds(parity string) string {
	var names []string
	for _, ks := range r.kinds {
		if i, ok := ks.byName[parityParam]; ok && contains(ks.params[i].choices, parity) {
			names = append(names, ks.kind.Name)
		}
	}
	return "kinds that offer it: " + strings.Join(names, ", ")
}

func (r *registry) withParity(s Schedule, parity string, changed *int, depth int) (Schedule, error) {
	if s == nil || depth > formatDepth {
		return s, nil
	}
	v := reflect.ValueOf(s)
	ks, _, ok := r.kindOf(s)
	if !ok || ks.ptr {
		return s, nil
	}
	cp := reflect.New(ks.typ).Elem()
	cp.Set(v)
	touched := false
	for i := range ks.params {
		p := &ks.params[i]
		f := cp.Field(p.field)
		switch {
		case p.name == parityParam && p.typ == ptString:
			if !contains(p.choices, parity) {
				return nil, fmt.Errorf("parity %s: %s cannot reproduce it (its parity is one of %s; %s)",
					parity, ks.kind.Name, strings.Join(p.choices, ", "), r.parityKinds(parity))
			}
			*changed++
			if f.String() != parity {
				f.SetString(parity)
				touched = true
			}
		case p.typ == ptSchedule:
			child, _ := f.Interface().(Schedule)
			n, err := r.withParity(child, parity, changed, depth+1)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.name, err)
			}
			if n != nil && !reflect.DeepEqual(n, child) {
				f.Set(reflect.ValueOf(&n).Elem())
				touched = true
			}
		case p.typ == ptSchedules:
			list := reflect.MakeSlice(f.Type(), f.Len(), f.Len())
			same := true
			for j := 0; j < f.Len(); j++ {
				child, _ := f.Index(j).Interface().(Schedule)
				n, err := r.withParity(child, parity, changed, depth+1)
				if err != nil {
					return nil, fmt.Errorf("%s[%d]: %w", p.name, j, err)
				}
				if n != nil {
					list.Index(j).Set(reflect.ValueOf(&n).Elem())
				}
				same = same && reflect.DeepEqual(n, child)
			}
			if !same {
				f.Set(list)
				touched = true
			}
		}
	}
	if !touched {
		return s, nil
	}
	out, err := New(cp.Interface().(Schedule))
	if err != nil {
		return nil, fmt.Errorf("%s with parity %s: %w", ks.kind.Name, parity, err)
	}
	return out, nil
}
