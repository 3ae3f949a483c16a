package schedule

import (
	"math"
	"strings"
	"testing"
)

// TestWarmupInsideMatchesHF: warmup(cosine(steps=T), steps=W) is Hugging
// Face's get_cosine_schedule_with_warmup(W, T): the rate ramps t/W, then
// 0.5·(1 + cos(π·(t−W)/(T−W))), and the whole lasts T steps
// (transformers/optimization.py, _get_cosine_schedule_with_warmup_lr_lambda).
func TestWarmupInsideMatchesHF(t *testing.T) {
	const w, total = 500, 10000
	s, err := Parse("warmup(cosine(peak=3e-4, steps=10000, parity=hf), steps=500)")
	if err != nil {
		t.Fatal(err)
	}
	hf := func(step int64) float64 {
		if step < w {
			return 3e-4 * float64(step) / w
		}
		p := float64(step-w) / float64(total-w)
		return 3e-4 * math.Max(0, 0.5*(1+math.Cos(math.Pi*p)))
	}
	for _, step := range []int64{0, 1, 250, 499, 500, 501, 5000, 9999, 10000, 12000} {
		if got, want := s.LR(step), hf(step); math.Abs(got-want) > 1e-15 {
			t.Errorf("LR(%d) = %v, HF %v", step, got, want)
		}
	}
	if h, ok := Horizon(s); !ok || h != total {
		t.Errorf("Horizon = %d, %v; want %d", h, ok, total)
	}
	// Through scale, clamp and floor the base is shortened too.
	for _, spec := range []string{"warmup(scale(linear(steps=100), by=2), steps=20)", "warmup(floor(clamp(linear(steps=100), max=0.5), min=0.1), steps=20)"} {
		s, err := Parse(spec)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		if h, _ := Horizon(s); h != 100 {
			t.Errorf("%s: horizon %d, want 100", spec, h)
		}
	}
}

func TestWarmupPrefixAndErrors(t *testing.T) {
	s, err := Parse("warmup(cosine(steps=100), steps=10, prefix=true)")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.LR(60), (Cosine{Peak: 1, Steps: 100}).LR(50); got != want {
		t.Errorf("prefix: LR(60) = %v, want the base's LR(50) %v", got, want)
	}
	if h, _ := Horizon(s); h != 110 {
		t.Errorf("prefix horizon %d, want 110", h)
	}
	// A base without a horizon is preceded by the warm-up either way.
	c, _ := Parse("warmup(constant(peak=2), steps=10)")
	if c.LR(5) != 1 || c.LR(50) != 2 {
		t.Errorf("constant: LR(5) = %v, LR(50) = %v", c.LR(5), c.LR(50))
	}
	errs := []struct{ spec, want string }{
		{"warmup(cosine(steps=100), steps=100)", "spec:1:33: steps: a warm-up of 100 steps does not fit inside the base's horizon of 100 steps; shorten it, or write prefix=true to put it before the base"},
		{"warmup(join([constant(), linear(steps=10)], at=[5]), steps=3)", "prefix: a warm-up inside the horizon needs a base whose steps can be shortened: join("},
		{"warmup(table(at=[0, 100], lr=[1, 0]), steps=3)", "write prefix=true to put the warm-up before the base"},
	}
	for _, e := range errs {
		if _, err := Parse(e.spec); err == nil || !strings.Contains(err.Error(), e.want) {
			t.Errorf("%s:\n got  %v\n want ...%s", e.spec, err, e.want)
		}
	}
	if _, err := Parse("warmup(join([constant(), linear(steps=10)], at=[5]), steps=3, prefix=true)"); err != nil {
		t.Errorf("a join behind a prefix warm-up: %v", err)
	}
}
