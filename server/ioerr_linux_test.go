package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/internal/iofault"
)

// When SQLite cannot write (a file size limit stops the WAL from growing,
// so write(2) fails with EFBIG and SQLite reports an I/O error), the batch
// is answered 503 "database damaged", /healthz says "damaged", later
// batches are refused, and rates are still served.
func TestServerDamagedByIOError(t *testing.T) {
	if !iofault.InChild(t) {
		return
	}
	f := newFixture(t)
	run := f.createRun(f.tokA, "r", "constant(peak=0.1)", 1000000)
	postBatch(f, run.ID, "a", 0, 10, func(int) float64 { return 1 })
	iofault.StopGrowth(t, f.dbPath, f.dbPath+"-wal")
	metrics := fmt.Sprintf("/v1/runs/%d/metrics", run.ID)
	var big strings.Builder
	big.WriteString(`{"batch_id":"big","metrics":[`)
	for i := range 10000 { // the most a batch may hold: about 500 KB of WAL
		if i > 0 {
			big.WriteByte(',')
		}
		fmt.Fprintf(&big, `{"step":%d,"loss":1,"grad_norm":0.5}`, 10+i)
	}
	big.WriteString("]}")
	if code, body := f.do(f.tokA, "POST", metrics, big.String()); code != 503 || !strings.Contains(body, "database damaged") {
		t.Errorf("a batch SQLite cannot write: %d %s; want 503, database damaged", code, body)
	}
	if code, body := f.do("", "GET", "/healthz", ""); code != 503 || !strings.Contains(body, `"damaged"`) {
		t.Errorf("healthz after the I/O error: %d %s; want 503, damaged", code, body)
	}
	if code, body := f.do(f.tokA, "POST", metrics, `{"batch_id":"small","metrics":[{"step":30000,"loss":1}]}`); code != 503 || !strings.Contains(body, "database damaged") {
		t.Errorf("a small batch after the I/O error: %d %s; want 503, database damaged", code, body)
	}
	if got := f.lr(f.tokA, run.ID, 5); got != 0.1 {
		t.Errorf("rate after the I/O error: %v; want 0.1 (rates are still served)", got)
	}
}
