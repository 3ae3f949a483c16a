package train

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/lrkit/lrkit/train/nn"
)

// synthetic is a classification data set held in memory: N examples of
// dimension D whose class is the arg-max of a fixed linear map, visited in
// a fresh random order each epoch. Its position (epoch order RNG, index) is
// its state. It does not allocate in Next once the batch exists.
type synthetic struct {
	n, d, classes, batch int
	x                    []float32
	y                    []int32
	perm                 []int
	pos                  int
	pcg                  *rand.PCG
	rng                  *rand.Rand
}

func newSynthetic(seed uint64, n, d, classes, batch int) *synthetic {
	r := rand.New(rand.NewPCG(seed, 1))
	s := &synthetic{n: n, d: d, classes: classes, batch: batch,
		x: make([]float32, n*d), y: make([]int32, n), perm: make([]int, n)}
	w := make([]float64, d*classes)
	for i := range w {
		w[i] = r.NormFloat64()
	}
	for i := 0; i < n; i++ {
		best, bv := 0, -1e300
		for c := 0; c < classes; c++ {
			var v float64
			for j := 0; j < d; j++ {
				x := r.NormFloat64()
				if c == 0 {
					s.x[i*d+j] = float32(x)
				}
				v += float64(s.x[i*d+j]) * w[j*classes+c]
			}
			if v > bv {
				best, bv = c, v
			}
		}
		s.y[i] = int32(best)
	}
	s.pcg = rand.NewPCG(seed, 2)
	s.rng = rand.New(s.pcg)
	s.newEpoch()
	return s
}

func (s *synthetic) newEpoch() {
	for i := range s.perm {
		s.perm[i] = i
	}
	s.rng.Shuffle(len(s.perm), func(i, j int) { s.perm[i], s.perm[j] = s.perm[j], s.perm[i] })
	s.pos = 0
}

func (s *synthetic) Next(b *Batch) error {
	if b.Inputs == nil {
		b.Inputs = nn.NewTensor(s.batch, s.d)
		b.Labels = make([]int32, s.batch)
	}
	for i := 0; i < s.batch; i++ {
		if s.pos == s.n {
			s.newEpoch()
		}
		k := s.perm[s.pos]
		s.pos++
		copy(b.Inputs.Data[i*s.d:(i+1)*s.d], s.x[k*s.d:(k+1)*s.d])
		b.Labels[i] = s.y[k]
	}
	return nil
}

// State is the permutation position, the permutation and the RNG state.
func (s *synthetic) State() ([]byte, error) {
	st, err := s.pcg.MarshalBinary()
	if err != nil {
		return nil, err
	}
	out := binary.AppendUvarint(nil, uint64(s.pos))
	for _, p := range s.perm {
		out = binary.AppendUvarint(out, uint64(p))
	}
	return append(out, st...), nil
}

func (s *synthetic) Restore(b []byte) error {
	pos, n := binary.Uvarint(b)
	if n <= 0 {
		return errors.New("synthetic: bad state")
	}
	b = b[n:]
	for i := range s.perm {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return fmt.Errorf("synthetic: bad state at permutation entry %d", i)
		}
		s.perm[i] = int(v)
		b = b[n:]
	}
	s.pos = int(pos)
	return s.pcg.UnmarshalBinary(b)
}
