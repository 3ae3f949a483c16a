package server

import (
	"fmt"
	"strconv"
	"testing"
)

// metricsBody is a batch of n records as the load tests send it, from
// step first.
func metricsBody(first int64, n int) []byte {
	b := []byte(`{"batch_id":"b-` + strconv.FormatInt(first, 10) + `","metrics":[`)
	for i := range int64(n) {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `{"step":%d,"loss":%g}`, first+i, 3/float64(first+i+1))
	}
	return append(b, "]}"...)
}

// TestDecodeMetricsFast: the bodies clients send take the hand-written
// path (and decode as encoding/json does); the others fall back.
func TestDecodeMetricsFast(t *testing.T) {
	fast := [][]byte{
		metricsBody(100, 64),
		// The Python client's json.dumps: spaces after separators.
		[]byte(`{"batch_id": "c-7", "metrics": [{"step": 3, "lr": 0.001, "loss": 2.5, "grad_norm": 0.25, "grad_norm_l1": 4, "val_loss": 2.75, "val_metric": 0.5}]}`),
		[]byte("{\n\t\"metrics\": [],\r\n\"batch_id\": \"x\"}\n"),
		[]byte(`{}`),
		[]byte(`{"batch_id":"a","metrics":[{}]}`),
	}
	slow := [][]byte{
		[]byte(`{"batch_id":"a","metrics":[{"step":1,"loss":null}]}`),
		[]byte(`{"batch_id":"\u0061","metrics":[{"step":1,"loss":1}]}`),
		[]byte(`{"batch_id":"a","metrics":[{"Step":1,"loss":1}]}`),
		[]byte(`{"batch_id":"a","metrics":[{"step":1,"loss":1,"loss":2}]}`),
		[]byte(`{"batch_id":"a","metrics":[{"step":1e3,"loss":1}]}`),
		[]byte(`{"batch_id":"a","metrics":[{"step":1,"loss":1e999}]}`),
		[]byte(`{"batch_id":"a","metrics":[{"step":01,"loss":1}]}`),
		[]byte(`{"batch_id":"a","metrics":[{"step":1,"loss":1}]}x`),
		[]byte(`{"batch_id":"a","metrics":[{"step":1,"loss":NaN}]}`),
		[]byte(`{"batch_id":"a","metrics":[{"step":1,"loss":1,"extra":1}]}`),
		[]byte(`{"batch_id":"é","metrics":[]}`),
	}
	for _, body := range fast {
		var req MetricsRequest
		if !fastMetrics(body, &req) {
			t.Errorf("%s: not decoded by the fast path", body)
		}
	}
	for _, body := range slow {
		var req MetricsRequest
		if fastMetrics(body, &req) {
			t.Errorf("%s: decoded by the fast path", body)
		}
	}
	for _, body := range append(fast, slow...) {
		var req, ref MetricsRequest
		err, errRef := decodeMetrics(body, &req), decodeJSON(body, &ref)
		if fmt.Sprint(err) != fmt.Sprint(errRef) || fmt.Sprintf("%v", req) == "" {
			t.Errorf("%s: error %v, encoding/json %v", body, err, errRef)
		}
	}
}

// BenchmarkDecodeMetrics: a 64-record batch, by hand and by encoding/json.
func BenchmarkDecodeMetrics(b *testing.B) {
	body := metricsBody(1000, 64)
	for _, c := range []struct {
		name string
		dec  func([]byte, *MetricsRequest) error
	}{{"fast", decodeMetrics}, {"encoding-json", func(d []byte, r *MetricsRequest) error { return decodeJSON(d, r) }}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var req MetricsRequest
				if err := c.dec(body, &req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
