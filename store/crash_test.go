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
	"syscall"
	"testing"
	"time"

	"github.com/lrkit/lrkit/runlog"
)

const crashBatch = 20

// TestCrashChild is the process that TestNoAcknowledgedMetricLost kills:
// it appends metric batches as fast as it can and prints "ack N" after
// each commit. It does nothing in a normal test run.
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
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		batch := make([]runlog.Record, crashBatch)
		for j := range batch {
			batch[j] = runlog.Record{Step: int64(i*crashBatch + j), Loss: float64(i), Present: runlog.FieldLoss}
		}
		_, err := s.AppendMetrics(ctx, p.ID, runs[0].ID, strconv.Itoa(i), batch, func(r *Run, fresh []runlog.Record) error {
			r.ControllerState = []byte(strconv.Itoa(i))
			return nil
		})
		if err != nil {
			fmt.Fprintln(out, "error", err)
			out.Flush()
			os.Exit(1)
		}
		fmt.Fprintf(out, "ack %d\n", i)
		out.Flush()
	}
}

// TestNoAcknowledgedMetricLost kills a process with SIGKILL while it writes
// metric batches to an SQLite store, reopens the store and checks that
// every batch the process saw committed is there, whole, with the
// controller state that committed with it.
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
	run, _ := s.CreateRun(ctx, p.ID, "r", "constant(lr=0.1)", 1<<30, []byte("-1"))
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
	acked := -1
	sc := bufio.NewScanner(stdout)
	deadline := time.Now().Add(30 * time.Second)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "error") {
			cmd.Process.Kill()
			t.Fatalf("child: %s", line)
		}
		if n, ok := strings.CutPrefix(line, "ack "); ok {
			acked, _ = strconv.Atoi(n)
		}
		if acked >= 30 || time.Now().After(deadline) {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if acked < 0 {
		t.Fatal("the child acknowledged no batch")
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
	if len(recs) < (acked+1)*crashBatch {
		t.Fatalf("%d records after the crash, but %d batches of %d were acknowledged", len(recs), acked+1, crashBatch)
	}
	if len(recs)%crashBatch != 0 {
		t.Fatalf("%d records: a batch was stored in part", len(recs))
	}
	for i, r := range recs {
		if r.Step != int64(i) || r.Loss != float64(i/crashBatch) {
			t.Fatalf("record %d = %+v", i, r)
		}
	}
	r, _ := s.GetRun(ctx, p.ID, run.ID)
	if want := strconv.Itoa(len(recs)/crashBatch - 1); string(r.ControllerState) != want {
		t.Errorf("controller state %s, want %s (the last committed batch's)", r.ControllerState, want)
	}
	t.Logf("killed after %d acknowledged batches; %d batches stored", acked+1, len(recs)/crashBatch)
}
