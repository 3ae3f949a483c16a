package main

import (
	"bufio"
	"encoding/csv"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const workerStudy = `name: workers
workloads: [%s]
budgets: [1.0]
seeds: [0, 1]
tuning:
  trials: 2
  space:
    peak: {min: 0.03, max: 0.3, scale: log}
eval: {count: 10}
schedules:
  - name: cosine
    spec: cosine(peak=${peak}, steps=${steps})
  - name: linear
    spec: linear(peak=${peak}, steps=${steps})
`

func writeStudy(t *testing.T, workload string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "study.yaml")
	if err := os.WriteFile(p, []byte(strings.Replace(workerStudy, "%s", workload, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// startBench starts `lrkit bench` with no in-process workers and returns
// the command and the queue URL it prints.
func startBench(t *testing.T, bin, study, out string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "bench", study, "-o", out, "--workers", "0", "--ack-wait", "2s", "--quiet")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	r := bufio.NewReader(stderr)
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "queue: ") {
		t.Fatalf("lrkit bench said %q, %v; want the queue URL", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, r) }()
	return cmd, strings.Fields(line)[1]
}

func startWorker(t *testing.T, bin, url string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(bin, "worker", "--nats", url, "--ack-wait", "2s")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, bufio.NewReader(stderr)
}

func waitBench(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("lrkit bench: %v", err)
		}
	case <-time.After(4 * time.Minute):
		t.Fatal("lrkit bench did not finish in 4 minutes")
	}
}

// readResults returns results.csv as key → (final metric, steps to
// target, status).
func readResults(t *testing.T, dir string) map[string][3]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	out := map[string][3]string{}
	for _, r := range rows[1:] {
		out[r[col["key"]]] = [3]string{r[col["final_metric"]], r[col["steps_to_target"]], r[col["status"]]}
	}
	return out
}

// gridWorkerStudy is workerStudy in grid mode: its trials are planned as
// results come (grids, an extension, evaluation runs).
const gridWorkerStudy = `name: workers
workloads: [logreg-iris]
budgets: [0.5]
seeds: [0, 1]
tuning:
  mode: grid
  seeds: [7]
  warmup: 0.05
  grid: {points: 5, range: [0.03, 0.3], extend: 1}
eval: {count: 10}
schedules:
  - name: cosine
    spec: warmup(cosine(peak=${peak}, steps=${steps}), steps=${warmup})
  - name: linear
    spec: warmup(linear(peak=${peak}, steps=${steps}), steps=${warmup})
`

// The same study run by two `lrkit worker` processes gives the results of
// the in-process run, trial for trial, in external and in grid mode.
func TestBenchTwoWorkerProcessesMatchInProcess(t *testing.T) {
	bin := buildLrkit(t)
	study := writeStudy(t, "logreg-iris")
	grid := filepath.Join(t.TempDir(), "grid.yaml")
	if err := os.WriteFile(grid, []byte(gridWorkerStudy), 0o644); err != nil {
		t.Fatal(err)
	}
	matchWorkers(t, bin, study, 8)
	matchWorkers(t, bin, grid, 0)
}

// matchWorkers runs a study in-process and with two worker processes and
// compares the results; n > 0 is the number of trials it must have, 0
// (grid mode) at least 2 × 5 grid points and 2 × 2 evaluation runs.
func matchWorkers(t *testing.T, bin, study string, n int) {
	t.Helper()
	ref := filepath.Join(t.TempDir(), "ref")
	if out, err := exec.Command(bin, "bench", study, "-o", ref, "--quiet").CombinedOutput(); err != nil {
		t.Fatalf("in-process bench: %v\n%s", err, out)
	}
	two := filepath.Join(t.TempDir(), "two")
	bench, url := startBench(t, bin, study, two)
	w1, _ := startWorker(t, bin, url)
	w2, _ := startWorker(t, bin, url)
	waitBench(t, bench)
	_ = w1.Process.Signal(syscall.SIGINT)
	_ = w2.Process.Signal(syscall.SIGINT)
	want, got := readResults(t, ref), readResults(t, two)
	if n > 0 && len(want) != n || n == 0 && len(want) < 14 || len(got) != len(want) {
		t.Fatalf("%s: %d and %d trials, want %d (grid mode: at least 14)", study, len(want), len(got), n)
	}
	for k, w := range want {
		if got[k] != w || w[2] != "done" {
			t.Errorf("trial %s: in-process %v, two workers %v", k, w, got[k])
		}
	}
}

// A worker process killed with SIGKILL in the middle of a trial: the trial
// goes to another worker after the ack deadline and the study completes
// with exactly one result per trial.
func TestBenchWorkerKilledMidTrial(t *testing.T) {
	bin := buildLrkit(t)
	study := writeStudy(t, "logreg-illcond-100") // 2000 steps a trial: long enough to die in
	dir := filepath.Join(t.TempDir(), "killed")
	bench, url := startBench(t, bin, study, dir)
	doomed, log := startWorker(t, bin, url)
	var trial string
	for {
		line, err := log.ReadString('\n')
		if err != nil {
			t.Fatalf("worker output ended: %v", err)
		}
		if strings.HasPrefix(line, "worker: trial ") {
			trial = strings.Fields(line)[2]
			break
		}
	}
	if err := doomed.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = doomed.Wait()
	survivor, slog := startWorker(t, bin, url)
	redelivered := make(chan bool, 1)
	go func() {
		found := false
		for {
			line, err := slog.ReadString('\n')
			if err != nil {
				redelivered <- found
				return
			}
			if strings.Contains(line, trial+" (attempt 2)") {
				found = true
			}
		}
	}()
	waitBench(t, bench)
	_ = survivor.Process.Signal(syscall.SIGINT)
	if !<-redelivered {
		t.Errorf("trial %s was not redelivered to the surviving worker as attempt 2", trial)
	}
	got := readResults(t, dir)
	if len(got) != 8 {
		t.Fatalf("%d trials in results.csv, want 8", len(got))
	}
	for k, r := range got {
		if r[2] != "done" {
			t.Errorf("trial %s: status %s", k, r[2])
		}
	}
}

// A study whose name is a path (it would write its report outside
// out/bench) is refused by lrkit bench and lrkit report, and nothing is
// written.
func TestBenchRejectsPathNames(t *testing.T) {
	bin := buildLrkit(t)
	dir := t.TempDir()
	work := filepath.Join(dir, "a", "b", "c")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	study := filepath.Join(dir, "evil.yaml")
	text := strings.Replace(strings.Replace(workerStudy, "%s", "logreg-iris", 1), "name: workers", "name: '../../..'", 1)
	if err := os.WriteFile(study, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"bench", study, "--quiet"}, {"report", "../../.."}} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = work
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), `study name "../../.."`) {
			t.Errorf("lrkit %s: err %v, output %q; want a study-name error", strings.Join(args, " "), err, out)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 { // a and evil.yaml
		t.Errorf("the refused study wrote into %s: %v", dir, entries)
	}
	if _, err := os.Stat(filepath.Join(work, "out")); err == nil {
		t.Errorf("the refused study created %s/out", work)
	}
}
