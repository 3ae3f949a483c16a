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
// go to a second stream that a collector reads.
//
// A job that exhausts its deliveries (every worker that took it died or
// went silent; a "poison" job) is not lost: JetStream publishes a
// max-deliveries advisory, which a third stream keeps until the collector
// reads it, removes the job and reports a failed [Result] with Lost set.
//
// Each job has a subject of its own (derived from its ID), so [Queue.Submit]
// can tell whether a job is still queued, running or awaiting collection
// (then submitting it again is a no-op) or has finished (then it runs
// again): a failed or lost job can be resubmitted at once. Results carry
// message IDs, so a result sent twice within the duplicate window is stored
// once; the consumer of the results (the benchmark's store) must still
// accept only the first result of a job, because a job whose worker was
// presumed dead may finish twice.
//
// Workers, the collector and Submit ride out a NATS outage (a server
// restart, a network cut): they retry with bounded exponential backoff,
// log each retry, and give up only when NATS has been unreachable for
// Config.RetryFor.
package dispatch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
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
	return startEmbedded(embeddedOptions(storeDir))
}

func embeddedOptions(storeDir string) *server.Options {
	return &server.Options{
		Host:      "127.0.0.1",
		Port:      -1,
		JetStream: true,
		StoreDir:  storeDir,
		NoSigs:    true,
		NoLog:     true,
	}
}

// startEmbedded starts a server with the given options; tests restart a
// server on the port and store of one they shut down.
func startEmbedded(o *server.Options) (*Embedded, error) {
	ns, err := server.NewServer(o)
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
	// before the job is redelivered to another worker, and how long the
	// collector may take over one result before it is redelivered (30s by
	// default).
	AckWait time.Duration
	// MaxDeliver bounds the deliveries of one job (5 by default); a job
	// whose workers all die is then given up and reported by the
	// collector as lost. Workers set it on the shared consumer, so all
	// workers of a queue should use the same value.
	MaxDeliver int
	// RetryFor is how long Connect, Submit, Work and Collect keep retrying
	// while NATS is unreachable, counted from the first failure of an
	// outage, before they return an error (5 minutes by default; negative
	// retries until the context is done). The attempt under way when it
	// runs out may add one request timeout (5s).
	RetryFor time.Duration
	// Worker names this process in results (host and pid by default).
	Worker string
	// Logger receives the outage, retry and lost-job reports
	// (slog.Default() by default).
	Logger *slog.Logger
}

// DefaultRetryFor is Config.RetryFor's default.
const DefaultRetryFor = 5 * time.Minute

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
	if c.RetryFor == 0 {
		c.RetryFor = DefaultRetryFor
	}
	if c.Worker == "" {
		host, _ := os.Hostname()
		c.Worker = host + ":" + strconv.Itoa(os.Getpid())
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
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

// Result is what a worker reports for a job, or what the collector reports
// for a job it gave up.
type Result struct {
	JobID   string `json:"job_id"`
	Payload []byte `json:"payload,omitempty"`
	Err     string `json:"err,omitempty"` // why the job failed; empty on success
	Worker  string `json:"worker"`        // empty when Lost
	Attempt int    `json:"attempt"`       // the delivery that produced it
	// Lost is set when no worker produced a result: the job was delivered
	// Config.MaxDeliver times and each worker died or went silent past the
	// ack deadline. Err then says so (it is never empty), and Attempt is
	// the number of deliveries.
	Lost bool `json:"lost,omitempty"`
}

// Handler runs one job. It calls heartbeat while it makes progress (at any
// rate: heartbeats are forwarded at most a few times per ack deadline) so
// that a long job is not redelivered, and returns the result payload. A
// handler that panics fails its job with the panic's message.
type Handler func(ctx context.Context, job Job, heartbeat func()) ([]byte, error)

// Queue is a connection to the job and result streams.
type Queue struct {
	cfg     Config
	nc      *nats.Conn
	js      jetstream.JetStream
	jobs    jetstream.Stream
	results jetstream.Stream
	lost    jetstream.Stream
}

// Connect connects to the NATS server at url and creates the streams if
// they do not exist. While the server is unreachable it retries for
// cfg.RetryFor.
func Connect(ctx context.Context, url string, cfg Config) (*Queue, error) {
	cfg = cfg.withDefaults()
	r := newRetrier("connect to "+url, cfg)
	for {
		q, err := connectOnce(ctx, url, cfg)
		if err == nil {
			r.succeeded()
			return q, nil
		}
		if ctx.Err() != nil || permanent(err) {
			return nil, fmt.Errorf("dispatch: connect to %s: %w", url, err)
		}
		if err := r.failed(ctx, err); err != nil {
			return nil, err
		}
	}
}

func connectOnce(ctx context.Context, url string, cfg Config) (*Queue, error) {
	log := cfg.Logger
	nc, err := nats.Connect(url,
		nats.Name("lrkit "+cfg.Worker),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("dispatch: disconnected from NATS", "worker", cfg.Worker, "err", err)
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("dispatch: NATS error", "worker", cfg.Worker, "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("dispatch: reconnected to NATS", "worker", cfg.Worker, "url", nc.ConnectedUrlRedacted())
		}))
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	q := &Queue{cfg: cfg, nc: nc, js: js}
	q.jobs, q.results, q.lost, err = q.createStreams(ctx)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return q, nil
}

// Stream and consumer names.
func (q *Queue) jobStream() string     { return q.cfg.Name + "_JOBS" }
func (q *Queue) workersName() string   { return q.cfg.Name + "_workers" }
func (q *Queue) collectorName() string { return q.cfg.Name + "_collector" }
func (q *Queue) lostName() string      { return q.cfg.Name + "_lost" }

// subjectToken is a job ID's token in subjects: the first 128 bits of its
// SHA-256 in hex, since IDs may hold characters subjects cannot.
func subjectToken(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:16])
}

func (q *Queue) jobSubject(id string) string    { return q.cfg.Name + ".jobs." + subjectToken(id) }
func (q *Queue) resultSubject(id string) string { return q.cfg.Name + ".results." + subjectToken(id) }

// maxDeliveriesSubject is where the server publishes its advisory for a
// job that reached MaxDeliver.
func (q *Queue) maxDeliveriesSubject() string {
	return "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + q.jobStream() + "." + q.workersName()
}

// createStreams creates the job, result and lost-job streams, or updates
// them if their configuration differs. It is idempotent; Work and Collect
// run it again when the server came back from an outage without its
// streams (the handles it returns then are equal to the first ones, which
// name the streams only).
func (q *Queue) createStreams(ctx context.Context) (jobs, results, lost jetstream.Stream, err error) {
	jobs, err = q.ensureStream(ctx, jetstream.StreamConfig{
		Name:      q.jobStream(),
		Subjects:  []string{q.cfg.Name + ".jobs.*"},
		Retention: jetstream.WorkQueuePolicy,
		Storage:   jetstream.FileStorage,
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("create job stream: %w", err)
	}
	results, err = q.ensureStream(ctx, jetstream.StreamConfig{
		Name:       q.cfg.Name + "_RESULTS",
		Subjects:   []string{q.cfg.Name + ".results.*"},
		Retention:  jetstream.WorkQueuePolicy,
		Storage:    jetstream.FileStorage,
		Duplicates: 10 * time.Minute,
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("create result stream: %w", err)
	}
	// The server sends advisories only while someone listens; a stream
	// on the subject keeps them for a collector that is not running yet.
	lost, err = q.ensureStream(ctx, jetstream.StreamConfig{
		Name:      q.cfg.Name + "_LOST",
		Subjects:  []string{q.maxDeliveriesSubject()},
		Retention: jetstream.WorkQueuePolicy,
		Storage:   jetstream.FileStorage,
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("create lost-job stream: %w", err)
	}
	return jobs, results, lost, nil
}

// ensureStream returns the stream named in cfg, creating it, or updating
// it if its subjects, retention, storage or duplicate window differ. A
// stream that already matches is not updated: nats-server v2.15.2 races
// (go test -race) between a stream update and a consumer created at the
// same time, which workers starting together would otherwise cause.
func (q *Queue) ensureStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	s, err := q.js.Stream(ctx, cfg.Name)
	switch {
	case err == nil:
		have := s.CachedInfo().Config
		if slices.Equal(have.Subjects, cfg.Subjects) && have.Retention == cfg.Retention &&
			have.Storage == cfg.Storage && (cfg.Duplicates == 0 || have.Duplicates == cfg.Duplicates) {
			return s, nil
		}
	case !errors.Is(err, jetstream.ErrStreamNotFound):
		return nil, err
	}
	return q.js.CreateOrUpdateStream(ctx, cfg)
}

// Close closes the connection.
func (q *Queue) Close() { q.nc.Close() }

// Submit puts a job on the queue. Submitting a job that is queued, running
// or whose result awaits the collector is a no-op; a job that finished
// (its result collected, failed or lost included) runs again. A job may
// still run twice if it finishes between the two checks Submit makes, so
// the consumer of the results must keep the first.
func (q *Queue) Submit(ctx context.Context, job Job) error {
	if job.ID == "" {
		return errors.New("dispatch: job has no ID")
	}
	data, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("dispatch: encode job %s: %w", job.ID, err)
	}
	r := newRetrier("submit job "+job.ID, q.cfg)
	for {
		err := q.submitOnce(ctx, job.ID, data)
		if err == nil {
			r.succeeded()
			return nil
		}
		if ctx.Err() != nil || permanent(err) {
			return fmt.Errorf("dispatch: submit job %s: %w", job.ID, err)
		}
		if err := r.failed(ctx, err); err != nil {
			return err
		}
	}
}

func (q *Queue) submitOnce(ctx context.Context, id string, data []byte) error {
	if err := q.connected(); err != nil {
		return err
	}
	_, err := q.results.GetLastMsgForSubject(ctx, q.resultSubject(id))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		// The server came back without its state.
		if _, _, _, err := q.createStreams(ctx); err != nil {
			return err
		}
		_, err = q.results.GetLastMsgForSubject(ctx, q.resultSubject(id))
	}
	if err == nil {
		return nil // finished; the collector will deliver its result
	}
	if !errors.Is(err, jetstream.ErrMsgNotFound) {
		return err
	}
	// Publish only if the stream holds no message of this job: the check
	// and the store are one step in the server.
	_, err = q.js.Publish(ctx, q.jobSubject(id), data, jetstream.WithExpectLastSequencePerSubject(0))
	if code(err) == jetstream.JSErrCodeStreamWrongLastSequence {
		return nil // queued or running
	}
	return err
}

// Pending returns the number of jobs not yet acknowledged by a worker or
// given up.
func (q *Queue) Pending(ctx context.Context) (uint64, error) {
	info, err := q.jobs.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("dispatch: job stream info: %w", err)
	}
	return info.State.Msgs, nil
}

func (q *Queue) consumer(ctx context.Context, s jetstream.Stream, durable string, maxDeliver int) (jetstream.Consumer, error) {
	c, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:    durable,
		AckPolicy:  jetstream.AckExplicitPolicy,
		AckWait:    q.cfg.AckWait,
		MaxDeliver: maxDeliver,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", durable, err)
	}
	return c, nil
}

// code is the JetStream error code of err, or 0.
func code(err error) jetstream.ErrorCode {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode
	}
	return 0
}
