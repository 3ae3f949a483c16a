package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/store"
)

func Example_trials() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "lrkit-store")
	defer os.RemoveAll(dir)
	s, err := store.Open(ctx, filepath.Join(dir, "lrkit.db")) // or a postgres:// URL
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	study, _, _ := s.EnsureStudy(ctx, "quick", "workloads: [mnist-mlp]\n")
	s.AddTrials(ctx, study.ID, []store.TrialSpec{
		{Key: "mnist-mlp/cosine/seed0", Workload: "mnist-mlp", Schedule: "cosine(peak=0.1)", Budget: 2000},
	})
	first, _ := s.FinishTrial(ctx, study.ID, "mnist-mlp/cosine/seed0", "worker-1", json.RawMessage(`{"final_metric":0.978}`))
	again, _ := s.FinishTrial(ctx, study.ID, "mnist-mlp/cosine/seed0", "worker-2", json.RawMessage(`{"final_metric":0.5}`))
	done, _ := s.Trials(ctx, study.ID, store.TrialDone)
	t := done[0]
	fmt.Println(first, again, t.Status, string(t.Result), t.Worker)
	// Output: true false done {"final_metric":0.978} worker-1
}

func Example_runs() {
	ctx := context.Background()
	s, err := store.Open(ctx, ":memory:")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	p, _ := s.CreateProject(ctx, "vision")
	token, _, _ := s.CreateToken(ctx, p.ID, "trainer") // shown once; only its hash is stored
	tok, _ := s.LookupToken(ctx, token)
	run, _ := s.CreateRun(ctx, tok.ProjectID, "resnet-1", "wsd(peak=0.1, decay=0.2)", 10000, []byte(`{"seen":0}`))

	batch := []runlog.Record{
		{Step: 0, LR: 0.01, Loss: 2.30, Present: runlog.FieldLR | runlog.FieldLoss},
		{Step: 1, LR: 0.02, Loss: 2.25, Present: runlog.FieldLR | runlog.FieldLoss},
	}
	observe := func(c *store.Change) error {
		var st struct{ Seen int }
		json.Unmarshal(c.Run.ControllerState, &st)
		fresh, err := c.Fresh()
		if err != nil {
			return err
		}
		st.Seen += len(fresh)
		c.Run.ControllerState, _ = json.Marshal(st)
		return nil
	}
	res, _ := s.AppendMetrics(ctx, tok.ProjectID, run.ID, "batch-1", batch, observe)
	fmt.Println(res.Inserted, res.Duplicate, string(res.Run.ControllerState))
	res, _ = s.AppendMetrics(ctx, tok.ProjectID, run.ID, "batch-1", batch, observe) // a retry
	fmt.Println(res.Inserted, res.Duplicate, string(res.Run.ControllerState))
	// Output:
	// 2 false {"Seen":2}
	// 0 true {"Seen":2}
}

// QueueMetrics does the work before the group commit on the caller's
// goroutine and returns; Wait, possibly on another goroutine, returns the
// result once the batch's transaction has committed.
func ExampleStore_QueueMetrics() {
	ctx := context.Background()
	s, err := store.OpenWith(ctx, ":memory:", store.Options{BackgroundNice: 10}) // committer at nice 10 (Linux)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	p, _ := s.CreateProject(ctx, "vision")
	run, _ := s.CreateRun(ctx, p.ID, "resnet-1", "cosine(peak=0.1)", 1000, []byte(`{}`))
	batch := []runlog.Record{{Step: 0, Loss: 2.3, Present: runlog.FieldLoss}, {Step: 1, Loss: 2.2, Present: runlog.FieldLoss}}
	pending, err := s.QueueMetrics(ctx, p.ID, run.ID, "batch-1", batch, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := pending.Wait()
	fmt.Println(res.Inserted, res.Run.LastStep, err)
	// Output: 2 1 <nil>
}
