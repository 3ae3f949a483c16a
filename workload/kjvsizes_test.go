package workload

import (
	"strings"
	"testing"
)

func TestKJVGPTSized(t *testing.T) {
	count := func(dim int) (string, int) {
		w, err := KJVGPTSized(GPTConfig{Context: 16, Dim: dim, Heads: 4, Layers: 1, FFN: 2 * dim}, 4)
		if err != nil {
			t.Fatal(err)
		}
		s := buildOrSkip(t, w, Options{Seed: 1, Limit: 200_000})
		n := 0
		for _, p := range s.Model.Params() {
			n += p.W.Len()
		}
		return w.Name, n
	}
	name, n16 := count(16)
	_, n32 := count(32)
	if name != "kjv-gpt-d16-l1-c16" {
		t.Errorf("name %q", name)
	}
	// Embedding and head grow linearly in the width, the blocks
	// quadratically: doubling the width more than doubles the count.
	if n32 <= 2*n16 || n32 >= 4*n16 {
		t.Errorf("parameters %d at width 16 and %d at 32, want between 2x and 4x", n16, n32)
	}
	if _, err := KJVGPTSized(GPTConfig{Context: 16, Dim: 30, Heads: 4, Layers: 1, FFN: 8}, 4); err == nil || !strings.Contains(err.Error(), "divisible by the heads") {
		t.Errorf("width 30 with 4 heads: %v", err)
	}
}
