package fed

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"

	"github.com/lrkit/lrkit/train/nn"
)

// Models travel between the server and the clients as one flat float32
// vector: the parameters of the model in the order Params returns them,
// each row-major. These helpers move between the two forms and do the
// server's vector arithmetic in float64 accumulators, sequentially, so
// that the result does not depend on the machine.

// numParams returns the number of scalars in ps.
func numParams(ps []*nn.Param) int {
	n := 0
	for _, p := range ps {
		n += p.W.Len()
	}
	return n
}

// flatten copies the weights of ps into dst, grown as needed, and returns it.
func flatten(ps []*nn.Param, dst []float32) []float32 {
	dst = dst[:0]
	for _, p := range ps {
		dst = append(dst, p.W.Data...)
	}
	return dst
}

// unflatten copies v into the weights of ps.
func unflatten(ps []*nn.Param, v []float32) error {
	if n := numParams(ps); n != len(v) {
		return fmt.Errorf("model has %d parameters, the vector %d", n, len(v))
	}
	off := 0
	for _, p := range ps {
		off += copy(p.W.Data, v[off:off+p.W.Len()])
	}
	return nil
}

// dot returns ⟨a, b⟩ summed in float64 in index order.
func dot(a, b []float32) float64 {
	var s float64
	for i, x := range a {
		s += float64(x) * float64(b[i])
	}
	return s
}

// axpy adds a·x to y elementwise (y ← y + a·x), computing each element in
// float64 and rounding once.
func axpy(y []float32, a float64, x []float32) {
	for i, v := range x {
		y[i] = float32(float64(y[i]) + a*float64(v))
	}
}

// finite reports whether every element of v is finite.
func finite(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}

// hashVec returns the hex SHA-256 of v's little-endian bytes: two models
// with the same hash are bit-identical.
func hashVec(v []float32) string {
	h := sha256.New()
	var b [4]byte
	for _, x := range v {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}
