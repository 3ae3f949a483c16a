package schedule

import (
	"reflect"
	"testing"
)

func TestWithParity(t *testing.T) {
	tests := []struct{ spec, parity, want string }{
		{"cosine(steps=100)", "pytorch", "cosine(steps=100, parity=pytorch)"},
		{"cosine(steps=100, parity=pytorch)", "none", "cosine(steps=100)"},
		{"cosine(steps=100, parity=hf)", "pytorch", "cosine(steps=100, parity=pytorch)"},
		{"warmup(cosine(steps=100), steps=10)", "pytorch", "warmup(cosine(steps=100, parity=pytorch), steps=10)"},
		// Kinds without a parity parameter (linear, step) are left alone.
		{"join([cosine(steps=10), linear(steps=20), wsd(steps=30)], at=[10, 30])", "hf",
			"join([cosine(steps=10, parity=hf), linear(steps=20), wsd(steps=30, parity=hf)], at=[10, 30])"},
		{"join([cosine(steps=10), onecycle(steps=20), step(every=5)], at=[10, 30])", "pytorch",
			"join([cosine(steps=10, parity=pytorch), onecycle(steps=20, parity=pytorch), step(every=5)], at=[10, 30])"},
		{"scale(restarts(sgdr(period=10), period=30), by=2)", "pytorch", "scale(restarts(sgdr(period=10, parity=pytorch), period=30), by=2)"},
		// Already set: unchanged.
		{"cosine(steps=100, parity=optax)", "optax", "cosine(steps=100, parity=optax)"},
	}
	for _, tt := range tests {
		s, err := Parse(tt.spec)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.spec, err)
		}
		before := Format(s)
		got, err := WithParity(s, tt.parity)
		if err != nil {
			t.Errorf("WithParity(%s, %s): %v", tt.spec, tt.parity, err)
			continue
		}
		if Format(got) != tt.want {
			t.Errorf("WithParity(%s, %s) = %s, want %s", tt.spec, tt.parity, got, tt.want)
		}
		if Format(s) != before {
			t.Errorf("WithParity changed its argument: %s became %s", before, s)
		}
		// The result is what parsing its text gives: validated and prepared.
		want, err := Parse(tt.want)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.want, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("WithParity(%s, %s) =\n%#v\nwant\n%#v", tt.spec, tt.parity, got, want)
		}
	}
	// The parity changes the values: PyTorch's cosine keeps going past T.
	s, _ := Parse("cosine(steps=100)")
	p, _ := WithParity(s, "pytorch")
	if s.LR(150) != 0 || p.LR(150) <= 0.4 {
		t.Errorf("LR(150): none %v, pytorch %v; want 0 and 0.5", s.LR(150), p.LR(150))
	}
}

func TestWithParityErrors(t *testing.T) {
	tests := []struct{ spec, parity, want string }{
		{"cosine(steps=100)", "torch", `unknown parity "torch" (did you mean "pytorch"?): want one of hf, none, optax, pytorch`},
		{"cosine(steps=100)", "", `unknown parity "": want one of hf, none, optax, pytorch`},
		{"onecycle(steps=100)", "hf", "parity hf: onecycle cannot reproduce it (its parity is one of none, pytorch, optax; kinds that offer it: cosine, wsd)"},
		{"join([linear(steps=10), onecycle(steps=100)], at=[10])", "hf", "parts[1]: parity hf: onecycle cannot reproduce it (its parity is one of none, pytorch, optax; kinds that offer it: cosine, wsd)"},
	}
	for _, tt := range tests {
		s, err := Parse(tt.spec)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.spec, err)
		}
		_, err = WithParity(s, tt.parity)
		if err == nil || err.Error() != tt.want {
			t.Errorf("WithParity(%s, %q) error = %v, want %s", tt.spec, tt.parity, err, tt.want)
		}
	}
	// A kind on which the libraries agree has no parity parameter and is
	// left as it is.
	lin, _ := Parse("linear(steps=100)")
	if got, err := WithParity(lin, "pytorch"); err != nil || !reflect.DeepEqual(got, lin) {
		t.Errorf("WithParity(linear, pytorch) = %v, %v; want it unchanged", got, err)
	}
	// A Func has no parameters to set.
	if _, err := WithParity(Func(func(int64) float64 { return 1 }), "pytorch"); err == nil {
		t.Error("WithParity(Func) succeeded")
	}
}
