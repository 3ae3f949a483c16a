package runlog

import (
	"encoding/json"
	"math"
	"testing"
)

func TestNumJSON(t *testing.T) {
	tests := []struct {
		v    float64
		text string
	}{
		{1.5, "1.5"}, {0, "0"}, {-2e-300, "-2e-300"},
		{math.NaN(), `"NaN"`}, {math.Inf(1), `"Infinity"`}, {math.Inf(-1), `"-Infinity"`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(Num(tt.v))
		if err != nil || string(b) != tt.text {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tt.v, b, err, tt.text)
		}
		var back Num
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !(float64(back) == tt.v || math.IsNaN(tt.v) && math.IsNaN(float64(back))) {
			t.Errorf("round trip of %v gave %v", tt.v, back)
		}
	}
	// Older forms still read.
	legacy := map[string]float64{"null": math.NaN(), `"nan"`: math.NaN(), `"inf"`: math.Inf(1), `"+Inf"`: math.Inf(1),
		`"-inf"`: math.Inf(-1), `"-Inf"`: math.Inf(-1)}
	for text, want := range legacy {
		var n Num
		if err := json.Unmarshal([]byte(text), &n); err != nil {
			t.Errorf("Unmarshal(%s): %v", text, err)
			continue
		}
		if !(float64(n) == want || math.IsNaN(want) && math.IsNaN(float64(n))) {
			t.Errorf("Unmarshal(%s) = %v, want %v", text, n, want)
		}
	}
	var n Num
	if err := json.Unmarshal([]byte(`"lots"`), &n); err == nil || err.Error() != `number expected, got "lots"` {
		t.Errorf("bad string: %v", err)
	}
	if err := json.Unmarshal([]byte(`[1]`), &n); err == nil || err.Error() != `number expected, got [1]` {
		t.Errorf("bad value: %v", err)
	}
}
