package runlog

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Num is a float64 that survives JSON with NaN and the infinities, written
// as run logs write them: finite values as numbers, the others as the
// strings "NaN", "Infinity" and "-Infinity". Controller states (a best
// loss of +∞) and benchmark results (a diverged trial's NaN metric) use
// it. It also reads the forms older lrkit files hold: null for NaN, and
// "nan", "inf", "+Inf", "-inf", "-Inf".
type Num float64

// MarshalJSON writes n.
func (n Num) MarshalJSON() ([]byte, error) {
	v := float64(n)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// UnmarshalJSON reads what MarshalJSON writes, and the older forms.
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		switch s {
		case "NaN", "nan":
			*n = Num(math.NaN())
		case "Infinity", "inf", "+Inf":
			*n = Num(math.Inf(1))
		case "-Infinity", "-inf", "-Inf":
			*n = Num(math.Inf(-1))
		default:
			return fmt.Errorf("number expected, got %q", s)
		}
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("number expected, got %s", b)
	}
	*n = Num(v)
	return nil
}
