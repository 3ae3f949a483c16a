package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Work takes jobs one at a time and runs h on each until ctx is done. A
// job's result (or its error) is published before the job is
// acknowledged, so a worker that dies between the two leaves the job to be
// redelivered, never lost; the result consumer drops the duplicate.
//
// Work rides out a NATS outage: it retries with backoff (see
// Config.RetryFor) and returns an error only when NATS has been
// unreachable that long, or when the server refuses the consumer's
// configuration.
func (q *Queue) Work(ctx context.Context, h Handler) error {
	r := newRetrier("fetch job", q.cfg)
	var cons jetstream.Consumer
	for ctx.Err() == nil {
		err := func() error {
			if cons == nil {
				c, err := q.workConsumer(ctx)
				if err != nil {
					return err
				}
				cons = c
			}
			return q.fetchAndRun(ctx, cons, h)
		}()
		if ctx.Err() != nil {
			break
		}
		var fatal fatalError
		if errors.As(err, &fatal) {
			return fatal.err
		}
		if err == nil {
			r.succeeded()
			continue
		}
		if permanent(err) {
			return fmt.Errorf("dispatch: fetch job: %w", err)
		}
		cons = nil // recreate it: the server may have come back without it
		if err := r.failed(ctx, err); err != nil {
			return err
		}
	}
	return nil
}

// fatalError is an error that ends Work at once (a result it could not
// deliver for RetryFor).
type fatalError struct{ err error }

func (e fatalError) Error() string { return e.err.Error() }

func (q *Queue) workConsumer(ctx context.Context) (jetstream.Consumer, error) {
	if err := q.connected(); err != nil {
		return nil, err
	}
	c, err := q.consumer(ctx, q.jobs, q.workersName(), q.cfg.MaxDeliver)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		// The server came back without its state.
		if _, _, _, err := q.createStreams(ctx); err != nil {
			return nil, err
		}
		c, err = q.consumer(ctx, q.jobs, q.workersName(), q.cfg.MaxDeliver)
	}
	return c, err
}

// fetchAndRun waits up to a second for a job and runs it. A fetch that
// times out while the connection is down is an outage, not an idle queue.
func (q *Queue) fetchAndRun(ctx context.Context, cons jetstream.Consumer, h Handler) error {
	if err := q.connected(); err != nil {
		return err
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		return err
	}
	for msg := range batch.Messages() {
		if err := q.runOne(ctx, msg, h); err != nil {
			return fatalError{err}
		}
	}
	err = batch.Error()
	if errors.Is(err, nats.ErrTimeout) {
		err = nil
	}
	if err == nil && !q.nc.IsConnected() {
		err = nats.ErrDisconnected
	}
	return err
}

func (q *Queue) runOne(ctx context.Context, msg jetstream.Msg, h Handler) error {
	var job Job
	if err := json.Unmarshal(msg.Data(), &job); err != nil {
		// A malformed job can never succeed: terminate it rather than loop.
		_ = msg.TermWithReason("malformed job")
		q.cfg.Logger.Error("dispatch: terminated a malformed job", "subject", msg.Subject(), "err", err)
		return nil
	}
	var seq uint64
	if md, err := msg.Metadata(); err == nil {
		job.Attempt = int(md.NumDelivered)
		seq = md.Sequence.Stream
	}
	var mu sync.Mutex
	last := time.Now()
	heartbeat := func() {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < q.cfg.AckWait/4 {
			return
		}
		last = time.Now()
		_ = msg.InProgress()
	}
	payload, herr := q.call(ctx, h, job, heartbeat)
	if ctx.Err() != nil {
		// Interrupted: leave the job for another worker at once.
		_ = msg.Nak()
		return nil
	}
	res := Result{JobID: job.ID, Payload: payload, Worker: q.cfg.Worker, Attempt: job.Attempt}
	if herr != nil {
		res.Err = herr.Error()
	}
	// The job's stream sequence tells a resubmitted job's results from
	// those of its earlier runs.
	msgID := job.ID + "#" + strconv.FormatUint(seq, 10) + "#" + strconv.Itoa(job.Attempt)
	if err := q.publishResult(ctx, res, msgID); err != nil {
		_ = msg.Nak()
		return err
	}
	if ctx.Err() != nil {
		_ = msg.Nak()
		return nil
	}
	if err := msg.Ack(); err != nil {
		// The job will be redelivered and its second result dropped.
		q.cfg.Logger.Warn("dispatch: ack failed", "job", job.ID, "err", err)
	}
	return nil
}

// call runs h, turning a panic into the job's error so that one bad job
// does not take the worker (or, with in-process workers, the whole
// benchmark) down with it.
func (q *Queue) call(ctx context.Context, h Handler, job Job, heartbeat func()) (payload []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			q.cfg.Logger.Error("dispatch: handler panicked", "job", job.ID, "panic", p, "stack", string(debug.Stack()))
			payload, err = nil, fmt.Errorf("panic: %v", p)
		}
	}()
	return h(ctx, job, heartbeat)
}

// publishResult publishes res, retrying through an outage. A result the
// server refuses (too large, say) is replaced by a failed result saying
// why, so the job is reported rather than redelivered to fail again.
func (q *Queue) publishResult(ctx context.Context, res Result, msgID string) error {
	r := newRetrier("publish result of "+res.JobID, q.cfg)
	replaced := false
	for {
		data, err := json.Marshal(res)
		if err != nil {
			return fmt.Errorf("dispatch: encode result of %s: %w", res.JobID, err)
		}
		if err = q.connected(); err == nil {
			_, err = q.js.Publish(ctx, q.resultSubject(res.JobID), data, jetstream.WithMsgID(msgID))
		}
		if err == nil {
			r.succeeded()
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		if permanent(err) {
			err = fmt.Errorf("dispatch: publish result of %s: %w", res.JobID, err)
			if replaced {
				return err // even the short failed result was refused
			}
			msg := err.Error()
			if res.Err != "" {
				msg += "; the job's error began: " + truncate(res.Err, 1024)
			}
			res = Result{JobID: res.JobID, Err: msg, Worker: res.Worker, Attempt: res.Attempt}
			msgID += "#refused"
			replaced = true
			continue
		}
		if err := r.failed(ctx, err); err != nil {
			return err
		}
	}
}

// truncate cuts s to at most n bytes at a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
