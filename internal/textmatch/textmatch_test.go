package textmatch

import "testing"

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"peek", "peak", 1}, {"cosin", "cosine", 1},
		{"kitten", "sitting", 3}, {"paek", "peak", 1}, {"abcd", "badc", 2}, {"warmup", "warmup", 0},
	}
	for _, tt := range tests {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := Distance(tt.b, tt.a); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.b, tt.a, got, tt.want)
		}
	}
	long := string(make([]byte, 65))
	if Distance(long, "a") != -1 {
		t.Error("long input not refused")
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"peak", "floor", "steps", "parity", "warmup", "a", "1-sqrt", "cosine", "cosine_power"}
	tests := []struct{ in, want string }{
		{"peek", "peak"}, {"Peak", "peak"}, {"paek", "peak"}, {"step", "steps"}, {"flor", "floor"},
		{"warm", "warmup"}, {"sqrt", "1-sqrt"}, {"cosin", "cosine"}, {"cosine_pow", "cosine_power"},
		{"foo", ""}, {"x", ""}, {"b", ""}, {"zzzzzz", ""}, {"totally_different", ""},
	}
	for _, tt := range tests {
		if got := Suggest(tt.in, names); got != tt.want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
