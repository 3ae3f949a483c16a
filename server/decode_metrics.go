package server

import (
	"bytes"
	"strconv"
	"unsafe"
)

// Decoding of metrics bodies.
//
// encoding/json was a fifth of the CPU time of 64-record batches (its
// reflection, and an allocation for every reported value behind
// MetricJSON's pointers). A batch as clients send it (an ASCII batch_id
// without escapes; records whose keys are the field names as written and
// whose values are plain numbers) is read here by hand, into the same
// MetricsRequest with the same values (floats through strconv.ParseFloat,
// as encoding/json does) and six allocations per batch. Anything else
// (null, a string escape, a key spelled in other case, a repeated key, an
// unknown field, a number that does not fit, bad JSON of any kind) is left
// to decodeJSON, so what is accepted and every error message stay
// encoding/json's. FuzzMetricsRequest checks that both agree.
//
// A faster JSON library was measured first: on a 64-record batch
// (2,000 decodes each, one run, shared machine) encoding/json took 386 µs
// and 151 allocations, github.com/goccy/go-json v0.10.5 171 µs and 195,
// this decoder 100 µs and 6 (BenchmarkDecodeMetrics). The library would
// also have needed the same differential check against encoding/json's
// strict rules (unknown fields, repeated keys, case-folded keys), so the
// one fixed shape is read here and everything else is not.

// decodeMetrics decodes the body of POST /v1/runs/{run}/metrics strictly,
// as decodeJSON would.
func decodeMetrics(data []byte, req *MetricsRequest) error {
	if fastMetrics(data, req) {
		return nil
	}
	*req = MetricsRequest{}
	return decodeJSON(data, req)
}

// metricKeys are the fields of a record after step, in MetricJSON's
// order (the order of fastRec.vals).
var metricKeys = [...]string{"lr", "loss", "grad_norm", "grad_norm_l1", "val_loss", "val_metric"}

// fastRec is a record as read, before it becomes a MetricJSON: has bit 0
// is the step, bit 1+k is vals[k].
type fastRec struct {
	step int64
	vals [len(metricKeys)]float64
	has  uint8
}

type jsonScan struct {
	b []byte
	i int
}

func (p *jsonScan) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// lit skips white space and then c, if c is next.
func (p *jsonScan) lit(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string of printable ASCII without escapes.
func (p *jsonScan) str() ([]byte, bool) {
	if !p.lit('"') {
		return nil, false
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return p.b[start : p.i-1], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false
		}
		p.i++
	}
	return nil, false
}

// number reads a JSON number; integer says it has no fraction or
// exponent.
func (p *jsonScan) number() (num []byte, integer, ok bool) {
	p.ws()
	start := p.i
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	if p.i < len(p.b) && p.b[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return nil, false, false
	}
	integer = true
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		integer = false
		if digits() == 0 {
			return nil, false, false
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		integer = false
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, false, false
		}
	}
	return p.b[start:p.i], integer, true
}

// bstr is b as a string without a copy, for parsing only (the parsers
// keep it only in an error, on which the body is decoded again).
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// record reads one record object.
func (p *jsonScan) record(r *fastRec) bool {
	if !p.lit('{') {
		return false
	}
	if p.lit('}') {
		return true
	}
	for {
		key, ok := p.str()
		if !ok || !p.lit(':') {
			return false
		}
		num, integer, ok := p.number()
		if !ok {
			return false
		}
		k := bstr(key)
		if k == "step" {
			if r.has&1 != 0 || !integer {
				return false
			}
			v, err := strconv.ParseInt(bstr(num), 10, 64)
			if err != nil {
				return false
			}
			r.step, r.has = v, r.has|1
		} else {
			j := 0
			for j < len(metricKeys) && metricKeys[j] != k {
				j++
			}
			if j == len(metricKeys) || r.has&(2<<j) != 0 {
				return false
			}
			v, err := strconv.ParseFloat(bstr(num), 64)
			if err != nil {
				return false
			}
			r.vals[j], r.has = v, r.has|2<<j
		}
		if p.lit(',') {
			continue
		}
		return p.lit('}')
	}
}

// fastMetrics decodes data into req if it has the common shape, and
// reports whether it did; on false req is left in any state.
func fastMetrics(data []byte, req *MetricsRequest) bool {
	p := jsonScan{b: data}
	if !p.lit('{') {
		return false
	}
	var recs []fastRec
	var seenBatch, seenMetrics bool
	if !p.lit('}') {
		for {
			key, ok := p.str()
			if !ok || !p.lit(':') {
				return false
			}
			switch string(key) {
			case "batch_id":
				id, ok := p.str()
				if !ok || seenBatch {
					return false
				}
				req.BatchID, seenBatch = string(id), true
			case "metrics":
				if seenMetrics || !p.lit('[') {
					return false
				}
				seenMetrics = true
				recs = make([]fastRec, 0, min(bytes.Count(data[p.i:], []byte{'{'}), MaxBatch+1))
				if !p.lit(']') {
					for {
						recs = append(recs, fastRec{})
						if !p.record(&recs[len(recs)-1]) {
							return false
						}
						if p.lit(',') {
							continue
						}
						if !p.lit(']') {
							return false
						}
						break
					}
				}
			default:
				return false
			}
			if p.lit(',') {
				continue
			}
			if !p.lit('}') {
				return false
			}
			break
		}
	}
	p.ws()
	if p.i != len(p.b) {
		return false
	}
	if !seenMetrics {
		req.Metrics = nil
		return true
	}
	// The values behind MetricJSON's pointers, in two allocations.
	nvals := 0
	for i := range recs {
		for j := range metricKeys {
			if recs[i].has&(2<<j) != 0 {
				nvals++
			}
		}
	}
	steps := make([]int64, len(recs))
	vals := make([]float64, nvals)
	req.Metrics = make([]MetricJSON, len(recs))
	for i := range recs {
		r, m := &recs[i], &req.Metrics[i]
		if r.has&1 != 0 {
			steps[i] = r.step
			m.Step = &steps[i]
		}
		ptrs := [len(metricKeys)]**float64{&m.LR, &m.Loss, &m.GradNorm, &m.GradNormL1, &m.ValLoss, &m.ValMetric}
		for j := range metricKeys {
			if r.has&(2<<j) != 0 {
				vals[0] = r.vals[j]
				*ptrs[j] = &vals[0]
				vals = vals[1:]
			}
		}
	}
	return true
}
