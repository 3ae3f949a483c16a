package epfl

import (
	"math"
	"testing"
)

// TestClosedFormsMatchLoggedLR checks the regenerated rates against the
// lr column of every 124M val file (logged every 200 steps).
func TestClosedFormsMatchLoggedLR(t *testing.T) {
	dir, err := Dir()
	if err != nil {
		t.Skip(err)
	}
	curves, err := ReadIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range curves {
		if c.Group != "schaipp2025-124m" {
			continue
		}
		v, err := ReadVal(dir, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range v.Steps {
			got, err := c.LR(s)
			if err != nil {
				t.Fatal(err)
			}
			want := v.LRs[i]
			if math.Abs(got-want) > 1e-6*math.Abs(want)+1e-12 {
				t.Fatalf("%s step %d: closed form %g, logged %g", c.ID, s, got, want)
			}
		}
		n++
	}
	if n != 117 {
		t.Errorf("checked %d curves of schaipp2025-124m, want 117", n)
	}
}
