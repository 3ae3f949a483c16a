package optim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestAdamVectorMatchesGo: the chunk kernel (assembly for whole groups of
// eight where the machine has AVX2, Go for the rest) gives adamGo's bits
// for w, m and v, with coupled, decoupled or no decay, at lengths with and without a
// tail; v = 0 and large gradients included (at GOAMD64=v3, where Go fuses
// multiply-adds and the assembly does not, within a tolerance).
func TestAdamVectorMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	draw := func(n int, scale float64) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.NormFloat64() * scale)
		}
		return s
	}
	for _, c := range []struct {
		coupled bool
		decay   float32
	}{{false, 1}, {true, 1}, {false, 0.999}} {
		coupled := c.coupled
		for _, n := range []int{1, 8, 37, 1000} {
			w, g, m, v := draw(n, 1), draw(n, 3), draw(n, 0.1), draw(n, 0.01)
			for i := range v {
				v[i] = float32(math.Abs(float64(v[i])))
				if i%5 == 0 {
					v[i], g[i] = 0, 0
				}
				if i%7 == 1 {
					g[i] = 1e6
				}
			}
			k := adamStep{step: 0.01, rb2: 1.03, b1: 0.9, b2: 0.999, c1: 0.1, c2: 0.001, eps: 1e-8, wd: 0.1, decay: c.decay, coupled: coupled}
			want := [4][]float32{slices.Clone(w), slices.Clone(g), slices.Clone(m), slices.Clone(v)}
			adamGo(&k, want[0], want[1], want[2], want[3])
			o := &Adam{}
			o.cur = k
			o.cur.w, o.cur.g, o.cur.m, o.cur.v = w, g, m, v
			o.chunk(0, 0, n)
			for name, pair := range map[string][2][]float32{"w": {w, want[0]}, "m": {m, want[2]}, "v": {v, want[3]}} {
				// At GOAMD64=v3 the Go loop's multiply-adds are fused: agreement
				// then is to 1e-5 of the array's largest magnitude (m and v are
				// sums of terms that can cancel).
				var scale float64
				for _, x := range pair[1] {
					scale = math.Max(scale, math.Abs(float64(x)))
				}
				for i := range pair[0] {
					got, want := pair[0][i], pair[1][i]
					fusedOK := goFuses && math.Abs(float64(got)-float64(want)) <= 1e-5*scale
					if math.Float32bits(got) != math.Float32bits(want) && !fusedOK {
						t.Fatalf("coupled %v, decay %v, n %d: %s[%d] = %v, Go loop %v", coupled, c.decay, n, name, i, pair[0][i], pair[1][i])
					}
				}
			}
		}
	}
}
