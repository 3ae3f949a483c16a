package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/runlog"
)

// serveProc is a running `lrkit serve`.
type serveProc struct {
	cmd *exec.Cmd
	url string
	log *bytes.Buffer
	mu  *sync.Mutex
}

// startServe starts `lrkit serve` on a free loopback port and waits until
// it listens.
func startServe(t *testing.T, bin, db string, extra ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, extra...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: cmd, log: &bytes.Buffer{}, mu: &sync.Mutex{}}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if u, ok := strings.CutPrefix(line, "lrkit serve: listening on "); ok {
				urlc <- u
			}
		}
	}()
	select {
	case p.url = <-urlc:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("lrkit serve did not start: %s", p.log)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return p
}

func serveToken(t *testing.T, bin, db string) string {
	t.Helper()
	out, err := exec.Command(bin, "serve", "token", "--project", "p", "--db", db).Output()
	if err != nil {
		t.Fatalf("serve token: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// call sends a JSON request and decodes the JSON answer into out; it
// returns the status (0 if the server could not be reached).
func call(tok, method, url string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	if out != nil {
		return resp.StatusCode, json.Unmarshal(b, out)
	}
	return resp.StatusCode, nil
}

type metricRec struct {
	Step int64   `json:"step"`
	Loss float64 `json:"loss"`
}

// staircase is a loss that improves every 20 steps, so a plateau
// controller with patience 5 reduces its rate between improvements.
func staircase(i int64) float64 { return 3 - 0.01*float64(i/20) }

const plateauSpec = "plateau(base=constant(peak=0.1), metric=loss, factor=0.9, patience=5)"

// TestServeKillRestart SIGKILLs a real server in the middle of metric
// traffic, restarts it on the same database, and checks that every
// acknowledged metric is stored and the controller continues with the
// rates of a controller that observed exactly the stored metrics.
func TestServeKillRestart(t *testing.T) {
	bin := buildLrkit(t)
	db := filepath.Join(t.TempDir(), "lrkit.db")
	tok := serveToken(t, bin, db)
	p := startServe(t, bin, db)
	var run struct{ ID int64 }
	if _, err := call(tok, "POST", p.url+"/v1/runs", map[string]any{"name": "r", "spec": plateauSpec, "budget": 100000}, &run); err != nil {
		t.Fatal(err)
	}
	acked := map[int64]bool{}
	var step int64
	killed := false
	for b := 0; ; b++ {
		recs := make([]metricRec, 10)
		for i := range recs {
			recs[i] = metricRec{Step: step + int64(i), Loss: staircase(step + int64(i))}
		}
		if b == 40 {
			// Kill while this batch is in flight.
			go func() { time.Sleep(200 * time.Microsecond); p.cmd.Process.Signal(syscall.SIGKILL) }()
			killed = true
		}
		code, err := call(tok, "POST", fmt.Sprintf("%s/v1/runs/%d/metrics", p.url, run.ID), map[string]any{"batch_id": fmt.Sprint("b", b), "metrics": recs}, nil)
		if err == nil {
			for _, r := range recs {
				acked[r.Step] = true
			}
			step += 10
		} else if code != 0 {
			t.Fatal(err)
		}
		if killed && code == 0 {
			break
		}
		if b > 1000 {
			t.Fatal("server never died")
		}
	}
	p.cmd.Wait()
	if ws := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("server exit: %v", p.cmd.ProcessState)
	}
	q := startServe(t, bin, db)
	var ms struct{ Metrics []metricRec }
	if _, err := call(tok, "GET", fmt.Sprintf("%s/v1/runs/%d/metrics", q.url, run.ID), nil, &ms); err != nil {
		t.Fatal(err)
	}
	stored := map[int64]bool{}
	c, err := control.Parse(plateauSpec)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms.Metrics {
		stored[m.Step] = true
		if m.Step != int64(i) || m.Loss != staircase(m.Step) {
			t.Fatalf("metric %d: %+v", i, m)
		}
		c.Observe(runlog.Record{Step: m.Step, Loss: m.Loss, Present: runlog.FieldLoss})
	}
	for s := range acked {
		if !stored[s] {
			t.Errorf("acknowledged step %d lost", s)
		}
	}
	if len(acked) < 400 {
		t.Errorf("only %d steps acknowledged before the kill", len(acked))
	}
	last := int64(len(ms.Metrics))
	var lrs struct{ LRs []float64 }
	if _, err := call(tok, "GET", fmt.Sprintf("%s/v1/runs/%d/lr?from=%d&to=%d", q.url, run.ID, last, last+50), nil, &lrs); err != nil {
		t.Fatal(err)
	}
	want := c.LR(last)
	if want >= 0.1 {
		t.Errorf("the controller never reduced its rate (%v): the test checks nothing", want)
	}
	for i, v := range lrs.LRs {
		if v != c.LR(last+int64(i)) {
			t.Errorf("after restart lr(%d) = %v, want %v", last+int64(i), v, c.LR(last+int64(i)))
		}
	}
	t.Logf("%d steps acknowledged, %d stored, rate after restart %v", len(acked), len(stored), want)
	// Graceful shutdown on SIGTERM.
	q.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- q.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Error("no exit 15s after SIGTERM")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if !strings.Contains(q.log.String(), "shutting down") {
		t.Errorf("log has no shutdown line:\n%s", q.log)
	}
}

// TestServeTwoReplicasPostgres runs two real servers on one PostgreSQL;
// trainers post one run's metrics to both at once and no update is lost.
func TestServeTwoReplicasPostgres(t *testing.T) {
	dsn := os.Getenv("LRKIT_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("LRKIT_TEST_POSTGRES not set (a postgres:// URL, or auto to start one with store/testdata/pg.sh)")
	}
	bin := buildLrkit(t)
	if dsn == "auto" {
		out, err := exec.Command("../../store/testdata/pg.sh", "start").Output()
		if err != nil {
			t.Fatalf("pg.sh start: %v", err)
		}
		dsn = strings.TrimSpace(string(out))
		t.Cleanup(func() { exec.Command("../../store/testdata/pg.sh", "stop", dsn).Run() })
	}
	tok := serveToken(t, bin, dsn)
	a := startServe(t, bin, dsn, "--refresh", "10ms")
	b := startServe(t, bin, dsn, "--refresh", "10ms")
	name := fmt.Sprint("twin-", time.Now().UnixNano())
	var run struct{ ID int64 }
	if _, err := call(tok, "POST", a.url+"/v1/runs", map[string]any{"name": name, "spec": plateauSpec, "budget": 100000}, &run); err != nil {
		t.Fatal(err)
	}
	const trainers, batches, per = 8, 25, 4
	var wg sync.WaitGroup
	errs := make(chan error, trainers*batches)
	for w := range trainers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range batches {
				url := a.url
				if (w+k)%2 == 1 {
					url = b.url
				}
				base := int64((w*batches + k) * per)
				recs := make([]metricRec, per)
				for i := range recs {
					recs[i] = metricRec{Step: base + int64(i), Loss: staircase(base + int64(i))}
				}
				if _, err := call(tok, "POST", fmt.Sprintf("%s/v1/runs/%d/metrics", url, run.ID), map[string]any{"batch_id": fmt.Sprint(w, "-", k), "metrics": recs}, nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var got struct {
		Version  int64 `json:"version"`
		LastStep int64 `json:"last_step"`
	}
	if _, err := call(tok, "GET", fmt.Sprintf("%s/v1/runs/%d", b.url, run.ID), nil, &got); err != nil {
		t.Fatal(err)
	}
	if want := int64(1 + trainers*batches); got.Version != want || got.LastStep != trainers*batches*per-1 {
		t.Errorf("run version %d, last step %d; want %d updates and last step %d", got.Version, got.LastStep, want, trainers*batches*per-1)
	}
	var ms struct{ Metrics []metricRec }
	if _, err := call(tok, "GET", fmt.Sprintf("%s/v1/runs/%d/metrics?limit=100000", a.url, run.ID), nil, &ms); err != nil {
		t.Fatal(err)
	}
	if len(ms.Metrics) != trainers*batches*per {
		t.Errorf("%d metrics stored, want %d", len(ms.Metrics), trainers*batches*per)
	}
	// Both replicas serve the same rate within the refresh time.
	time.Sleep(50 * time.Millisecond)
	var la, lb struct{ LR float64 }
	call(tok, "GET", fmt.Sprintf("%s/v1/runs/%d/lr?step=%d", a.url, run.ID, got.LastStep+1), nil, &la)
	call(tok, "GET", fmt.Sprintf("%s/v1/runs/%d/lr?step=%d", b.url, run.ID, got.LastStep+1), nil, &lb)
	if la.LR != lb.LR || math.IsNaN(la.LR) || la.LR == 0 {
		t.Errorf("replicas disagree: %v and %v", la.LR, lb.LR)
	}
}

// TestPythonClient runs clients/python's unittest suite (Debian's
// python3, and python3-torch where installed) against real servers
// started from the binary built here.
func TestPythonClient(t *testing.T) {
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("/usr/bin/python3 not installed (Debian package python3)")
	}
	bin := buildLrkit(t)
	cmd := exec.Command(py, "-m", "unittest", "-v", "test_lrkit_client")
	cmd.Dir = "../../clients/python"
	cmd.Env = append(os.Environ(), "LRKIT_BIN="+bin, "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python client tests: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("test_tiny_model")) {
		t.Errorf("torch test did not run:\n%s", out)
	}
	t.Logf("%s", out)
}

// Bad serve flags are rejected before anything is opened or listened on.
func TestServeBadFlags(t *testing.T) {
	db := filepath.Join(t.TempDir(), "never.db")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--db", db, "--refresh", "-1s"}, "--refresh -1s: want a positive duration"},
		{[]string{"serve", "--db", db, "--refresh", "0s"}, "--refresh 0s: want a positive duration"},
		{[]string{"serve", "--db", db, "--log-format", "xml"}, `--log-format "xml": want text or json`},
		{[]string{"serve", "token", "--db", db}, "--project is required"},
	} {
		r := runLrkit(tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and %q", tc.args, r.code, r.stdout, r.stderr, tc.want)
		}
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("a rejected serve created its database: %v", err)
	}
}
