package control

import (
	"math"
	"testing"
)

func TestWithPeak(t *testing.T) {
	tests := []struct {
		spec       string
		peak, def  float64
		at         int64
		want       float64
		wantString string
	}{
		{"linear(steps=100)", 0, 0.01, 0, 0.01, "scale(linear(steps=100), by=0.01)"},
		{"linear(steps=100)", 0.5, 0.01, 50, 0.25, "scale(linear(steps=100), by=0.5)"},
		{"linear(peak=0.2, steps=100)", 0, 0.01, 50, 0.1, "linear(peak=0.2, steps=100)"},
		{"warmup(cosine(steps=100), steps=10)", 0, 3e-3, 10, 3e-3, ""},
		{"hd(lr=0.1)", 0, 3e-3, 0, 0.1, "hd(lr=0.1)"},
	}
	for _, tc := range tests {
		c, err := Parse(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		c, err = WithPeak(c, tc.peak, tc.def, 100)
		if err != nil {
			t.Errorf("%s: %v", tc.spec, err)
			continue
		}
		if got := c.LR(tc.at); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("%s peak %g: LR(%d) = %v, want %v", tc.spec, tc.peak, tc.at, got, tc.want)
		}
		if tc.wantString != "" && c.String() != tc.wantString {
			t.Errorf("%s: controller %q, want %q", tc.spec, c.String(), tc.wantString)
		}
	}
	errs := []struct {
		spec string
		peak float64
		want string
	}{
		{"linear(peak=0.2, steps=100)", 0.5, "the schedule linear(peak=0.2, steps=100) already peaks at 0.2; give the peak in the spec or as the peak (then leave the spec's peak at 1), not both"},
		{"hd(lr=0.1)", 0.5, "a peak scales schedules; controller hd(lr=0.1) sets its own rates"},
		{"linear(steps=100)", math.NaN(), "peak must be a finite number >= 0 (0: the default), got NaN"},
		{"linear(steps=100)", -1, "peak must be a finite number >= 0 (0: the default), got -1"},
	}
	for _, e := range errs {
		c, err := Parse(e.spec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := WithPeak(c, e.peak, 1e-3, 100); err == nil || err.Error() != e.want {
			t.Errorf("%s peak %v:\n got  %v\n want %s", e.spec, e.peak, err, e.want)
		}
	}
}

func TestHorizonWarning(t *testing.T) {
	tests := []struct {
		spec  string
		steps int64
		want  string
	}{
		{"cosine(steps=100)", 200, "the run has 200 steps but the schedule cosine(steps=100) ends at step 100: the last 100 steps run at its final rate 0"},
		{"cosine(steps=100)", 100, ""},
		{"plateau(base=linear(peak=0.1, floor=0.01, steps=50))", 60, "the run has 60 steps but the schedule plateau(base=linear(peak=0.1, floor=0.01, steps=50)) ends at step 50: the last 10 steps run at its final rate 0.01"},
		{"constant(peak=0.1)", 1000, ""},
		{"hd(lr=0.1)", 1000, ""},
	}
	for _, tt := range tests {
		c, err := Parse(tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := HorizonWarning(c, tt.steps); got != tt.want {
			t.Errorf("%s, %d steps:\n got  %q\n want %q", tt.spec, tt.steps, got, tt.want)
		}
	}
}
