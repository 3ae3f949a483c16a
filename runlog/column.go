package runlog

import "math"

// Column returns the steps and values of one field over the records that
// have it, in record order.
func Column(recs []Record, f Field) (steps []int64, vals []float64) {
	for _, r := range recs {
		if v, ok := r.Value(f); ok {
			steps = append(steps, r.Step)
			vals = append(vals, v)
		}
	}
	return steps, vals
}

// Smooth returns the exponential moving average of vals with the given
// weight in [0, 1), debiased as TensorBoard's smoothing slider is, so the
// first values are not pulled towards 0: s_t = m_t / (1 − w^(t+1)) with
// m_t = w·m_{t−1} + (1 − w)·v_t. Non-finite values are carried through
// unchanged and left out of the average. Weight 0 returns a copy.
func Smooth(vals []float64, weight float64) []float64 {
	out := make([]float64, len(vals))
	var m, debias float64 = 0, 1
	for i, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			out[i] = v
			continue
		}
		m = weight*m + (1-weight)*v
		debias *= weight
		out[i] = m / (1 - debias)
	}
	return out
}
