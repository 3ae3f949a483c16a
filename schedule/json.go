package schedule

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
)

// The JSON form of a schedule is an object with its kind and the same
// parameters as the canonical text, in the same order, defaults left out:
//
//	{"kind":"wsd","peak":0.0003,"steps":10000,"warmup":500,"decay":0.2,"shape":"1-sqrt"}
//
// Nested schedules are nested objects, lists are arrays, words and strings
// are JSON strings, booleans are true and false. The positional parameter
// is written under its name ("base", "parts"). A Length keeps count versus
// fraction through the number's text: 500 is a count, 0.05 and 1.0 are
// fractions.

// ToJSON returns the JSON form of a schedule. It fails for a schedule
// whose type is not a kind of the spec language (a Func, say).
func ToJSON(s Schedule) ([]byte, error) {
	var buf bytes.Buffer
	if err := builtin().writeJSON(&buf, s, "$", 0); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (r *registry) writeJSON(buf *bytes.Buffer, s Schedule, path string, depth int) error {
	if s == nil {
		return fmt.Errorf("schedule: ToJSON: %s is a nil schedule", path)
	}
	ks, v, ok := r.kindOf(s)
	if !ok {
		return fmt.Errorf("schedule: ToJSON: %s: %T is not a kind of the spec language", path, s)
	}
	if depth > formatDepth {
		return fmt.Errorf("schedule: ToJSON: %s: nested too deeply", path)
	}
	buf.WriteString(`{"kind":`)
	writeJSONString(buf, ks.kind.Name)
	write := func(p *param) error {
		buf.WriteByte(',')
		writeJSONString(buf, p.name)
		buf.WriteByte(':')
		return r.writeJSONParam(buf, p, v.Field(p.field), path+"."+p.name, depth)
	}
	if ks.positional >= 0 {
		if err := write(&ks.params[ks.positional]); err != nil {
			return err
		}
	}
	for i := range ks.params {
		p := &ks.params[i]
		if p.positional || (!p.required && sameValue(p, v.Field(p.field), p.def)) {
			continue
		}
		if err := write(p); err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}

func (r *registry) writeJSONParam(buf *bytes.Buffer, p *param, v reflect.Value, path string, depth int) error {
	switch p.typ {
	case ptFloat:
		return writeJSONFloat(buf, v.Float(), path)
	case ptInt:
		buf.WriteString(strconv.FormatInt(v.Int(), 10))
	case ptBool:
		buf.WriteString(strconv.FormatBool(v.Bool()))
	case ptString:
		writeJSONString(buf, v.String())
	case ptLength:
		l := v.Interface().(Length)
		if l.IsFrac && !isFinite(l.Frac) {
			return fmt.Errorf("schedule: ToJSON: %s: %v is not a JSON number", path, l.Frac)
		}
		buf.WriteString(l.String())
	case ptSchedule:
		s, _ := v.Interface().(Schedule)
		return r.writeJSON(buf, s, path, depth+1)
	case ptFloats, ptInts, ptSchedules:
		buf.WriteByte('[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				buf.WriteByte(',')
			}
			e := v.Index(i)
			ep := fmt.Sprintf("%s[%d]", path, i)
			switch p.typ {
			case ptFloats:
				if err := writeJSONFloat(buf, e.Float(), ep); err != nil {
					return err
				}
			case ptInts:
				buf.WriteString(strconv.FormatInt(e.Int(), 10))
			default:
				s, _ := e.Interface().(Schedule)
				if err := r.writeJSON(buf, s, ep, depth+1); err != nil {
					return err
				}
			}
		}
		buf.WriteByte(']')
	}
	return nil
}

func writeJSONFloat(buf *bytes.Buffer, f float64, path string) error {
	if !isFinite(f) {
		return fmt.Errorf("schedule: ToJSON: %s: %v is not a JSON number", path, f)
	}
	buf.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	return nil
}

func writeJSONString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s) // a string always marshals
	buf.Write(b)
}

// ParseJSON reads the JSON form of a schedule into a validated, prepared
// schedule, like Parse does for text. Errors are *SpecError whose position
// is the JSON path of the bad value: `$.base.steps: want an integer step
// count, got 0.5`.
func ParseJSON(data []byte) (Schedule, error) {
	return ParseJSONWith(data, Options{})
}

// ParseJSONWith is ParseJSON under the given options.
func ParseJSONWith(data []byte, o Options) (Schedule, error) {
	if o.Untrusted && len(data) > MaxUntrustedSpec {
		return nil, &SpecError{Pos: Pos{Path: "$"}, Msg: fmt.Sprintf("JSON spec is %d bytes; at most %d are accepted here", len(data), MaxUntrustedSpec)}
	}
	e, err := exprFromJSON(data)
	if err != nil {
		return nil, err
	}
	return BuildExprWith(e, o)
}

// exprFromJSON turns a JSON object into the call it stands for, each value
// positioned by its JSON path, so that BuildExpr's checks and messages
// apply unchanged.
func exprFromJSON(data []byte) (*Expr, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	jr := jsonReader{d: d}
	v, err := jr.value("$", 0)
	if err != nil {
		return nil, err
	}
	if v.Kind != CallValue {
		return nil, &SpecError{Pos: Pos{Path: "$"}, Msg: "want a JSON object such as {\"kind\":\"cosine\",\"steps\":1000}"}
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, &SpecError{Pos: Pos{Path: "$"}, Msg: "unexpected data after the JSON object"}
	}
	return v.Call, nil
}

type jsonReader struct {
	d *json.Decoder
}

func (jr *jsonReader) syntaxErr(path string, err error) error {
	if err == io.EOF {
		return &SpecError{Pos: Pos{Path: path}, Msg: "unexpected end of JSON", Err: err}
	}
	return &SpecError{Pos: Pos{Path: path}, Msg: fmt.Sprintf("invalid JSON at byte %d: %v", jr.d.InputOffset(), err), Err: err}
}

// value reads one JSON value; objects become calls, arrays lists.
func (jr *jsonReader) value(path string, depth int) (Value, error) {
	if depth > maxDepth {
		return Value{}, &SpecError{Pos: Pos{Path: path}, Msg: fmt.Sprintf("nested too deeply (more than %d levels)", maxDepth)}
	}
	tok, err := jr.d.Token()
	if err != nil {
		return Value{}, jr.syntaxErr(path, err)
	}
	pos := Pos{Path: path}
	switch t := tok.(type) {
	case json.Number:
		return Value{Kind: NumberValue, Pos: pos, Text: string(t)}, nil
	case string:
		return Value{Kind: StringValue, Pos: pos, Text: t}, nil
	case bool:
		return Value{Kind: WordValue, Pos: pos, Text: strconv.FormatBool(t)}, nil
	case nil:
		return Value{}, &SpecError{Pos: pos, Msg: "null is not a value: leave the key out to get its default"}
	case json.Delim:
		switch t {
		case '[':
			v := Value{Kind: ListValue, Pos: pos}
			for i := 0; jr.d.More(); i++ {
				e, err := jr.value(fmt.Sprintf("%s[%d]", path, i), depth+1)
				if err != nil {
					return Value{}, err
				}
				v.List = append(v.List, e)
			}
			if _, err := jr.d.Token(); err != nil {
				return Value{}, jr.syntaxErr(path, err)
			}
			return v, nil
		case '{':
			c, err := jr.object(path, depth)
			if err != nil {
				return Value{}, err
			}
			return Value{Kind: CallValue, Pos: pos, Call: c}, nil
		}
	}
	return Value{}, &SpecError{Pos: pos, Msg: fmt.Sprintf("unexpected JSON token %v", tok)}
}

// object reads the members of an object after its "{".
func (jr *jsonReader) object(path string, depth int) (*Expr, error) {
	e := &Expr{Pos: Pos{Path: path}}
	seen := map[string]bool{}
	hasKind := false
	for jr.d.More() {
		tok, err := jr.d.Token()
		if err != nil {
			return nil, jr.syntaxErr(path, err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, jr.syntaxErr(path, errors.New("object key is not a string"))
		}
		kp := path + "." + key
		if seen[key] {
			return nil, &SpecError{Pos: Pos{Path: kp}, Msg: fmt.Sprintf("key %q given twice", key)}
		}
		seen[key] = true
		v, err := jr.value(kp, depth+1)
		if err != nil {
			return nil, err
		}
		if key == "kind" {
			if v.Kind != StringValue {
				return nil, &SpecError{Pos: Pos{Path: kp}, Msg: fmt.Sprintf("want the schedule name as a string, got %s", v.describe())}
			}
			e.Name = v.Text
			hasKind = true
			continue
		}
		e.Args = append(e.Args, Arg{Key: key, KeyPos: Pos{Path: kp}, Value: v})
	}
	if _, err := jr.d.Token(); err != nil {
		return nil, jr.syntaxErr(path, err)
	}
	if !hasKind {
		return nil, &SpecError{Pos: Pos{Path: path}, Msg: "missing \"kind\": name the schedule, as in {\"kind\":\"cosine\",\"steps\":1000}"}
	}
	return e, nil
}
