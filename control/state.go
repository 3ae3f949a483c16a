package control

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// jfloat is a float64 that survives JSON with its infinities and NaN:
// finite values are numbers, the others the strings "inf", "-inf", "nan".
// Controller states use it for values such as PyTorch's initial best = +∞.
type jfloat float64

func (f jfloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"nan"`), nil
	case math.IsInf(v, 1):
		return []byte(`"inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-inf"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

func (f *jfloat) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		switch s {
		case "nan":
			*f = jfloat(math.NaN())
		case "inf":
			*f = jfloat(math.Inf(1))
		case "-inf":
			*f = jfloat(math.Inf(-1))
		default:
			return fmt.Errorf("number expected, got %q", s)
		}
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("number expected, got %s", b)
	}
	*f = jfloat(v)
	return nil
}

// restoreJSON decodes a controller state strictly: unknown fields are an
// error, so a state from another controller kind is refused.
func restoreJSON(kind string, data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: restore state: %w", kind, err)
	}
	return nil
}
