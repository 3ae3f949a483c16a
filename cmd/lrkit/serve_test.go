package main

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
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
	cmd   *exec.Cmd
	url   string
	token string // the token it printed on creating its database, if it did
	log   *bytes.Buffer
	mu    *sync.Mutex
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
			if _, tok, ok := strings.Cut(line, "its API token (shown once): "); ok {
				p.mu.Lock()
				p.token = tok
				p.mu.Unlock()
			}
			if u, ok := strings.CutPrefix(line, "lrkit serve: listening on "); ok {
				urlc <- u
			}
		}
	}()
	select {
	case p.url = <-urlc:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("lrkit serve did not start: %s", p.log)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return p
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

// killRuns is how many runs TestServeKillRestart feeds at once: each from
// its own trainer, so that the server's group commit stores batches of
// several runs together.
const killRuns = 4

// TestServeKillRestart SIGKILLs a real server in the middle of metric
// traffic from killRuns trainers at once (batches grouped into shared
// commits), restarts it on the same database, and checks that every
// acknowledged metric is stored and that each run's controller continues
// with the rates of a controller that observed exactly its stored metrics.
//
// It runs as lrkit serve runs by default, and with --ingest-nice 19
// (batches decoded and committed on lowered threads): an acknowledgement
// means committed either way.
func TestServeKillRestart(t *testing.T) {
	bin := buildLrkit(t)
	for _, extra := range [][]string{nil, {"--ingest-nice", "19"}} {
		t.Run(strings.Join(append([]string{"serve"}, extra...), " "), func(t *testing.T) { testKillRestart(t, bin, extra...) })
	}
}

func testKillRestart(t *testing.T, bin string, extra ...string) {
	db := filepath.Join(t.TempDir(), "lrkit.db")
	p := startServe(t, bin, db, extra...)
	tok := p.token
	p.mu.Lock()
	log := p.log.String()
	p.mu.Unlock()
	if len(extra) > 0 && runtime.GOOS == "linux" && !strings.Contains(log, "lrkit serve: metric ingest at nice 19 (") {
		t.Errorf("serve %v did not say it lowered ingest:\n%s", extra, log)
	}
	if !strings.Contains(log, "lrkit serve: metric commits take at most 0.33 of the time while rates are being answered (--ingest-share)") {
		t.Errorf("serve %v did not say how it shares the processors with rates:\n%s", extra, log)
	}
	if tok == "" {
		t.Fatalf("serve printed no token on a new database:\n%s", p.log)
	}
	runs := make([]int64, killRuns)
	for i := range runs {
		var run struct{ ID int64 }
		if _, err := call(tok, "POST", p.url+"/v1/runs", map[string]any{"name": fmt.Sprint("r", i), "spec": plateauSpec, "budget": 100000}, &run); err != nil {
			t.Fatal(err)
		}
		runs[i] = run.ID
	}
	var mu sync.Mutex
	acked := make([]map[int64]bool, killRuns)
	var total, commits, batches int
	killed := make(chan struct{})
	var wg sync.WaitGroup
	for i := range runs {
		acked[i] = map[int64]bool{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var step int64
			for b := 0; ; b++ {
				recs := make([]metricRec, 10)
				for j := range recs {
					recs[j] = metricRec{Step: step + int64(j), Loss: staircase(step + int64(j))}
				}
				code, err := call(tok, "POST", fmt.Sprintf("%s/v1/runs/%d/metrics", p.url, runs[i]), map[string]any{"batch_id": fmt.Sprint("b", b), "metrics": recs}, nil)
				if code == 0 {
					return // the server is gone
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, r := range recs {
					acked[i][r.Step] = true
				}
				total++
				if total == 160 {
					// Read the group commit counters, then kill while
					// batches are in flight.
					resp, err := http.Get(p.url + "/metrics")
					if err == nil {
						body, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						fmt.Sscanf(promValue(string(body), "lrkit_store_commits_total"), "%d", &commits)
						fmt.Sscanf(promValue(string(body), "lrkit_store_committed_batches_total"), "%d", &batches)
					}
					go func() { time.Sleep(200 * time.Microsecond); p.cmd.Process.Signal(syscall.SIGKILL); close(killed) }()
				}
				mu.Unlock()
				step += 10
			}
		}()
	}
	select {
	case <-killed:
	case <-time.After(2 * time.Minute):
		t.Fatal("no kill after 2 minutes")
	}
	wg.Wait()
	p.cmd.Wait()
	if ws := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("server exit: %v", p.cmd.ProcessState)
	}
	if batches <= commits {
		t.Errorf("%d batches in %d commits before the kill: the batches were not grouped", batches, commits)
	}
	q := startServe(t, bin, db, extra...)
	if q.token != "" {
		t.Errorf("the restarted server created a project again")
	}
	for i, id := range runs {
		var ms struct{ Metrics []metricRec }
		if _, err := call(tok, "GET", fmt.Sprintf("%s/v1/runs/%d/metrics?limit=100000", q.url, id), nil, &ms); err != nil {
			t.Fatal(err)
		}
		stored := map[int64]bool{}
		c, err := control.Parse(plateauSpec)
		if err != nil {
			t.Fatal(err)
		}
		for k, m := range ms.Metrics {
			stored[m.Step] = true
			if m.Step != int64(k) || m.Loss != staircase(m.Step) {
				t.Fatalf("run %d: metric %d: %+v", id, k, m)
			}
			c.Observe(runlog.Record{Step: m.Step, Loss: m.Loss, Present: runlog.FieldLoss})
		}
		for st := range acked[i] {
			if !stored[st] {
				t.Errorf("run %d: acknowledged step %d lost", id, st)
			}
		}
		last := int64(len(ms.Metrics))
		var lrs struct{ LRs []float64 }
		if _, err := call(tok, "GET", fmt.Sprintf("%s/v1/runs/%d/lr?from=%d&to=%d", q.url, id, last, last+50), nil, &lrs); err != nil {
			t.Fatal(err)
		}
		if want := c.LR(last); want >= 0.1 {
			t.Errorf("run %d: the controller never reduced its rate (%v): the test checks nothing", id, want)
		}
		for k, v := range lrs.LRs {
			if v != c.LR(last+int64(k)) {
				t.Errorf("run %d: after restart lr(%d) = %v, want %v", id, last+int64(k), v, c.LR(last+int64(k)))
			}
		}
		t.Logf("run %d: %d steps acknowledged, %d stored, rate after restart %v", id, len(acked[i]), len(stored), c.LR(last))
	}
	t.Logf("%d batches in %d commits before the kill", batches, commits)
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

// promValue returns the value of an unlabelled Prometheus series in a
// /metrics answer.
func promValue(body, name string) string {
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

// testPostgres returns the PostgreSQL URL of LRKIT_TEST_POSTGRES, starting
// a throwaway server with store/testdata/pg.sh for "auto" (stopped after
// the test); it skips the test without it.
func testPostgres(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("LRKIT_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("LRKIT_TEST_POSTGRES not set (a postgres:// URL, or auto to start one with store/testdata/pg.sh)")
	}
	if dsn == "auto" {
		out, err := exec.Command("../../store/testdata/pg.sh", "start").Output()
		if err != nil {
			t.Fatalf("pg.sh start: %v", err)
		}
		dsn = strings.TrimSpace(string(out))
		t.Cleanup(func() { exec.Command("../../store/testdata/pg.sh", "stop", dsn).Run() })
	}
	return dsn
}

// TestServeTwoReplicasPostgres starts two real servers at once on one
// empty PostgreSQL database (one of them creates the first project,
// exactly one); trainers post one run's metrics to both at once and no
// update is lost.
func TestServeTwoReplicasPostgres(t *testing.T) {
	dsn := testPostgres(t)
	bin := buildLrkit(t)
	if os.Getenv("LRKIT_TEST_POSTGRES") != "auto" {
		// A shared server: a fresh schema for this test.
		dsn = freshPostgresSchema(t, dsn)
	}
	var a, b *serveProc
	var starting sync.WaitGroup
	starting.Add(2)
	go func() { defer starting.Done(); a = startServe(t, bin, dsn, "--refresh", "10ms") }()
	go func() { defer starting.Done(); b = startServe(t, bin, dsn, "--refresh", "10ms") }()
	starting.Wait()
	if a == nil || b == nil {
		t.FailNow() // startServe said why
	}
	if (a.token == "") == (b.token == "") {
		t.Fatalf("replicas starting together on an empty database printed tokens %q and %q: want exactly one\n%s\n%s", a.token, b.token, a.log, b.log)
	}
	tok := a.token + b.token
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

// freshPostgresSchema creates an empty schema in the PostgreSQL database at
// url and returns a URL whose search_path is that schema; it is dropped
// after the test.
func freshPostgresSchema(t *testing.T, url string) string {
	t.Helper()
	schema := fmt.Sprint("lrkit_serve_test_", time.Now().UnixNano())
	admin, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "search_path=" + schema
}

// postgresPIDs returns the processes of the throwaway PostgreSQL server
// behind url (pg.sh's): the postmaster and its children.
func postgresPIDs(t *testing.T, url string) []int {
	t.Helper()
	port := url[strings.LastIndex(url, ":")+1:]
	port = port[:strings.Index(port, "/")]
	b, err := os.ReadFile("/tmp/lrkit-pg-" + port + "/data/postmaster.pid")
	if err != nil {
		t.Skipf("not pg.sh's server: %v", err)
	}
	pid, _ := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	pids := []int{pid}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			pids = append(pids, child)
		}
	}
	return pids
}

// With its PostgreSQL database frozen (SIGSTOP), a server keeps answering
// rates from its cache, and every request that needs the database fails
// with 503 within --db-timeout instead of hanging; /healthz says so. When
// the database thaws, writes work again.
func TestServePostgresFrozen(t *testing.T) {
	if os.Getenv("LRKIT_TEST_POSTGRES") != "auto" {
		t.Skip("LRKIT_TEST_POSTGRES=auto: freezes the throwaway PostgreSQL server it starts")
	}
	dsn := testPostgres(t)
	bin := buildLrkit(t)
	p := startServe(t, bin, dsn, "--db-timeout", "1s")
	tok := p.token
	var run struct{ ID int64 }
	if _, err := call(tok, "POST", p.url+"/v1/runs", map[string]any{"name": "frozen", "spec": "cosine(peak=0.1, steps=1000)", "budget": 1000}, &run); err != nil {
		t.Fatal(err)
	}
	lr := func() (int, error) {
		return call(tok, "GET", fmt.Sprintf("%s/v1/runs/%d/lr?step=500", p.url, run.ID), nil, nil)
	}
	if _, err := lr(); err != nil {
		t.Fatal(err)
	}
	pids := postgresPIDs(t, dsn)
	signal := func(sig syscall.Signal) {
		for _, pid := range pids {
			syscall.Kill(pid, sig)
		}
	}
	signal(syscall.SIGSTOP)
	t.Cleanup(func() { signal(syscall.SIGCONT) })
	for i := range 20 {
		start := time.Now()
		if code, err := lr(); err != nil || time.Since(start) > time.Second {
			t.Fatalf("rate %d with the database frozen: %d %v after %v", i, code, err, time.Since(start))
		}
	}
	for _, c := range []struct{ method, path, body string }{
		{"POST", fmt.Sprintf("/v1/runs/%d/metrics", run.ID), `{"batch_id":"f","metrics":[{"step":0,"loss":2}]}`},
		{"GET", fmt.Sprintf("/v1/runs/%d/metrics", run.ID), ""},
		{"POST", fmt.Sprintf("/v1/runs/%d/actions/pause", run.ID), ""},
		{"GET", "/healthz", ""},
	} {
		req, _ := http.NewRequest(c.method, p.url+c.path, strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer "+tok)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if d := time.Since(start); resp.StatusCode != 503 || d > 5*time.Second || !strings.Contains(string(b), "unavailable") {
			t.Errorf("%s %s with the database frozen: %d %s after %v; want 503 within the 1s timeout (and the 2s of /healthz)", c.method, c.path, resp.StatusCode, b, d)
		}
	}
	signal(syscall.SIGCONT)
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := call(tok, "POST", fmt.Sprintf("%s/v1/runs/%d/metrics", p.url, run.ID), map[string]any{"batch_id": "thawed", "metrics": []metricRec{{Step: 0, Loss: 2}}}, nil)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes after the database thawed: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestServeDatabaseStates: a truncated (0-byte) SQLite file is refused
// (exit 2, naming --init and backups) and --init starts afresh in it; a
// file with garbage in the middle is refused (exit 1, the integrity
// check's finding); /healthz reports the database.
func TestServeDatabaseStates(t *testing.T) {
	bin := buildLrkit(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "lrkit.db")
	p := startServe(t, bin, db)
	tok := p.token
	var run struct{ ID int64 }
	if _, err := call(tok, "POST", p.url+"/v1/runs", map[string]any{"name": "r", "spec": "constant(peak=0.1)", "budget": 1000000}, &run); err != nil {
		t.Fatal(err)
	}
	for b := range 40 { // enough pages for garbage in the middle to hit data
		recs := make([]metricRec, 500)
		for i := range recs {
			recs[i] = metricRec{Step: int64(b*500 + i), Loss: 2}
		}
		if _, err := call(tok, "POST", fmt.Sprintf("%s/v1/runs/%d/metrics", p.url, run.ID), map[string]any{"batch_id": fmt.Sprint(b), "metrics": recs}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var health struct {
		Status   string
		Database struct {
			Kind, Integrity string
			Schema          int
			Reachable       bool
		}
	}
	if _, err := call("", "GET", p.url+"/healthz", nil, &health); err != nil || health.Status != "ok" || health.Database.Kind != "sqlite" ||
		health.Database.Integrity != "ok" || health.Database.Schema < 3 || !health.Database.Reachable {
		t.Errorf("healthz: %+v, %v", health, err)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()

	start := func(args ...string) (int, string) {
		cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		done := make(chan error, 1)
		cmd.Start()
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
			return -1, errb.String()
		}
		return cmd.ProcessState.ExitCode(), errb.String()
	}
	// Garbage in the middle.
	damaged := filepath.Join(dir, "damaged.db")
	data, _ := os.ReadFile(db)
	if len(data) < 512<<10 {
		t.Fatalf("database of %d bytes: too small for the test", len(data))
	}
	mid := len(data) / 2 / 4096 * 4096
	for i := mid; i < mid+64<<10; i++ {
		data[i] = byte(i*7 + 3)
	}
	os.WriteFile(damaged, data, 0o644)
	if code, out := start("--db", damaged); code != 1 || !strings.Contains(out, "integrity check: database damaged") || !strings.Contains(out, "restore it from a backup") {
		t.Errorf("a damaged database: exit %d\n%s", code, out)
	}
	// Truncated to nothing.
	os.Truncate(db, 0)
	os.Remove(db + "-wal")
	os.Remove(db + "-shm")
	if code, out := start("--db", db); code != 2 || !strings.Contains(out, "is empty (0 bytes)") || !strings.Contains(out, "--init") {
		t.Errorf("a truncated database: exit %d\n%s", code, out)
	}
	q := startServe(t, bin, db, "--init")
	if q.token == "" || q.token == tok {
		t.Errorf("--init on the emptied file: token %q (was %q)", q.token, tok)
	}
}

// serve token --list and --revoke: a revoked token is refused by a running
// server within its token cache time (10 s).
func TestServeTokenListRevoke(t *testing.T) {
	bin := buildLrkit(t)
	db := filepath.Join(t.TempDir(), "lrkit.db")
	p := startServe(t, bin, db, "--project", "p")
	out, err := exec.Command(bin, "serve", "token", "--project", "p", "--db", db, "--name", "ci").Output()
	if err != nil {
		t.Fatal(err)
	}
	ci := strings.TrimSpace(string(out))
	if _, err := call(ci, "GET", p.url+"/v1/project", nil, nil); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(bin, "serve", "token", "--project", "p", "--db", db, "--list").Output()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err != nil || len(lines) != 2 || !strings.HasPrefix(lines[0], "1\tbootstrap\t") || !strings.HasPrefix(lines[1], "2\tci\t") {
		t.Fatalf("--list: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "serve", "token", "--project", "p", "--db", db, "--revoke", "2").Output(); err != nil || string(out) != "revoked token 2 of project \"p\"\n" {
		t.Fatalf("--revoke: %v %q", err, out)
	}
	r := runLrkit("serve", "token", "--project", "p", "--db", db, "--revoke", "2")
	if r.code != 2 || !strings.Contains(r.stderr, "--revoke 2: no live token with that ID") {
		t.Errorf("revoking twice: %d %s", r.code, r.stderr)
	}
	deadline := time.Now().Add(12 * time.Second)
	for {
		code, _ := call(ci, "GET", p.url+"/v1/project", nil, nil)
		if code == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the revoked token still works after 12 s (status %d)", code)
		}
		time.Sleep(250 * time.Millisecond)
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
	// The torch test must have run and passed: unittest names a skipped
	// test too, so the name alone proves nothing.
	if !regexp.MustCompile(`test_tiny_model \(test_lrkit_client\.TorchTest(\.test_tiny_model)?\) \.\.\. ok`).Match(out) {
		t.Errorf("torch test did not run and pass:\n%s", out)
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
		{[]string{"serve", "--db", db, "--db-timeout", "0s"}, "--db-timeout 0s: want a positive duration"},
		{[]string{"serve", "--db", db, "--max-steps", "0"}, "--max-steps 0: want a positive number of steps"},
		{[]string{"serve", "--db", db, "--ingest-nice", "20"}, "--ingest-nice 20: want 0 (off) to 19"},
		{[]string{"serve", "--db", db, "--ingest-nice", "-1"}, "--ingest-nice -1: want 0 (off) to 19"},
		{[]string{"serve", "--db", db, "--ingest-share", "0"}, "--ingest-share 0: want more than 0, at most 1"},
		{[]string{"serve", "--db", db, "--ingest-share", "1.5"}, "--ingest-share 1.5: want more than 0, at most 1"},
		{[]string{"serve", "--db", db, "--ingest-share", "NaN"}, "--ingest-share NaN: want more than 0, at most 1"},
		{[]string{"serve", "--db", db, "--addr", "nonsense"}, "--addr: listen tcp: address nonsense: missing port in address"},
		{[]string{"serve", "token", "--db", db, "--project", "p", "--list", "--revoke", "3"}, "--list and --revoke: give one of them"},
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

// lrkit serve --behind-proxy trusts X-Forwarded-Proto and X-Forwarded-For,
// and only with it: the sign-in form's cookie is Secure when the proxy
// says the browser used https, and failed authentications (20 allowed in
// a row, then 429 with Retry-After) are counted per X-Forwarded-For
// address instead of per connection.
func TestServeBehindProxy(t *testing.T) {
	bin := buildLrkit(t)
	for _, tc := range []struct {
		name        string
		flags       []string
		secure      bool
		otherClient int // the status of another X-Forwarded-For address after one was refused
	}{
		{"direct", nil, false, http.StatusTooManyRequests},
		{"behind a proxy", []string{"--behind-proxy"}, true, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startServe(t, bin, filepath.Join(t.TempDir(), "lrkit.db"), tc.flags...)
			send := func(tok, path string, hdr ...string) *http.Response {
				t.Helper()
				req, _ := http.NewRequest("GET", p.url+path, nil)
				if tok != "" {
					req.Header.Set("Authorization", "Bearer "+tok)
				}
				for i := 0; i+1 < len(hdr); i += 2 {
					req.Header.Set(hdr[i], hdr[i+1])
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp
			}
			resp := send("", "/login", "X-Forwarded-Proto", "https")
			if ck := resp.Cookies(); len(ck) != 1 || ck[0].Secure != tc.secure {
				t.Errorf("sign-in page with X-Forwarded-Proto: https: cookies %v, want Secure %v", ck, tc.secure)
			}
			for i := range 20 {
				if resp := send(fmt.Sprintf("lrk_guess%d", i), "/v1/project", "X-Forwarded-For", "192.0.2.1"); resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("wrong token %d: %d, want 401", i, resp.StatusCode)
				}
			}
			resp = send(p.token, "/v1/project", "X-Forwarded-For", "192.0.2.1")
			if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode != http.StatusTooManyRequests || err != nil || secs < 1 || secs > 6 {
				t.Errorf("after 20 wrong tokens: %d, Retry-After %q; want 429 and at most 6", resp.StatusCode, resp.Header.Get("Retry-After"))
			}
			if resp := send(p.token, "/v1/project", "X-Forwarded-For", "192.0.2.2"); resp.StatusCode != tc.otherClient {
				t.Errorf("another X-Forwarded-For address: %d, want %d", resp.StatusCode, tc.otherClient)
			}
			p.mu.Lock()
			logged := strings.Contains(p.log.String(), "lrkit serve: behind a proxy")
			p.mu.Unlock()
			if logged != tc.secure {
				t.Errorf("startup says behind a proxy: %v, want %v", logged, tc.secure)
			}
		})
	}
}
