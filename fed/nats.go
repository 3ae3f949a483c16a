package fed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/lrkit/lrkit/dispatch"
)

// DefaultQueue names the NATS JetStream streams that carry federated
// tasks when no other name is given.
const DefaultQueue = "LRKIT_FED"

// NATS is an Executor that sends tasks to client processes
// (`lrkit fed client`, or Serve) through a NATS JetStream work queue
// (package dispatch) and collects their results. Any client process may
// take any task; a task whose process dies is redelivered to another. One
// coordinator uses a queue name at a time (its collector takes every
// result on the queue); NATS is safe for concurrent use by several runs.
type NATS struct {
	q       *dispatch.Queue
	session string
	cancel  context.CancelFunc
	done    chan struct{}

	mu      sync.Mutex
	seq     int64
	waiters map[string]chan dispatch.Result
	err     error // the collector's error, once it stopped
}

// NewNATS connects to the NATS server at url and starts collecting
// results from the queue's result stream.
func NewNATS(ctx context.Context, url, queue string) (*NATS, error) {
	if queue == "" {
		queue = DefaultQueue
	}
	q, err := dispatch.Connect(ctx, url, dispatch.Config{Name: queue})
	if err != nil {
		return nil, err
	}
	var nonce [6]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		q.Close()
		return nil, err
	}
	cctx, cancel := context.WithCancel(context.Background())
	n := &NATS{q: q, session: hex.EncodeToString(nonce[:]), cancel: cancel, done: make(chan struct{}),
		waiters: map[string]chan dispatch.Result{}}
	go n.collect(cctx)
	return n, nil
}

func (n *NATS) collect(ctx context.Context) {
	defer close(n.done)
	err := n.q.Collect(ctx, func(r dispatch.Result) error {
		n.mu.Lock()
		ch, ok := n.waiters[r.JobID]
		delete(n.waiters, r.JobID) // the first result of a task wins
		n.mu.Unlock()
		if ok {
			ch <- r
		}
		return nil // a duplicate, or a leftover of another session: drop it
	})
	if err == nil {
		err = errors.New("fed: NATS result collector stopped")
	}
	n.mu.Lock()
	n.err = err
	n.mu.Unlock()
}

// Close stops collecting and closes the connection.
func (n *NATS) Close() {
	n.cancel()
	<-n.done
	n.q.Close()
}

// Start submits the task as a job.
func (n *NATS) Start(ctx context.Context, t *Task) (Pending, error) {
	payload, err := EncodeTask(t)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	if n.err != nil {
		n.mu.Unlock()
		return nil, n.err
	}
	n.seq++
	id := n.session + "." + strconv.FormatInt(n.seq, 10)
	ch := make(chan dispatch.Result, 1)
	n.waiters[id] = ch
	n.mu.Unlock()
	if err := n.q.Submit(ctx, dispatch.Job{ID: id, Payload: payload}); err != nil {
		n.mu.Lock()
		delete(n.waiters, id)
		n.mu.Unlock()
		return nil, fmt.Errorf("%w (the task for client %d is %d bytes: the NATS server's max_payload must exceed it by a third, for base64)", err, t.Client, len(payload))
	}
	return &remote{n: n, id: id, ch: ch, client: t.Client}, nil
}

type remote struct {
	n      *NATS
	id     string
	ch     chan dispatch.Result
	client int
	res    *Result
	err    error
	done   bool
}

func (p *remote) Wait(ctx context.Context) (*Result, error) {
	if p.done {
		return p.res, p.err
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case r := <-p.ch:
			p.done = true
			switch {
			case r.Lost:
				p.err = fmt.Errorf("client %d's local round was lost: %s", p.client, r.Err)
			case r.Err != "":
				p.err = fmt.Errorf("client process %s: %s", r.Worker, r.Err)
			default:
				p.res, p.err = DecodeResult(r.Payload)
			}
			return p.res, p.err
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
			p.n.mu.Lock()
			err := p.n.err
			p.n.mu.Unlock()
			if err != nil {
				return nil, fmt.Errorf("waiting for client %d: %w", p.client, err)
			}
		}
	}
}

// ServeOptions configure a client process.
type ServeOptions struct {
	Queue    string        // DefaultQueue when empty
	Parallel int           // tasks run at once (1 when ≤ 0)
	AckWait  time.Duration // a task is redelivered after this without progress (30s when 0)
	Log      io.Writer     // one line per task when set
}

// Serve runs federated clients in this process: it takes tasks from the
// queue at url, trains them (building each task's environment once, from
// the data sets on this machine) and sends the results back, until ctx is
// done.
func Serve(ctx context.Context, url string, o ServeOptions) error {
	if o.Queue == "" {
		o.Queue = DefaultQueue
	}
	q, err := dispatch.Connect(ctx, url, dispatch.Config{Name: o.Queue, AckWait: o.AckWait})
	if err != nil {
		return err
	}
	defer q.Close()
	envs := NewEnvs()
	var logMu sync.Mutex
	handle := func(ctx context.Context, job dispatch.Job, heartbeat func()) ([]byte, error) {
		t, err := DecodeTask(job.Payload)
		if err != nil {
			return nil, err
		}
		env, err := envs.Get(ctx, t.Env)
		if err != nil {
			return nil, err
		}
		heartbeat()
		start := time.Now()
		res, err := env.Train(ctx, t)
		if err != nil {
			return nil, err
		}
		if o.Log != nil {
			logMu.Lock()
			fmt.Fprintf(o.Log, "task %s: client %d, %d steps at rate %g, loss %.4f, %v\n", job.ID, t.Client, t.Steps, t.LR, res.Loss, time.Since(start).Round(time.Millisecond))
			logMu.Unlock()
		}
		return EncodeResult(res)
	}
	par := max(1, o.Parallel)
	errs := make(chan error, par)
	for range par {
		go func() { errs <- q.Work(ctx, handle) }()
	}
	var first error
	for range par {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}
