package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestBackoffDoublesToItsCap(t *testing.T) {
	for _, tc := range []struct {
		name string
		rand float64
		want []time.Duration
	}{
		{"low jitter", 0, []time.Duration{50, 100, 200, 400, 800, 1600, 2500, 2500}},
		{"high jitter", 0.999999, []time.Duration{100, 200, 400, 800, 1600, 3200, 5000, 5000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &retrier{rand: func() float64 { return tc.rand }, delay: minBackoff}
			for i, want := range tc.want {
				got := r.next().Round(time.Millisecond)
				if got != want*time.Millisecond {
					t.Errorf("wait %d = %s, want %s", i+1, got, want*time.Millisecond)
				}
			}
		})
	}
}

func TestRetrierGivesUpAtItsLimit(t *testing.T) {
	log, logs := testLogger()
	r := newRetrier("fetch job", Config{RetryFor: 300 * time.Millisecond, Logger: log})
	start := time.Now()
	cause := errors.New("nats: no responders available for request")
	var err error
	attempts := 0
	for err == nil {
		attempts++
		err = r.failed(context.Background(), cause)
	}
	took := time.Since(start)
	if took < 300*time.Millisecond || took > 2*time.Second {
		t.Errorf("gave up after %s, want about 300ms", took)
	}
	if !errors.Is(err, cause) {
		t.Errorf("error %v does not wrap its cause", err)
	}
	wantPrefix := "dispatch: fetch job: NATS unavailable for "
	wantSuffix := fmt.Sprintf(" (%d attempts), giving up: nats: no responders available for request", attempts)
	if msg := err.Error(); !strings.HasPrefix(msg, wantPrefix) || !strings.HasSuffix(msg, wantSuffix) {
		t.Errorf("error %q, want %q...%q", msg, wantPrefix, wantSuffix)
	}
	if n := strings.Count(logs.String(), "dispatch: NATS unavailable, retrying"); n != attempts-1 {
		t.Errorf("%d retries logged, want %d:\n%s", n, attempts-1, logs.String())
	}
	// After a success the next outage starts from scratch.
	r.succeeded()
	if err := r.failed(context.Background(), cause); err != nil {
		t.Errorf("first failure of a new outage: %v", err)
	}
	if !strings.Contains(logs.String(), "dispatch: NATS reachable again") {
		t.Errorf("recovery not logged:\n%s", logs.String())
	}
}

func TestRetrierNegativeLimitNeverGivesUpButStopsWithContext(t *testing.T) {
	r := newRetrier("fetch job", Config{RetryFor: -1, Logger: slog.New(slog.DiscardHandler)})
	r.began = time.Now().Add(-24 * time.Hour) // an outage a day long
	r.fails, r.delay = 1, maxBackoff
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := r.failed(ctx, nats.ErrTimeout); err != nil {
		t.Errorf("gave up with RetryFor < 0: %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("waited %s with the context done", took)
	}
}

func TestPermanent(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nats.ErrTimeout, false},
		{nats.ErrNoResponders, false},
		{nats.ErrDisconnected, false},
		{fmt.Errorf("create job stream: %w", jetstream.ErrJetStreamNotEnabled), false}, // 503 while the server starts
		{jetstream.ErrStreamNotFound, false},                                           // a server that lost its state
		{context.DeadlineExceeded, false},
		{nats.ErrConnectionClosed, true},
		{nats.ErrMaxPayload, true},
		{fmt.Errorf("publish: %w", nats.ErrMaxPayload), true},
		{jetstream.ErrStreamMessageExceedsMaximum, true},
		{&jetstream.APIError{Code: 400, ErrorCode: 10058, Description: "stream name already in use with a different configuration"}, true},
		{nats.ErrAuthorization, true},
	} {
		if got := permanent(tc.err); got != tc.want {
			t.Errorf("permanent(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
