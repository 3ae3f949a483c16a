package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Backoff while NATS is unreachable: the first wait is about minBackoff,
// each next one doubles up to maxBackoff. Each wait is drawn uniformly
// from [d/2, d] ("equal jitter") so that many workers cut off by one
// outage do not all come back in the same instant.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// retrier tracks one operation's current outage: when it began, how many
// attempts failed, and the next wait. It is owned by one goroutine.
type retrier struct {
	op    string        // what is retried, for logs and errors
	limit time.Duration // give up once the outage is this long; negative: never
	log   *slog.Logger
	rand  func() float64 // in [0, 1); jitter source

	began time.Time     // first failure of the current outage
	fails int           // failures in the current outage; 0 when healthy
	delay time.Duration // upper bound of the next wait
}

func newRetrier(op string, cfg Config) *retrier {
	return &retrier{op: op, limit: cfg.RetryFor, log: cfg.Logger, rand: rand.Float64}
}

// failed records a failed attempt and waits before the next one. It
// returns an error when the outage has lasted the limit; it returns nil
// early if ctx is done (the caller checks ctx).
func (r *retrier) failed(ctx context.Context, err error) error {
	now := time.Now()
	if r.fails == 0 {
		r.began, r.delay = now, minBackoff
	}
	r.fails++
	down := now.Sub(r.began)
	if r.limit >= 0 && down >= r.limit {
		r.log.Error("dispatch: giving up", "op", r.op, "down", down.Round(time.Millisecond), "attempts", r.fails, "err", err)
		return fmt.Errorf("dispatch: %s: NATS unavailable for %s (%d attempts), giving up: %w",
			r.op, down.Round(time.Millisecond), r.fails, err)
	}
	wait := r.next()
	if r.limit >= 0 {
		wait = min(wait, r.limit-down)
	}
	r.log.Warn("dispatch: NATS unavailable, retrying", "op", r.op, "attempt", r.fails,
		"down", down.Round(time.Millisecond), "retry_in", wait.Round(time.Millisecond), "err", err)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	return nil
}

// next returns the next wait and doubles the bound for the one after.
func (r *retrier) next() time.Duration {
	d := r.delay
	r.delay = min(2*r.delay, maxBackoff)
	return d/2 + time.Duration(r.rand()*float64(d/2))
}

// succeeded ends the current outage, if any, and logs the recovery.
func (r *retrier) succeeded() {
	if r.fails == 0 {
		return
	}
	r.log.Info("dispatch: NATS reachable again", "op", r.op,
		"down", time.Since(r.began).Round(time.Millisecond), "attempts", r.fails)
	r.fails = 0
}

// permanent reports whether retrying cannot help: a connection closed by
// its owner (with unlimited reconnects it never closes by itself), a
// request the client or server refused as malformed or too large, or
// refused credentials.
// Everything else (timeouts, no responders, a closed or reconnecting
// connection, JetStream not ready, a stream or consumer missing after a
// server lost its state) is treated as an outage.
func permanent(err error) bool {
	for _, p := range []error{nats.ErrConnectionClosed, nats.ErrMaxPayload, nats.ErrBadSubject, nats.ErrInvalidMsg,
		nats.ErrAuthorization, nats.ErrAuthExpired, nats.ErrAuthRevoked, nats.ErrAccountAuthExpired} {
		if errors.Is(err, p) {
			return true
		}
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.Code == 400
}

// connected fails fast while the connection is down, rather than let a
// request wait for its timeout in the reconnect buffer.
func (q *Queue) connected() error {
	switch {
	case q.nc.IsClosed():
		return nats.ErrConnectionClosed
	case !q.nc.IsConnected():
		return nats.ErrDisconnected
	}
	return nil
}
