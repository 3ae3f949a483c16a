package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
)

// TestIncrementChild increments a run's counter state in its own process
// for TestTwoProcessesNoLostUpdate. It does nothing in a normal test run.
func TestIncrementChild(t *testing.T) {
	dsn := os.Getenv("LRKIT_STORE_INC_DSN")
	if dsn == "" {
		t.Skip("helper process for TestTwoProcessesNoLostUpdate")
	}
	n, _ := strconv.Atoi(os.Getenv("LRKIT_STORE_INC_N"))
	if err := increment(dsn, n); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
}

// increment adds 1 to the counter in the state of project p's run r, n
// times, each in its own UpdateRun.
func increment(dsn string, n int) error {
	ctx := context.Background()
	s, err := Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer s.Close()
	p, err := s.ProjectByName(ctx, "p")
	if err != nil {
		return err
	}
	runs, err := s.ListRuns(ctx, p.ID)
	if err != nil || len(runs) != 1 {
		return fmt.Errorf("runs of p: %d, %v", len(runs), err)
	}
	for range n {
		_, err := s.UpdateRun(ctx, p.ID, runs[0].ID, func(c *Change) error {
			var n int
			if err := json.Unmarshal(c.Run.ControllerState, &n); err != nil {
				return err
			}
			c.Run.ControllerState = []byte(strconv.Itoa(n + 1))
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// TestTwoProcessesNoLostUpdate has two processes and this one update one
// run's controller state at the same time, as server replicas sharing a
// database do, and checks that no update is lost.
func TestTwoProcessesNoLostUpdate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	const each = 40
	forEach(t, func(t *testing.T, s *Store, dsn string) {
		ctx := context.Background()
		p, _ := s.CreateProject(ctx, "p")
		run, _ := s.CreateRun(ctx, p.ID, "r", "plateau()", 100, []byte("0"))
		var wg sync.WaitGroup
		errs := make(chan error, 3)
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := exec.Command(os.Args[0], "-test.run=^TestIncrementChild$", "-test.count=1")
				cmd.Env = append(os.Environ(), "LRKIT_STORE_INC_DSN="+dsn, "LRKIT_STORE_INC_N="+strconv.Itoa(each))
				if out, err := cmd.CombinedOutput(); err != nil {
					errs <- fmt.Errorf("child: %v\n%s", err, out)
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := increment(dsn, each); err != nil {
				errs <- err
			}
		}()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		r, err := s.GetRun(ctx, p.ID, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if string(r.ControllerState) != strconv.Itoa(3*each) || r.Version != 1+3*each {
			t.Errorf("counter %s at version %d, want %d at %d: an update was lost", r.ControllerState, r.Version, 3*each, 1+3*each)
		}
	})
}
