package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lrkit/lrkit/losscurve"
)

// TestPredictionOfAConstantRun: a run that warms up from 0 and then keeps
// a constant rate cannot identify the multi-power law's response to a
// decay. The prediction says so and ranks no alternative, and its curve
// stays within a few times the observed losses (it starts after the
// warm-up, where the law is defined, not at step 0 where it diverges).
func TestPredictionOfAConstantRun(t *testing.T) {
	f := newFixture(t)
	run := f.createRun(f.tokA, "const", "warmup(constant(peak=0.001), steps=100)", 4000)
	truth := &losscurve.MultiPower{L0: 2.4, A: 0.65, Alpha: 0.43, B: 520, C: 2, Beta: 0.6, Gamma: 0.63, Convention: losscurve.ConventionPaper, Warmup: -1}
	lrs := make([]float64, 2000)
	for i := range lrs {
		lrs[i] = 0.001 * min(float64(i)/100, 1)
	}
	pred := truth.Predict(lrs)
	loss := func(i int) float64 { return min(pred[i], 11) }
	for b := range 4 {
		postBatch(f, run.ID, fmt.Sprintf("b%d", b), b*500, 500, loss)
	}
	var p Prediction
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d/prediction?law=mpl", run.ID), "", &p)
	if p.Identifiable || !strings.Contains(p.Reason, "not identifiable until the rate has decayed") || len(p.Alternatives) != 0 {
		t.Errorf("identifiable %v, reason %q, alternatives %v", p.Identifiable, p.Reason, p.Alternatives)
	}
	// The current spec keeps the rate: its prediction is defined to the end.
	if !p.FinalDefined || p.DefinedFrom < 100 || p.DefinedTo != 3999 || p.CurveSteps[0] != p.DefinedFrom {
		t.Errorf("defined %v on [%d, %d], curve from %d", p.FinalDefined, p.DefinedFrom, p.DefinedTo, p.CurveSteps[0])
	}
	lo, hi := math.Inf(1), 0.0
	for i := 100; i < 2000; i++ {
		lo, hi = min(lo, loss(i)), max(hi, loss(i))
	}
	for i, v := range p.CurveLoss {
		if v < lo/3 || v > 3*hi || p.CurveLo[i] > v || p.CurveHi[i] < v {
			t.Fatalf("curve point %d (step %d): %g in [%g, %g], observed %g..%g", i, p.CurveSteps[i], v, p.CurveLo[i], p.CurveHi[i], lo, hi)
		}
	}
	if math.Abs(p.FinalLoss-truth.Predict(append(lrs, constantTail(2000, 0.001)...))[3999])/p.FinalLoss > 0.01 {
		t.Errorf("final loss %g", p.FinalLoss)
	}
	// The dashboard says why nothing is ranked, with the final loss's
	// interval and no alternative rows.
	code, body := get(t, f.browser(f.tokA), fmt.Sprintf("%s/runs/%d", f.srv.URL, run.ID))
	for _, want := range []string{"<p class=msg id=predreason>not identifiable until the rate has decayed", "(90% interval)", "<td>current spec</td><td>"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("run page lacks %q (%d)", want, code)
		}
	}
	if strings.Contains(body, "<td>cosine: ") {
		t.Errorf("run page ranks alternatives of a law it cannot identify")
	}
}

func constantTail(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// The predictor keeps at most about 10,000 runs and laws: past that it
// drops its finished fits, never one still queued. Dropping a queued one
// (as it once dropped them all) let the next request for it queue it
// again; the worker then fitted the key twice and closed its slot's wait
// channel twice, a panic that ended the server, and the requests waiting
// on the dropped slot waited forever.
func TestPredictorCapKeepsQueuedFits(t *testing.T) {
	f := newFixture(t)
	run := seedRun(f)
	var proj struct {
		ID int64 `json:"project_id"`
	}
	f.ok(f.tokA, "GET", "/v1/project", "", &proj)
	// A predictor whose worker has not started yet: what is queued stays
	// queued. 9,999 finished fits of other runs fill it to the cap.
	p := &predictor{s: f.h, slots: map[predKey]*predSlot{}, queue: make(chan predKey, 1024)}
	for i := range 9999 {
		p.slots[predKey{run: -1 - int64(i), law: losscurve.KindMPL}] = &predSlot{at: time.Now()}
	}
	ctx := context.Background()
	laws := []string{losscurve.KindMPL, losscurve.KindAnnealing, losscurve.KindPower, losscurve.KindMPL} // the third is past the cap
	for _, law := range laws {
		if _, err := p.get(ctx, proj.ID, run.ID, law, false); err != errFitting {
			t.Fatalf("law %s: %v, want %v", law, err, errFitting)
		}
	}
	if n := len(p.queue); n != 3 {
		t.Fatalf("%d fits queued for 3 runs and laws: a queued fit was dropped and queued again", n)
	}
	if n := len(p.slots); n != 3 {
		t.Errorf("%d slots past the cap, want the 3 queued ones", n)
	}
	f.h.wg.Add(1)
	go p.work()
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, law := range laws[:3] {
		if pr, err := p.get(wctx, proj.ID, run.ID, law, true); err != nil || pr.Law != law {
			t.Errorf("law %s after the worker ran: %+v, %v", law, pr.Law, err)
		}
	}
}

// An API request for a forecast waits for its fit at most predictWait,
// then answers 503 to try again: it waited as long as the fits queued
// before it took (up to 30 s each), minutes on a busy server, held until
// the server's write timeout cut it without an answer.
func TestPredictionWaitBounded(t *testing.T) {
	f := newFixture(t)
	run := seedRun(f)
	defer func(d time.Duration) { predictWait = d }(predictWait)
	predictWait = 200 * time.Millisecond
	// A predictor whose worker has not started: the fit stays queued, as
	// behind a long queue.
	p := &predictor{s: f.h, slots: map[predKey]*predSlot{}, queue: make(chan predKey, 1024)}
	f.h.pred = p
	path := fmt.Sprintf("/v1/runs/%d/prediction", run.ID)
	ask := func(within time.Duration) (int, string) {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+f.tokA)
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() { f.h.ServeHTTP(rec, req); close(done) }()
		select {
		case <-done:
		case <-time.After(within):
			t.Fatalf("no answer within %v", within)
		}
		return rec.Code, rec.Body.String()
	}
	code, body := ask(10 * time.Second)
	var e struct{ Error string }
	json.Unmarshal([]byte(body), &e)
	if code != http.StatusServiceUnavailable || !strings.Contains(e.Error, "still being fitted") {
		t.Errorf("%d %s, want 503 saying the forecast is still being fitted", code, body)
	}
	predictWait = time.Minute
	f.h.wg.Add(1)
	go p.work()
	if code, body := ask(2 * time.Minute); code != 200 || !strings.Contains(body, `"law":"mpl"`) {
		t.Errorf("once fitted: %d %.200s", code, body)
	}
}
