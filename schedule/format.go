package schedule

import (
	"reflect"
	"strconv"
)

// Format returns the canonical spec text of a schedule: its kind name,
// then its parameters in declaration order with the positional one first
// and unnamed, leaving out every parameter whose value equals its default
// (required ones are always written):
//
//	wsd(peak=0.0003, steps=10000, warmup=500, decay=0.2, shape=1-sqrt)
//
// Numbers are the shortest text that reads back to the same float64, a
// Length is written as a count (500) or a fraction (0.05, 1.0) as it was
// given, lists as [1, 2, 3], strings bare when they are words and quoted
// otherwise, and nested schedules recursively. Parse(Format(s)) equals s.
//
// A schedule whose type is not a kind of the spec language (a Func, say)
// is written as its own String, which Parse does not accept.
func Format(s Schedule) string {
	return string(builtin().appendSchedule(nil, s, 0))
}

// formatDepth bounds the nesting Format follows, against cycles through
// pointers in user types.
const formatDepth = 100

func (r *registry) appendSchedule(b []byte, s Schedule, depth int) []byte {
	if s == nil {
		return append(b, "nil"...)
	}
	ks, v, ok := r.kindOf(s)
	if !ok && v.Kind() == reflect.Pointer {
		return append(b, "nil"...)
	}
	if !ok {
		if hasSpecTags(v.Type()) {
			// A parameter struct that is not registered: its String most
			// likely calls Format, so do not call it back.
			return append(b, "unregistered("+v.Type().String()+")"...)
		}
		return append(b, s.String()...)
	}
	if depth > formatDepth {
		return append(b, "..."...)
	}
	b = append(b, ks.kind.Name...)
	b = append(b, '(')
	n := 0
	write := func(p *param, named bool) {
		if n > 0 {
			b = append(b, ", "...)
		}
		n++
		if named {
			b = append(b, p.name...)
			b = append(b, '=')
		}
		b = r.appendParam(b, p, v.Field(p.field), depth)
	}
	if ks.positional >= 0 {
		write(&ks.params[ks.positional], false)
	}
	for i := range ks.params {
		p := &ks.params[i]
		if p.positional {
			continue
		}
		if !p.required && sameValue(p, v.Field(p.field), p.def) {
			continue
		}
		write(p, true)
	}
	return append(b, ')')
}

func hasSpecTags(t reflect.Type) bool {
	if t.Kind() != reflect.Struct {
		return false
	}
	for i := 0; i < t.NumField(); i++ {
		if _, ok := t.Field(i).Tag.Lookup("spec"); ok {
			return true
		}
	}
	return false
}

// sameValue reports whether a field holds its default. Lists compare by
// their elements, so nil and an empty list are the same; an empty word in
// a field with choices means its default (the schedules treat it so, for
// struct literals that leave the field out).
func sameValue(p *param, v, def reflect.Value) bool {
	switch p.typ {
	case ptString:
		return v.String() == def.String() || (len(p.choices) > 0 && v.String() == "")
	case ptFloats, ptInts, ptSchedules:
		if v.Len() != def.Len() {
			return false
		}
		for i := 0; i < v.Len(); i++ {
			if !reflect.DeepEqual(v.Index(i).Interface(), def.Index(i).Interface()) {
				return false
			}
		}
		return true
	case ptFloat:
		return v.Float() == def.Float()
	}
	return reflect.DeepEqual(v.Interface(), def.Interface())
}

func (r *registry) appendParam(b []byte, p *param, v reflect.Value, depth int) []byte {
	switch p.typ {
	case ptFloat:
		return strconv.AppendFloat(b, v.Float(), 'g', -1, 64)
	case ptInt:
		return strconv.AppendInt(b, v.Int(), 10)
	case ptBool:
		return strconv.AppendBool(b, v.Bool())
	case ptString:
		return appendWord(b, v.String())
	case ptLength:
		return append(b, v.Interface().(Length).String()...)
	case ptSchedule:
		s, _ := v.Interface().(Schedule)
		return r.appendSchedule(b, s, depth+1)
	case ptFloats, ptInts, ptSchedules:
		b = append(b, '[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b = append(b, ", "...)
			}
			e := v.Index(i)
			switch p.typ {
			case ptFloats:
				b = strconv.AppendFloat(b, e.Float(), 'g', -1, 64)
			case ptInts:
				b = strconv.AppendInt(b, e.Int(), 10)
			default:
				s, _ := e.Interface().(Schedule)
				b = r.appendSchedule(b, s, depth+1)
			}
		}
		return append(b, ']')
	}
	return b
}
