package dispatch_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/lrkit/lrkit/dispatch"
)

// A queue on an embedded server: submit jobs, let a worker run them, and
// collect one result per job, a failure included.
func Example() {
	dir, err := os.MkdirTemp("", "dispatch-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	srv, err := dispatch.StartEmbedded(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := dispatch.Config{Name: "EXAMPLE", Worker: "w1", Logger: slog.New(slog.DiscardHandler)}
	q, err := dispatch.Connect(ctx, srv.URL(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	for _, id := range []string{"a", "b", "c"} {
		if err := q.Submit(ctx, dispatch.Job{ID: id, Payload: []byte(id)}); err != nil {
			log.Fatal(err)
		}
	}
	go func() {
		_ = q.Work(ctx, func(_ context.Context, job dispatch.Job, heartbeat func()) ([]byte, error) {
			heartbeat()
			if job.ID == "b" {
				return nil, fmt.Errorf("diverged at step 12")
			}
			return []byte(strings.ToUpper(string(job.Payload))), nil
		})
	}()

	var lines []string
	cctx, stop := context.WithCancel(ctx)
	err = q.Collect(cctx, func(r dispatch.Result) error {
		lines = append(lines, fmt.Sprintf("%s: payload %q, err %q, by %s on attempt %d", r.JobID, r.Payload, r.Err, r.Worker, r.Attempt))
		if len(lines) == 3 {
			stop()
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	sort.Strings(lines)
	fmt.Println(strings.Join(lines, "\n"))
	// Output:
	// a: payload "A", err "", by w1 on attempt 1
	// b: payload "", err "diverged at step 12", by w1 on attempt 1
	// c: payload "C", err "", by w1 on attempt 1
}
