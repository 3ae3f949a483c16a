package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Collect reads results until ctx is done, calling fn for each. A result
// is acknowledged when fn returns nil; on error it is redelivered later,
// and so is a result fn holds longer than Config.AckWait. fn may see two
// results for one job (a worker presumed dead that finished anyway): it
// must keep the first.
//
// Collect also reports the jobs given up after their last delivery: it
// removes each from the queue and delivers a Result with Lost set and Err
// saying why, so that whoever waits for every job sees them all end (and
// may submit them again). It rides out a NATS outage like Work.
func (q *Queue) Collect(ctx context.Context, fn func(Result) error) error {
	r := newRetrier("collect results", q.cfg)
	var results, lost jetstream.Consumer
	for ctx.Err() == nil {
		err := func() error {
			if err := q.connected(); err != nil {
				return err
			}
			if results == nil {
				c, l, err := q.collectConsumers(ctx)
				if err != nil {
					return err
				}
				results, lost = c, l
			}
			if err := q.reportLost(ctx, lost); err != nil {
				return err
			}
			return q.collectResults(ctx, results, fn)
		}()
		if ctx.Err() != nil {
			break
		}
		if err == nil {
			r.succeeded()
			continue
		}
		if permanent(err) {
			return fmt.Errorf("dispatch: collect results: %w", err)
		}
		results, lost = nil, nil // recreate them, as Work does
		if err := r.failed(ctx, err); err != nil {
			return err
		}
	}
	return nil
}

func (q *Queue) collectConsumers(ctx context.Context) (results, lost jetstream.Consumer, err error) {
	// After a restart without its state the server has no streams either;
	// ensureStream leaves existing ones alone.
	if _, _, _, err := q.createStreams(ctx); err != nil {
		return nil, nil, err
	}
	results, err = q.consumer(ctx, q.results, q.collectorName(), -1)
	if err != nil {
		return nil, nil, err
	}
	lost, err = q.consumer(ctx, q.lost, q.lostName(), -1)
	if err != nil {
		return nil, nil, err
	}
	return results, lost, nil
}

// collectResults waits up to half a second for results and hands them to
// fn. A fetch that times out while the connection is down is an outage.
func (q *Queue) collectResults(ctx context.Context, cons jetstream.Consumer, fn func(Result) error) error {
	batch, err := cons.Fetch(16, jetstream.FetchMaxWait(500*time.Millisecond))
	if err != nil {
		return err
	}
	for msg := range batch.Messages() {
		var r Result
		if err := json.Unmarshal(msg.Data(), &r); err != nil {
			_ = msg.TermWithReason("malformed result")
			q.cfg.Logger.Error("dispatch: dropped a malformed result", "subject", msg.Subject(), "err", err)
			continue
		}
		if err := fn(r); err != nil {
			_ = msg.NakWithDelay(time.Second)
			continue
		}
		if err := msg.Ack(); err != nil {
			// Redelivered later; fn keeps the first of the two.
			q.cfg.Logger.Warn("dispatch: ack of a result failed", "job", r.JobID, "err", err)
		}
	}
	err = batch.Error()
	if errors.Is(err, nats.ErrTimeout) {
		err = nil
	}
	if err == nil && !q.nc.IsConnected() && ctx.Err() == nil {
		err = nats.ErrDisconnected
	}
	return err
}

// maxDeliveriesAdvisory holds the fields of the server's
// io.nats.jetstream.advisory.v1.max_deliver event that Collect reads
// (nats-server, server/jetstream_events.go).
type maxDeliveriesAdvisory struct {
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries int    `json:"deliveries"`
}

// reportLost turns the max-deliveries advisories waiting in the lost-job
// stream into failed results. Each step is safe to repeat: an advisory is
// acknowledged only after its result is published (with a message ID) and
// its job deleted, so a collector that dies midway redoes the advisory.
func (q *Queue) reportLost(ctx context.Context, cons jetstream.Consumer) error {
	batch, err := cons.FetchNoWait(16)
	if err != nil {
		return fmt.Errorf("fetch lost-job advisories: %w", err)
	}
	for msg := range batch.Messages() {
		if err := q.giveUp(ctx, msg.Data()); err != nil {
			_ = msg.Nak()
			return err
		}
		if err := msg.Ack(); err != nil {
			q.cfg.Logger.Warn("dispatch: ack of a lost-job advisory failed", "err", err)
		}
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
		return fmt.Errorf("fetch lost-job advisories: %w", err)
	}
	return nil
}

// giveUp reports the job named by one max-deliveries advisory as lost and
// removes it from the job stream, so that it may be submitted again.
func (q *Queue) giveUp(ctx context.Context, advisory []byte) error {
	var adv maxDeliveriesAdvisory
	if err := json.Unmarshal(advisory, &adv); err != nil || adv.StreamSeq == 0 {
		q.cfg.Logger.Error("dispatch: dropped a malformed max-deliveries advisory", "advisory", truncate(string(advisory), 512), "err", err)
		return nil
	}
	raw, err := q.jobs.GetMsg(ctx, adv.StreamSeq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil // a late ack removed it, or this advisory was handled before
	}
	if err != nil {
		return fmt.Errorf("read lost job %d: %w", adv.StreamSeq, err)
	}
	var job Job
	if err := json.Unmarshal(raw.Data, &job); err != nil || job.ID == "" {
		q.cfg.Logger.Error("dispatch: deleted a malformed lost job", "seq", adv.StreamSeq, "err", err)
		return q.deleteJob(ctx, adv.StreamSeq)
	}
	res := Result{
		JobID:   job.ID,
		Attempt: adv.Deliveries,
		Lost:    true,
		Err: fmt.Sprintf("dispatch: job %s given up after %d deliveries: each worker that took it died or sent no heartbeat for %s",
			job.ID, adv.Deliveries, q.cfg.AckWait),
	}
	data, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("encode result of %s: %w", job.ID, err)
	}
	msgID := job.ID + "#" + strconv.FormatUint(adv.StreamSeq, 10) + "#lost"
	if _, err := q.js.Publish(ctx, q.resultSubject(job.ID), data, jetstream.WithMsgID(msgID)); err != nil {
		return fmt.Errorf("report lost job %s: %w", job.ID, err)
	}
	q.cfg.Logger.Warn("dispatch: job given up", "job", job.ID, "deliveries", adv.Deliveries)
	return q.deleteJob(ctx, adv.StreamSeq)
}

func (q *Queue) deleteJob(ctx context.Context, seq uint64) error {
	if err := q.jobs.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("delete lost job %d: %w", seq, err)
	}
	return nil
}
