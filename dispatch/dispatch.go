// Package dispatch runs benchmark trials on workers through a NATS
// JetStream work queue: an embedded NATS server in-process by default, with
// workers as goroutines, or an external cluster with workers on other
// machines; the code path is the same.
//
// Jobs go to a work-queue stream read by one shared durable pull consumer
// (a work-queue stream allows only one unfiltered consumer), so each job is
// delivered to one worker at a time. A worker that dies mid-job does not
// acknowledge it, and JetStream redelivers the job after its ack deadline;
// a job that makes progress extends its deadline with heartbeats. Results
// go to a second stream that a collector reads. Publishing uses message
// IDs, so a job or result sent twice within the duplicate window is stored
// once; the consumer of the results (the benchmark's store) must still
// accept only the first result of a job, because a job whose worker was
// presumed dead may finish twice.
package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Embedded is a NATS server with JetStream running in this process, bound
// to a free loopback port.
type Embedded struct {
	ns *server.Server
}

// StartEmbedded starts a NATS server with JetStream storing its streams
// under storeDir, listening on 127.0.0.1 at a free port.
func StartEmbedded(storeDir string) (*Embedded, error) {
	ns, err := server.NewServer(&server.Options{
		Host:      "127.0.0.1",
		Port:      -1,
		JetStream: true,
		StoreDir:  storeDir,
		NoSigs:    true,
		NoLog:     true,
	})
	if err != nil {
		return nil, fmt.Errorf("dispatch: embedded NATS server: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("dispatch: embedded NATS server did not become ready in 10s")
	}
	return &Embedded{ns: ns}, nil
}

// URL is the server's client URL, for workers in other processes.
func (e *Embedded) URL() string { return e.ns.ClientURL() }

// Close shuts the server down and waits for it.
func (e *Embedded) Close() {
	e.ns.Shutdown()
	e.ns.WaitForShutdown()
}

// Config sets the names and timing of a queue. The zero value is usable.
type Config struct {
	// Name prefixes the streams, subjects and consumers ("LRKIT" by
	// default); studies that must not share workers use different names.
	Name string
	// AckWait is how long a worker may hold a job without a heartbeat
	// before the job is redelivered to another worker (30s by default).
	AckWait time.Duration
	// MaxDeliver bounds the deliveries of one job (5 by default); a job
	// whose workers all die is then given up and reported by the
	// collector as lost.
	MaxDeliver int
	// Worker names this process in results (host and pid by default).
	Worker string
}

func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = "LRKIT"
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 5
	}
	if c.Worker == "" {
		host, _ := os.Hostname()
		c.Worker = host + ":" + strconv.Itoa(os.Getpid())
	}
	return c
}

// Job is one unit of work: an ID unique within the queue and an opaque
// payload (the benchmark sends a trial spec as JSON).
type Job struct {
	ID      string `json:"id"`
	Payload []byte `json:"payload"`
	// Attempt counts deliveries of this job, from 1; set on receipt.
	Attempt int `json:"-"`
}

// Result is what a worker reports for a job.
type Result struct {
	JobID   string `json:"job_id"`
	Payload []byte `json:"payload,omitempty"`
	Err     string `json:"err,omitempty"` // the handler's error, if it failed
	Worker  string `json:"worker"`
	Attempt int    `json:"attempt"`
}

// Handler runs one job. It calls heartbeat while it makes progress (at any
// rate: heartbeats are forwarded at most a few times per ack deadline) so
// that a long job is not redelivered, and returns the result payload.
type Handler func(ctx context.Context, job Job, heartbeat func()) ([]byte, error)

// Queue is a connection to the job and result streams.
type Queue struct {
	cfg     Config
	nc      *nats.Conn
	js      jetstream.JetStream
	jobs    jetstream.Stream
	results jetstream.Stream
}

// Connect connects to the NATS server at url and creates the streams and
// consumers if they do not exist.
func Connect(ctx context.Context, url string, cfg Config) (*Queue, error) {
	cfg = cfg.withDefaults()
	nc, err := nats.Connect(url, nats.Name("lrkit "+cfg.Worker), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("dispatch: connect to %s: %w", url, err)
	}
	q, err := open(ctx, nc, cfg)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return q, nil
}

func open(ctx context.Context, nc *nats.Conn, cfg Config) (*Queue, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("dispatch: jetstream: %w", err)
	}
	jobs, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       cfg.Name + "_JOBS",
		Subjects:   []string{cfg.Name + ".jobs"},
		Retention:  jetstream.WorkQueuePolicy,
		Storage:    jetstream.FileStorage,
		Duplicates: 10 * time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("dispatch: create job stream: %w", err)
	}
	results, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       cfg.Name + "_RESULTS",
		Subjects:   []string{cfg.Name + ".results"},
		Retention:  jetstream.WorkQueuePolicy,
		Storage:    jetstream.FileStorage,
		Duplicates: 10 * time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("dispatch: create result stream: %w", err)
	}
	return &Queue{cfg: cfg, nc: nc, js: js, jobs: jobs, results: results}, nil
}

// Close closes the connection.
func (q *Queue) Close() { q.nc.Close() }

// Submit puts a job on the queue. Submitting the same job ID again within
// the duplicate window (10 minutes) is a no-op.
func (q *Queue) Submit(ctx context.Context, job Job) error {
	if job.ID == "" {
		return errors.New("dispatch: job has no ID")
	}
	data, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("dispatch: encode job %s: %w", job.ID, err)
	}
	if _, err := q.js.Publish(ctx, q.cfg.Name+".jobs", data, jetstream.WithMsgID(job.ID)); err != nil {
		return fmt.Errorf("dispatch: submit job %s: %w", job.ID, err)
	}
	return nil
}

// Pending returns the number of jobs not yet acknowledged by a worker.
func (q *Queue) Pending(ctx context.Context) (uint64, error) {
	info, err := q.jobs.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("dispatch: job stream info: %w", err)
	}
	return info.State.Msgs, nil
}

func (q *Queue) consumer(ctx context.Context, s jetstream.Stream, name string, ackWait time.Duration, maxDeliver int) (jetstream.Consumer, error) {
	c, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:    q.cfg.Name + "_" + name,
		AckPolicy:  jetstream.AckExplicitPolicy,
		AckWait:    ackWait,
		MaxDeliver: maxDeliver,
	})
	if err != nil {
		return nil, fmt.Errorf("dispatch: %s consumer: %w", name, err)
	}
	return c, nil
}

// Work takes jobs one at a time and runs h on each until ctx is done. A
// job's result (or its error) is published before the job is
// acknowledged, so a worker that dies between the two leaves the job to be
// redelivered, never lost; the result consumer drops the duplicate.
func (q *Queue) Work(ctx context.Context, h Handler) error {
	cons, err := q.consumer(ctx, q.jobs, "workers", q.cfg.AckWait, q.cfg.MaxDeliver)
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return fmt.Errorf("dispatch: fetch job: %w", err)
		}
		for msg := range batch.Messages() {
			if err := q.runOne(ctx, msg, h); err != nil {
				return err
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
			return fmt.Errorf("dispatch: fetch job: %w", err)
		}
	}
	return nil
}

func (q *Queue) runOne(ctx context.Context, msg jetstream.Msg, h Handler) error {
	var job Job
	if err := json.Unmarshal(msg.Data(), &job); err != nil {
		// A malformed job can never succeed: terminate it rather than loop.
		_ = msg.TermWithReason("malformed job")
		return nil
	}
	if md, err := msg.Metadata(); err == nil {
		job.Attempt = int(md.NumDelivered)
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
	payload, herr := h(ctx, job, heartbeat)
	if ctx.Err() != nil {
		// Interrupted: leave the job for another worker at once.
		_ = msg.Nak()
		return nil
	}
	res := Result{JobID: job.ID, Payload: payload, Worker: q.cfg.Worker, Attempt: job.Attempt}
	if herr != nil {
		res.Err = herr.Error()
	}
	data, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("dispatch: encode result of %s: %w", job.ID, err)
	}
	msgID := job.ID + "#" + strconv.Itoa(job.Attempt)
	if _, err := q.js.Publish(ctx, q.cfg.Name+".results", data, jetstream.WithMsgID(msgID)); err != nil {
		_ = msg.Nak()
		return fmt.Errorf("dispatch: publish result of %s: %w", job.ID, err)
	}
	if err := msg.Ack(); err != nil {
		return fmt.Errorf("dispatch: ack job %s: %w", job.ID, err)
	}
	return nil
}

// Collect reads results until ctx is done, calling fn for each. A result
// is acknowledged when fn returns nil; on error it is redelivered later.
// fn may see two results for one job (a worker presumed dead that finished
// anyway): it must keep the first.
func (q *Queue) Collect(ctx context.Context, fn func(Result) error) error {
	cons, err := q.consumer(ctx, q.results, "collector", 30*time.Second, -1)
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		batch, err := cons.Fetch(16, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return fmt.Errorf("dispatch: fetch results: %w", err)
		}
		for msg := range batch.Messages() {
			var r Result
			if err := json.Unmarshal(msg.Data(), &r); err != nil {
				_ = msg.TermWithReason("malformed result")
				continue
			}
			if err := fn(r); err != nil {
				_ = msg.NakWithDelay(time.Second)
				continue
			}
			if err := msg.Ack(); err != nil && ctx.Err() == nil {
				return fmt.Errorf("dispatch: ack result of %s: %w", r.JobID, err)
			}
		}
	}
	return nil
}
