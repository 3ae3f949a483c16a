package server

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
)

// FuzzMetricsRequest: any body either decodes into records that are all
// valid (finite, steps in range, something reported) or gives a client
// error with a message; never a panic.
func FuzzMetricsRequest(f *testing.F) {
	f.Add([]byte(`{"batch_id":"a","metrics":[{"step":1,"loss":2.5,"grad_norm":0.3}]}`))
	f.Add([]byte(`{"batch_id":"a","metrics":[{"step":-1,"loss":NaN}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var req MetricsRequest
		err := decodeJSON(data, &req)
		if err == nil {
			rs, err2 := records(req, DefaultMaxSteps)
			err = err2
			for _, r := range rs {
				if r.Step < 0 || r.Step > DefaultMaxSteps || r.Present == 0 {
					t.Fatalf("accepted record %+v", r)
				}
				for _, v := range []float64{r.Loss, r.LR, r.GradNorm, r.GradNormL1, r.ValLoss, r.ValMetric} {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("accepted non-finite value in %+v", r)
					}
				}
			}
		}
		var ae *apiError
		if err != nil && (!errors.As(err, &ae) || ae.msg == "" || ae.code/100 != 4) {
			t.Fatalf("error %v is not a client error with a message", err)
		}
	})
}

// FuzzCreateRunRequest: a body decodes and validates, or is a 4xx with a
// message; an accepted request re-encodes to an equal request.
func FuzzCreateRunRequest(f *testing.F) {
	f.Add([]byte(`{"name":"r","spec":"cosine(peak=1, steps=10)","budget":10}`))
	f.Add([]byte(`{"name":"","spec":"x","budget":-1,"extra":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var req CreateRunRequest
		err := decodeJSON(data, &req)
		if err == nil {
			err = validateCreate(req, DefaultMaxSteps)
			if err == nil {
				b, _ := json.Marshal(req)
				var back CreateRunRequest
				if e := decodeJSON(b, &back); e != nil || back != req {
					t.Fatalf("round trip %+v -> %s -> %+v (%v)", req, b, back, e)
				}
			}
		}
		var ae *apiError
		if err != nil && (!errors.As(err, &ae) || ae.msg == "" || ae.code/100 != 4) {
			t.Fatalf("error %v is not a client error with a message", err)
		}
	})
}
