package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lrkit/lrkit/runlog"
)

const (
	crashBatch   = 20 // records per batch
	crashWriters = 8  // goroutines appending at once, so that batches share commits
)

// crashStep is the first step of writer w's i-th batch: every batch has
// its own steps.
func crashStep(w, i int) int64 { return int64((i*crashWriters + w) * crashBatch) }

// TestCrashChild is the process that TestNoAcknowledgedMetricLost kills:
// crashWriters goroutines append metric batches to one run as fast as
// they can, each printing "ack W I" once its batch I has committed, and
// every batch's update counts the batches in the controller state. It
// does nothing in a normal test run.
func TestCrashChild(t *testing.T) {
	path := os.Getenv("LRKIT_STORE_CRASH_DB")
	if path == "" {
		t.Skip("helper process for TestNoAcknowledgedMetricLost")
	}
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	p, _ := s.ProjectByName(ctx, "p")
	runs, _ := s.ListRuns(ctx, p.ID)
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	for w := range crashWriters {
		go func() {
			for i := 0; ; i++ {
				batch := make([]runlog.Record, crashBatch)
				for j := range batch {
					batch[j] = runlog.Record{Step: crashStep(w, i) + int64(j), Loss: float64(i), Present: runlog.FieldLoss}
				}
				_, err := s.AppendMetrics(ctx, p.ID, runs[0].ID, fmt.Sprint(w, "-", i), batch, func(c *Change) error {
					n, err := strconv.Atoi(string(c.Run.ControllerState))
					c.Run.ControllerState = []byte(strconv.Itoa(n + 1))
					return err
				})
				mu.Lock()
				if err != nil {
					fmt.Fprintln(out, "error", err)
					out.Flush()
					os.Exit(1)
				}
				groups, batches := s.CommitStats()
				fmt.Fprintf(out, "ack %d %d %d %d\n", w, i, groups, batches)
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	select {}
}

// TestNoAcknowledgedMetricLost kills a process with SIGKILL while its
// goroutines append metric batches to an SQLite store through the group
// commit, reopens the store and checks that every batch the process saw
// committed is there, whole, and that the controller state, which every
// stored batch advanced in the same transaction, counts exactly the
// batches stored.
func TestNoAcknowledgedMetricLost(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crash.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.CreateProject(ctx, "p")
	run, _ := s.CreateRun(ctx, p.ID, "r", "constant(lr=0.1)", 1<<30, []byte("0"))
	s.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "LRKIT_STORE_CRASH_DB="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[[2]int]bool{}
	var groups, batches int
	sc := bufio.NewScanner(stdout)
	deadline := time.Now().Add(30 * time.Second)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "error") {
			cmd.Process.Kill()
			t.Fatalf("child: %s", line)
		}
		var w, i int
		if _, err := fmt.Sscanf(line, "ack %d %d %d %d", &w, &i, &groups, &batches); err == nil {
			acked[[2]int{w, i}] = true
		}
		if len(acked) >= 300 || time.Now().After(deadline) {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if len(acked) == 0 {
		t.Fatal("the child acknowledged no batch")
	}
	if batches <= groups {
		t.Errorf("%d batches in %d commits: the batches were not grouped, the test checks the ungrouped path", batches, groups)
	}

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recs, err := s.Metrics(ctx, p.ID, run.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[int64]runlog.Record{}
	for _, r := range recs {
		stored[r.Step] = r
	}
	for k := range acked {
		for j := range int64(crashBatch) {
			r, ok := stored[crashStep(k[0], k[1])+j]
			if !ok || r.Loss != float64(k[1]) {
				t.Fatalf("acknowledged batch %d-%d: step %d is %+v, %v", k[0], k[1], crashStep(k[0], k[1])+j, r, ok)
			}
		}
	}
	if len(recs)%crashBatch != 0 {
		t.Fatalf("%d records: a batch was stored in part", len(recs))
	}
	for i := 0; i < len(recs); i += crashBatch {
		if recs[i].Step%crashBatch != 0 || recs[i+crashBatch-1].Step != recs[i].Step+crashBatch-1 {
			t.Fatalf("records %d..%d are not one whole batch: steps %d..%d", i, i+crashBatch-1, recs[i].Step, recs[i+crashBatch-1].Step)
		}
	}
	r, _ := s.GetRun(ctx, p.ID, run.ID)
	if want := strconv.Itoa(len(recs) / crashBatch); string(r.ControllerState) != want || r.Version != int64(1+len(recs)/crashBatch) {
		t.Errorf("controller state %s at version %d, want %s at %d (one per stored batch)", r.ControllerState, r.Version, want, 1+len(recs)/crashBatch)
	}
	t.Logf("killed after %d acknowledged batches (%d commits of %d batches); %d batches stored", len(acked), groups, batches, len(recs)/crashBatch)
}
