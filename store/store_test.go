package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lrkit/lrkit/runlog"
)

// backend is one database the tests run against.
type backend struct {
	name string
	dsn  func(t *testing.T) string // a fresh, empty database
}

// backends returns SQLite always and PostgreSQL when LRKIT_TEST_POSTGRES
// is a URL (store/testdata/pg.sh starts a throwaway server).
func backends() []backend {
	bs := []backend{{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "lrkit.db") }}}
	if url := os.Getenv("LRKIT_TEST_POSTGRES"); url != "" {
		bs = append(bs, backend{"postgres", func(t *testing.T) string { return freshSchema(t, url) }})
	}
	return bs
}

// freshSchema creates an empty schema in the PostgreSQL database at url and
// returns a URL whose search_path is that schema; it is dropped after the
// test.
func freshSchema(t *testing.T, url string) string {
	t.Helper()
	var raw [6]byte
	rand.Read(raw[:])
	schema := "lrkit_test_" + hex.EncodeToString(raw[:])
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

// forEach runs test against every backend with a freshly opened store.
func forEach(t *testing.T, test func(t *testing.T, s *Store, dsn string)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.dsn(t)
			s, err := Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			test(t, s, dsn)
		})
	}
}

func TestMigrations(t *testing.T) {
	ms, err := Migrations()
	if err != nil || len(ms) == 0 {
		t.Fatalf("migrations %v, %v", ms, err)
	}
	ctx := context.Background()
	forEach(t, func(t *testing.T, s *Store, dsn string) {
		v, err := s.schemaVersion(ctx)
		if err != nil || v != ms[len(ms)-1].Version {
			t.Fatalf("schema version %d, %v; want %d", v, err, ms[len(ms)-1].Version)
		}
		// Opening again, from several goroutines at once, applies nothing
		// more and fails nothing.
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s2, err := Open(ctx, dsn)
				if err != nil {
					errs <- err
					return
				}
				errs <- s2.Close()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("re-open: %v", err)
			}
		}
		var rows int
		if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_version").Scan(&rows); err != nil || rows != len(ms) {
			t.Fatalf("schema_version has %d rows (%v), want %d", rows, err, len(ms))
		}
		// Every table of the schema is there.
		for _, table := range []string{"studies", "trials", "trial_records", "study_scores", "projects", "api_tokens", "runs", "run_batches", "run_metrics", "run_events"} {
			var n int
			if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
				t.Errorf("table %s: %v", table, err)
			}
		}
	})
}

func TestStatements(t *testing.T) {
	got := statements("-- c\nCREATE TABLE a (\n\tx INT\n);\n\nCREATE INDEX i ON a (x);\n")
	want := []string{"CREATE TABLE a (\n\tx INT\n);", "CREATE INDEX i ON a (x);"}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("statements %q, want %q", got, want)
	}
}

func TestPlaceholders(t *testing.T) {
	s := &Store{dialect: dialectPostgres}
	if got := s.q("SELECT a FROM t WHERE b = ? AND c IN (?, ?)"); got != "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)" {
		t.Fatalf("postgres query %q", got)
	}
	s.dialect = dialectSQLite
	if got := s.q("b = ?"); got != "b = ?" {
		t.Fatalf("sqlite query %q", got)
	}
}

func TestRedact(t *testing.T) {
	if got := redact("postgres://u:secret@h:5432/db"); got != "postgres://u:***@h:5432/db" {
		t.Fatalf("redact: %q", got)
	}
}

func newStudy(t *testing.T, s *Store, name string, keys ...string) Study {
	t.Helper()
	ctx := context.Background()
	st, err := s.createStudy(ctx, name, "workloads: [mnist-mlp]\n")
	if err != nil {
		t.Fatal(err)
	}
	var specs []TrialSpec
	for i, k := range keys {
		specs = append(specs, TrialSpec{Key: k, Workload: "mnist-mlp", Schedule: "cosine(peak=0.1)",
			HParams: json.RawMessage(`{"peak":0.1}`), Seed: int64(i), Budget: 1000})
	}
	if n, err := s.AddTrials(ctx, st.ID, specs); err != nil || n != len(keys) {
		t.Fatalf("AddTrials: %d, %v", n, err)
	}
	return st
}

// trialByKey returns the trial of a study with the given key.
func trialByKey(t *testing.T, s *Store, studyID int64, key string) Trial {
	t.Helper()
	all, err := s.Trials(context.Background(), studyID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range all {
		if tr.Key == key {
			return tr
		}
	}
	t.Fatalf("no trial %q in study %d", key, studyID)
	return Trial{}
}

// setRunning marks a trial running, as a worker that took it would.
func setRunning(t *testing.T, s *Store, studyID int64, key string) {
	t.Helper()
	if _, err := s.w.Exec(s.q("UPDATE trials SET status = 'running' WHERE study_id = ? AND trial_key = ?"), studyID, key); err != nil {
		t.Fatal(err)
	}
}

func TestTrialLifecycle(t *testing.T) {
	ctx := context.Background()
	forEach(t, func(t *testing.T, s *Store, _ string) {
		st := newStudy(t, s, "s1", "a", "b", "c")
		if _, err := s.createStudy(ctx, "s1", "x"); !errors.Is(err, ErrExists) {
			t.Errorf("duplicate study: %v", err)
		}
		again, created, err := s.EnsureStudy(ctx, "s1", "other spec")
		if err != nil || created || again.ID != st.ID || again.Spec != "workloads: [mnist-mlp]\n" {
			t.Errorf("EnsureStudy existing: %+v %v %v", again, created, err)
		}
		// Adding the same trials again (a resumed study) adds nothing.
		n, err := s.AddTrials(ctx, st.ID, []TrialSpec{{Key: "a"}, {Key: "d", Workload: "w", Schedule: "constant"}})
		if err != nil || n != 1 {
			t.Fatalf("AddTrials again: %d, %v; want 1 new", n, err)
		}
		tr := trialByKey(t, s, st.ID, "a")
		if tr.Status != TrialPending || string(tr.HParams) != `{"peak":0.1}` || tr.Seed != 0 || tr.Budget != 1000 || tr.Schedule != "cosine(peak=0.1)" {
			t.Errorf("trial spec not kept: %+v", tr)
		}
		if ok, err := s.FinishTrial(ctx, st.ID, "a", "w2", json.RawMessage(`{"final":0.97}`)); !ok || err != nil {
			t.Fatalf("FinishTrial: %v %v", ok, err)
		}
		if err := s.FailTrial(ctx, st.ID, "a", "w3", "boom"); err != nil {
			t.Fatal(err)
		}
		tr = trialByKey(t, s, st.ID, "a")
		if tr.Status != TrialDone || string(tr.Result) != `{"final":0.97}` || tr.Error != "" || tr.Worker != "w2" || tr.Finished.IsZero() {
			t.Errorf("finished trial changed by a late failure: %+v", tr)
		}
		if _, err := s.FinishTrial(ctx, st.ID, "zzz", "w", json.RawMessage(`{}`)); !errors.Is(err, ErrNotFound) {
			t.Errorf("finish of an unknown trial: %v", err)
		}
		if _, err := s.FinishTrial(ctx, st.ID, "b", "w", json.RawMessage(`{bad`)); err == nil {
			t.Errorf("invalid JSON result accepted")
		}
		setRunning(t, s, st.ID, "b")
		setRunning(t, s, st.ID, "c")
		s.FailTrial(ctx, st.ID, "c", "w1", "diverged")
		if n, err := s.ResetRunning(ctx, st.ID); err != nil || n != 1 {
			t.Errorf("ResetRunning: %d, %v; want 1 (trial b)", n, err)
		}
		pending, _ := s.Trials(ctx, st.ID, TrialPending)
		failed, _ := s.Trials(ctx, st.ID, TrialFailed)
		all, _ := s.Trials(ctx, st.ID)
		if len(pending) != 2 || pending[0].Key != "b" || pending[1].Key != "d" || len(failed) != 1 || failed[0].Error != "diverged" || len(all) != 4 {
			t.Errorf("pending %+v failed %+v all %d", pending, failed, len(all))
		}
	})
}

func TestFinishTrialExactlyOnce(t *testing.T) {
	ctx := context.Background()
	forEach(t, func(t *testing.T, s *Store, _ string) {
		keys := []string{"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"}
		st := newStudy(t, s, "race", keys...)
		for _, key := range keys {
			var wg sync.WaitGroup
			wins := make(chan int, 8)
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ok, err := s.FinishTrial(ctx, st.ID, key, fmt.Sprintf("w%d", g), json.RawMessage(fmt.Sprintf(`{"by":%d}`, g)))
					if err != nil {
						t.Error(err)
						return
					}
					if ok {
						wins <- g
					}
				}()
			}
			wg.Wait()
			close(wins)
			var winners []int
			for g := range wins {
				winners = append(winners, g)
			}
			if len(winners) != 1 {
				t.Fatalf("trial %s: %d calls stored a result, want exactly 1", key, len(winners))
			}
			tr := trialByKey(t, s, st.ID, key)
			if want := fmt.Sprintf(`{"by":%d}`, winners[0]); string(tr.Result) != want || tr.Worker != fmt.Sprintf("w%d", winners[0]) {
				t.Errorf("trial %s holds %s by %s, want the winner's %s", key, tr.Result, tr.Worker, want)
			}
		}
	})
}

func sameRecords(t *testing.T, got, want []runlog.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		ok := g.Step == w.Step && g.Present == w.Present && g.ExamplesSeen == w.ExamplesSeen
		for _, f := range runlog.AllFields.Fields() {
			a, _ := g.Value(f)
			b, _ := w.Value(f)
			ok = ok && (a == b || (math.IsNaN(a) && math.IsNaN(b)))
		}
		if !ok {
			t.Errorf("record %d = %+v, want %+v", i, g, w)
		}
	}
}

// Every field of a record, NaN and infinities included, survives a
// round trip through run_metrics, over more than one INSERT chunk.
func TestRecordRoundTrip(t *testing.T) {
	ctx := context.Background()
	forEach(t, func(t *testing.T, s *Store, _ string) {
		p, _ := s.CreateProject(ctx, "p")
		run, _ := s.CreateRun(ctx, p.ID, "r", "constant(lr=0.1)", 1000, nil)
		recs := []runlog.Record{
			{Step: 0, LR: 1e-3 / 3, Loss: 2.5, Present: runlog.FieldLR | runlog.FieldLoss},
			{Step: 1, LR: 0.1, Present: runlog.FieldLR},
			{Step: 2, Loss: math.NaN(), ValLoss: math.Inf(1), GradNorm: math.Inf(-1), Present: runlog.FieldLoss | runlog.FieldValLoss | runlog.FieldGradNorm},
			{Step: 3, ExamplesSeen: 1 << 40, WallSeconds: math.NaN(), ValMetric: 0.97, Present: runlog.FieldExamplesSeen | runlog.FieldWallSeconds | runlog.FieldValMetric},
		}
		for i := 4; i < 450; i++ { // more than one INSERT chunk
			recs = append(recs, runlog.Record{Step: int64(i), LR: float64(i), Loss: 1 / float64(i), Present: runlog.FieldLR | runlog.FieldLoss})
		}
		if _, err := s.AppendMetrics(ctx, p.ID, run.ID, "all", recs, nil); err != nil {
			t.Fatal(err)
		}
		// Chunks whose records all report the same fields (present bits
		// written into the INSERT, not bound), NaN among them.
		var same []runlog.Record
		for i := 450; i < 450+64+10; i++ {
			same = append(same, runlog.Record{Step: int64(i), Loss: 1 / float64(i), Present: runlog.FieldLoss})
		}
		same[3].Loss, same[70].Loss = math.NaN(), math.NaN()
		if res, err := s.AppendMetrics(ctx, p.ID, run.ID, "same", same, nil); err != nil || res.Inserted != len(same) {
			t.Fatal(res, err)
		}
		recs = append(recs, same...)
		got, err := s.Metrics(ctx, p.ID, run.ID, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		sameRecords(t, got, recs)
	})
}

func TestTokensAndIsolation(t *testing.T) {
	ctx := context.Background()
	forEach(t, func(t *testing.T, s *Store, _ string) {
		a, err := s.CreateProject(ctx, "alpha")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := s.CreateProject(ctx, "beta")
		if _, err := s.CreateProject(ctx, "alpha"); !errors.Is(err, ErrExists) {
			t.Errorf("duplicate project: %v", err)
		}
		textA, tokA, err := s.CreateToken(ctx, a.ID, "ci")
		if err != nil {
			t.Fatal(err)
		}
		textB, _, _ := s.CreateToken(ctx, b.ID, "ci")
		if !strings.HasPrefix(textA, "lrk_") || textA == textB {
			t.Fatalf("tokens %q %q", textA, textB)
		}
		if _, _, err := s.CreateToken(ctx, 9999, "x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("token for a missing project: %v", err)
		}
		// Only hashes are stored.
		rows, _ := s.r.QueryContext(ctx, "SELECT token_hash FROM api_tokens")
		for rows.Next() {
			var h string
			rows.Scan(&h)
			if h == textA || h == textB || strings.Contains(h, "lrk_") || len(h) != 64 {
				t.Errorf("stored token column %q is not a SHA-256 hex hash", h)
			}
		}
		rows.Close()
		got, err := s.LookupToken(ctx, textA)
		if err != nil || got.ProjectID != a.ID || got.ID != tokA.ID {
			t.Fatalf("LookupToken: %+v, %v", got, err)
		}
		if _, err := s.LookupToken(ctx, textA+"x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("wrong token: %v", err)
		}
		runA, err := s.CreateRun(ctx, a.ID, "r1", "wsd(peak=0.1)", 1000, []byte(`{"n":0}`))
		if err != nil {
			t.Fatal(err)
		}
		runB, _ := s.CreateRun(ctx, b.ID, "r1", "cosine(peak=0.1)", 500, nil)
		if _, err := s.CreateRun(ctx, a.ID, "r1", "x", 1, nil); !errors.Is(err, ErrExists) {
			t.Errorf("duplicate run name: %v", err)
		}
		// Project A sees its run and not B's, through every accessor.
		if r, err := s.GetRun(ctx, a.ID, runA.ID); err != nil || r.Name != "r1" || r.Spec != "wsd(peak=0.1)" || string(r.ControllerState) != `{"n":0}` {
			t.Errorf("own run: %+v, %v", r, err)
		}
		if _, err := s.GetRun(ctx, a.ID, runB.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("other project's run: %v", err)
		}
		if ps := projects(t, s); len(ps) != 2 || ps[0] != "alpha" || ps[1] != "beta" {
			t.Errorf("projects %v", ps)
		}
		if toks, err := s.Tokens(ctx, a.ID); err != nil || len(toks) != 1 || toks[0].ID != tokA.ID || toks[0].Name != "ci" {
			t.Errorf("Tokens(a) = %+v, %v", toks, err)
		}
		if list, _ := s.ListRuns(ctx, a.ID); len(list) != 1 || list[0].ID != runA.ID {
			t.Errorf("ListRuns(a) = %+v", list)
		}
		recs := []runlog.Record{{Step: 0, Loss: 1, Present: runlog.FieldLoss}}
		if _, err := s.AppendMetrics(ctx, a.ID, runB.ID, "b1", recs, nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("metrics into another project's run: %v", err)
		}
		if _, err := s.Metrics(ctx, a.ID, runB.ID, 0, 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("metrics of another project's run: %v", err)
		}
		addEvent := func(c *Change) error { c.AddEvent(3, "decay", json.RawMessage(`{"at":3}`)); return nil }
		if _, err := s.UpdateRun(ctx, a.ID, runB.ID, addEvent); !errors.Is(err, ErrNotFound) {
			t.Errorf("event on another project's run: %v", err)
		}
		if _, err := s.UpdateRun(ctx, b.ID, runB.ID, addEvent); err != nil {
			t.Fatal(err)
		}
		if _, err := s.View(ctx, a.ID, runB.ID, 10, 10); !errors.Is(err, ErrNotFound) {
			t.Errorf("view of another project's run: %v", err)
		}
		if ev, err := s.Events(ctx, a.ID, runB.ID, 0, 0); err != nil || len(ev) != 0 {
			t.Errorf("events of another project's run: %+v, %v", ev, err)
		}
		if ev, err := s.Events(ctx, b.ID, runB.ID, 0, 0); err != nil || len(ev) != 1 || ev[0].Kind != "decay" || string(ev[0].Detail) != `{"at":3}` || ev[0].Step != 3 {
			t.Errorf("own events: %+v, %v", ev, err)
		}
		if _, err := s.UpdateRun(ctx, a.ID, runB.ID, func(c *Change) error { c.Run.Budget = 1; return nil }); !errors.Is(err, ErrNotFound) {
			t.Errorf("update of another project's run: %v", err)
		}
		if v, err := s.RunVersions(ctx, []int64{runA.ID, runB.ID, 999}); err != nil || len(v) != 2 || v[runA.ID] != 1 || v[runB.ID] != 2 {
			t.Errorf("RunVersions = %v, %v", v, err)
		}
		if r, _ := s.GetRun(ctx, b.ID, runB.ID); r.Budget != 500 || r.Version != 2 {
			t.Errorf("B's run changed: %+v", r)
		}
		// Revoked tokens no longer look up.
		if err := s.RevokeToken(ctx, b.ID, tokA.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("revoke of another project's token: %v", err)
		}
		if err := s.RevokeToken(ctx, a.ID, tokA.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LookupToken(ctx, textA); !errors.Is(err, ErrNotFound) {
			t.Errorf("revoked token: %v", err)
		}
		if toks, _ := s.Tokens(ctx, a.ID); len(toks) != 0 {
			t.Errorf("revoked token still listed: %+v", toks)
		}
	})
}

func TestMetricBatchIdempotency(t *testing.T) {
	ctx := context.Background()
	forEach(t, func(t *testing.T, s *Store, _ string) {
		p, _ := s.CreateProject(ctx, "p")
		run, _ := s.CreateRun(ctx, p.ID, "r", "constant(lr=0.1)", 100, []byte(`0`))
		batch := func(from, to int64) []runlog.Record {
			var out []runlog.Record
			for st := from; st < to; st++ {
				out = append(out, runlog.Record{Step: st, LR: 0.1, Loss: 3 - float64(st)/100, Present: runlog.FieldLR | runlog.FieldLoss})
			}
			return out
		}
		// count stores the number of records the controller has seen.
		count := func(c *Change) error {
			var n int
			json.Unmarshal(c.Run.ControllerState, &n)
			fresh, err := c.Fresh()
			c.Run.ControllerState = []byte(fmt.Sprint(n + len(fresh)))
			return err
		}
		res, err := s.AppendMetrics(ctx, p.ID, run.ID, "b1", batch(0, 10), count)
		if err != nil || res.Duplicate || res.Inserted != 10 || res.Run.LastStep != 9 {
			t.Fatalf("first batch: %+v, %v", res, err)
		}
		res, err = s.AppendMetrics(ctx, p.ID, run.ID, "b1", batch(0, 10), count)
		if err != nil || !res.Duplicate || res.Inserted != 0 || res.Run.Version != 2 {
			t.Fatalf("retried batch: %+v, %v", res, err)
		}
		// The same batch ID with other records is refused, naming it.
		other := batch(0, 10)
		other[3].Loss = 7
		if _, err := s.AppendMetrics(ctx, p.ID, run.ID, "b1", other, count); !errors.Is(err, ErrBatchReused) || !strings.Contains(err.Error(), `batch "b1"`) {
			t.Errorf("reused batch ID: %v", err)
		}
		// A new batch that overlaps stored steps stores only the new ones.
		res, err = s.AppendMetrics(ctx, p.ID, run.ID, "b2", batch(5, 15), count)
		if err != nil || res.Duplicate || res.Inserted != 5 || res.Skipped != 5 {
			t.Fatalf("overlapping batch: %+v, %v", res, err)
		}
		// 8 clients retrying one batch at once: stored once.
		var wg sync.WaitGroup
		var mu sync.Mutex
		fresh := 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := s.AppendMetrics(ctx, p.ID, run.ID, "b3", batch(15, 40), count)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if !res.Duplicate {
					fresh++
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		if fresh != 1 {
			t.Errorf("concurrent retries: %d stored the batch, want 1", fresh)
		}
		got, err := s.Metrics(ctx, p.ID, run.ID, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		sameRecords(t, got, batch(0, 40))
		r, _ := s.GetRun(ctx, p.ID, run.ID)
		if string(r.ControllerState) != "40" || r.LastStep != 39 {
			t.Errorf("controller saw %s records (last step %d), want 40 (39)", r.ControllerState, r.LastStep)
		}
		page, _ := s.Metrics(ctx, p.ID, run.ID, 30, 5)
		if len(page) != 5 || page[0].Step != 30 || page[4].Step != 34 {
			t.Errorf("page %+v", page)
		}
		if _, err := s.AppendMetrics(ctx, p.ID, run.ID, "", batch(0, 1), nil); err == nil {
			t.Errorf("empty batch ID accepted")
		}
		// A failing update stores nothing, not even the batch ID.
		_, err = s.AppendMetrics(ctx, p.ID, run.ID, "b4", batch(40, 45), func(*Change) error { return errors.New("controller failed") })
		if err == nil || !strings.Contains(err.Error(), "controller failed") {
			t.Fatalf("failing update: %v", err)
		}
		if got, _ := s.Metrics(ctx, p.ID, run.ID, 40, 0); len(got) != 0 {
			t.Errorf("failed batch stored %d records", len(got))
		}
		if res, _ := s.AppendMetrics(ctx, p.ID, run.ID, "b4", batch(40, 45), count); res.Duplicate || res.Inserted != 5 {
			t.Errorf("batch retried after a failure: %+v", res)
		}
	})
}

// Goroutines that update a run's state under UpdateRun and goroutines
// that append metric batches (which the group commit stores together)
// advance one counter in the state: no update is lost, and the version
// counts every update and every stored batch.
func TestControllerStateNoLostUpdate(t *testing.T) {
	ctx := context.Background()
	forEach(t, func(t *testing.T, s *Store, _ string) {
		p, _ := s.CreateProject(ctx, "p")
		run, _ := s.CreateRun(ctx, p.ID, "r", "plateau()", 100, []byte(`{"n":0}`))
		type state struct{ N int }
		inc := func(c *Change) error {
			var st state
			if err := json.Unmarshal(c.Run.ControllerState, &st); err != nil {
				return err
			}
			st.N++
			c.Run.ControllerState, _ = json.Marshal(st)
			return nil
		}
		const goroutines, each = 8, 25
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					var err error
					if g%2 == 0 {
						_, err = s.UpdateRun(ctx, p.ID, run.ID, inc)
					} else {
						step := int64(g*each + i)
						recs := []runlog.Record{{Step: step, Loss: 1, Present: runlog.FieldLoss}}
						_, err = s.AppendMetrics(ctx, p.ID, run.ID, fmt.Sprint(step), recs, inc)
					}
					if err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		r, err := s.GetRun(ctx, p.ID, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		var st state
		json.Unmarshal(r.ControllerState, &st)
		if st.N != goroutines*each || r.Version != 1+goroutines*each {
			t.Errorf("counter %d at version %d, want %d at %d: an update was lost", st.N, r.Version, goroutines*each, 1+goroutines*each)
		}
		// UpdateRun changes status and budget; a bad status is refused.
		r, err = s.UpdateRun(ctx, p.ID, run.ID, func(c *Change) error { c.Run.Status, c.Run.Budget = RunPaused, 200; return nil })
		if err != nil || r.Status != RunPaused || r.Budget != 200 {
			t.Errorf("UpdateRun: %+v, %v", r, err)
		}
		if _, err := s.UpdateRun(ctx, p.ID, run.ID, func(c *Change) error { c.Run.Status = "sleeping"; return nil }); err == nil {
			t.Errorf("unknown status accepted")
		}
		// So is a batch whose update sets one, alone.
		recs := []runlog.Record{{Step: 5000, Loss: 1, Present: runlog.FieldLoss}}
		if _, err := s.AppendMetrics(ctx, p.ID, run.ID, "bad", recs, func(c *Change) error { c.Run.Status = "x"; return nil }); err == nil || !strings.Contains(err.Error(), `unknown run status "x"`) {
			t.Errorf("batch setting an unknown status: %v", err)
		}
	})
}

// A batch that fails on its own (missing run, failing update, reused
// batch ID) fails alone in its group; the others of the same group are
// stored, and each caller gets its own answer.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	ctx := context.Background()
	forEach(t, func(t *testing.T, s *Store, _ string) {
		p, _ := s.CreateProject(ctx, "p")
		run, _ := s.CreateRun(ctx, p.ID, "r", "constant(peak=0.1)", 100, []byte("0"))
		if _, err := s.AppendMetrics(ctx, p.ID, run.ID, "taken", []runlog.Record{{Step: 0, Loss: 1, Present: runlog.FieldLoss}}, nil); err != nil {
			t.Fatal(err)
		}
		g0, b0 := s.CommitStats()
		const n = 60
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				recs := []runlog.Record{{Step: int64(1 + i), Loss: 2, Present: runlog.FieldLoss}}
				id, rid := fmt.Sprint("b", i), run.ID
				var update func(*Change) error
				switch i % 10 {
				case 3:
					rid = 999
				case 5:
					update = func(*Change) error { return errors.New("controller failed") }
				case 7:
					id = "taken"
				}
				_, errs[i] = s.AppendMetrics(ctx, p.ID, rid, id, recs, update)
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			var want error
			switch i % 10 {
			case 3:
				want = ErrNotFound
			case 7:
				want = ErrBatchReused
			}
			switch {
			case i%10 == 5:
				if err == nil || !strings.Contains(err.Error(), "controller failed") {
					t.Errorf("batch %d: %v, want the update's error", i, err)
				}
			case want != nil:
				if !errors.Is(err, want) {
					t.Errorf("batch %d: %v, want %v", i, err, want)
				}
			case err != nil:
				t.Errorf("batch %d: %v", i, err)
			}
		}
		got, _ := s.Metrics(ctx, p.ID, run.ID, 1, 0)
		if len(got) != n-3*n/10 {
			t.Errorf("%d records stored, want %d", len(got), n-3*n/10)
		}
		for _, r := range got {
			if k := (r.Step - 1) % 10; k == 3 || k == 5 || k == 7 {
				t.Errorf("step %d of a failed batch was stored", r.Step)
			}
		}
		g1, b1 := s.CommitStats()
		t.Logf("%d batches in %d commits", b1-b0, g1-g0)
		if r, _ := s.GetRun(ctx, p.ID, run.ID); r.Version != int64(2+len(got)) || r.LastStep != 60 {
			t.Errorf("run version %d, last step %d; want %d and 60", r.Version, r.LastStep, 2+len(got))
		}
	})
}

// An action with an idempotency key is applied once: the retry returns
// the run without changing it, the key with another request is refused.
func TestUpdateRunOnce(t *testing.T) {
	ctx := context.Background()
	forEach(t, func(t *testing.T, s *Store, _ string) {
		p, _ := s.CreateProject(ctx, "p")
		run, _ := s.CreateRun(ctx, p.ID, "r", "constant(peak=0.1)", 100, nil)
		grow := func(c *Change) error {
			c.Run.Budget += 100
			c.AddEvent(c.Run.LastStep+1, "extend", json.RawMessage(`{"by":100}`))
			return nil
		}
		key := ActionKey{Key: "k1", Digest: "d1"}
		r, replayed, err := s.UpdateRunOnce(ctx, p.ID, run.ID, key, grow)
		if err != nil || replayed || r.Budget != 200 || r.Version != 2 {
			t.Fatalf("first: %+v %v %v", r, replayed, err)
		}
		r, replayed, err = s.UpdateRunOnce(ctx, p.ID, run.ID, key, grow)
		if err != nil || !replayed || r.Budget != 200 || r.Version != 2 {
			t.Fatalf("retry: %+v %v %v", r, replayed, err)
		}
		if _, _, err := s.UpdateRunOnce(ctx, p.ID, run.ID, ActionKey{Key: "k1", Digest: "d2"}, grow); !errors.Is(err, ErrKeyReused) {
			t.Errorf("key with another request: %v", err)
		}
		r, replayed, _ = s.UpdateRunOnce(ctx, p.ID, run.ID, ActionKey{Key: "k2", Digest: "d1"}, grow)
		if replayed || r.Budget != 300 {
			t.Errorf("another key: %+v %v", r, replayed)
		}
		if ev, _ := s.Events(ctx, p.ID, run.ID, 0, 0); len(ev) != 2 || ev[0].Kind != "extend" || string(ev[1].Detail) != `{"by":100}` {
			t.Errorf("events %+v, want two extends", ev)
		}
	})
}

// Bootstrap from many goroutines (and so, on PostgreSQL, many
// connections) at once on an empty database creates one project.
func TestBootstrapOnce(t *testing.T) {
	ctx := context.Background()
	forEach(t, func(t *testing.T, s *Store, dsn string) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var tokens []string
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s2, err := Open(ctx, dsn)
				if err != nil {
					t.Error(err)
					return
				}
				defer s2.Close()
				text, created, err := s2.Bootstrap(ctx, "default", "bootstrap")
				if err != nil {
					t.Error(err)
					return
				}
				if created {
					mu.Lock()
					tokens = append(tokens, text)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		ps := projects(t, s)
		if len(tokens) != 1 || len(ps) != 1 || ps[0] != "default" {
			t.Fatalf("%d bootstraps created, projects %v; want one", len(tokens), ps)
		}
		p, _ := s.ProjectByName(ctx, "default")
		if tok, err := s.LookupToken(ctx, tokens[0]); err != nil || tok.ProjectID != p.ID || tok.Name != "bootstrap" {
			t.Errorf("bootstrap token: %+v, %v", tok, err)
		}
		if _, created, _ := s.Bootstrap(ctx, "other", "x"); created {
			t.Errorf("a second bootstrap created a project")
		}
	})
}

// View reads the run, its metrics thinned (the last one and the sparse
// validation losses kept) and its newest events.
func TestView(t *testing.T) {
	ctx := context.Background()
	forEach(t, func(t *testing.T, s *Store, _ string) {
		p, _ := s.CreateProject(ctx, "p")
		run, _ := s.CreateRun(ctx, p.ID, "r", "constant(peak=0.1)", 100000, nil)
		var recs []runlog.Record
		for i := range int64(10001) {
			r := runlog.Record{Step: i, Loss: 1 / float64(i+1), Present: runlog.FieldLoss}
			if i%997 == 0 {
				r.ValLoss, r.Present = 2, r.Present|runlog.FieldValLoss
			}
			recs = append(recs, r)
		}
		if _, err := s.AppendMetrics(ctx, p.ID, run.ID, "all", recs, func(c *Change) error {
			for i := range 60 {
				c.AddEvent(int64(i), "controller", nil)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		v, err := s.View(ctx, p.ID, run.ID, 1000, 50)
		if err != nil {
			t.Fatal(err)
		}
		if v.Run.ID != run.ID || v.Count != 10001 || v.Run.LastStep != 10000 {
			t.Errorf("view run %+v, count %d", v.Run, v.Count)
		}
		vals, prev := 0, int64(-1)
		for _, r := range v.Metrics {
			if r.Step <= prev {
				t.Fatalf("metrics out of order at step %d", r.Step)
			}
			prev = r.Step
			if r.Has(runlog.FieldValLoss) {
				vals++
			}
		}
		// Every 11th row of 10,001 (stride 11), the last, and all 11 rows
		// with a validation loss.
		if n := len(v.Metrics); n < 900 || n > 1012 || v.Metrics[0].Step != 0 || prev != 10000 || vals != 11 {
			t.Errorf("%d thinned metrics from %d to %d with %d validation losses; want about 1000 from 0 to 10000 with 11", n, v.Metrics[0].Step, prev, vals)
		}
		if len(v.Events) != 50 || v.Events[0].Step != 59 || v.Events[49].Step != 10 {
			t.Errorf("%d events, first step %d; want the newest 50, newest first", len(v.Events), v.Events[0].Step)
		}
	})
}

// TestViewLargeRun checks the thinned view of long runs against what
// View's comment promises, computed here from the stored records alone: a
// run of consecutive steps thinned evenly by row (every stride-th record,
// the last, every validation loss), as View always did; a run with gaps
// and changes of logging interval thinned evenly by step (the first
// record of each of about 1,000 equal step buckets, and the last); more
// than 1,000 validation losses thinned alike over their own steps; a run
// of at most maxMetrics records whole, whatever its steps.
func TestViewLargeRun(t *testing.T) {
	ctx := context.Background()
	const maxMetrics = 1000
	rec := func(step int64, val bool) runlog.Record {
		r := runlog.Record{Step: step, LR: 0.1 / float64(step%7+1), Loss: 3 / math.Sqrt(float64(step+1)), ExamplesSeen: step * 32,
			Present: runlog.FieldLR | runlog.FieldLoss | runlog.FieldExamplesSeen}
		if val {
			r.ValLoss, r.Present = 3.1/math.Sqrt(float64(step+1)), r.Present|runlog.FieldValLoss
		}
		return r
	}
	// firstOfBuckets returns the first record of each of at most
	// maxMetrics equal buckets of recs' step range (the width rounded
	// up), and the last record.
	firstOfBuckets := func(recs []runlog.Record) []runlog.Record {
		first, last := recs[0].Step, recs[len(recs)-1].Step
		width := (last - first + maxMetrics) / maxMetrics // ceil((last-first+1)/maxMetrics)
		var out []runlog.Record
		prev := int64(-1)
		for _, r := range recs {
			if b := (r.Step - first) / width; b != prev {
				out, prev = append(out, r), b
			}
		}
		if out[len(out)-1].Step != last {
			out = append(out, recs[len(recs)-1])
		}
		return out
	}
	// union merges record lists in step order, each step once.
	union := func(lists ...[]runlog.Record) []runlog.Record {
		byStep := map[int64]runlog.Record{}
		for _, l := range lists {
			for _, r := range l {
				byStep[r.Step] = r
			}
		}
		var out []runlog.Record
		for _, r := range byStep {
			out = append(out, r)
		}
		slices.SortFunc(out, func(a, b runlog.Record) int { return cmp.Compare(a.Step, b.Step) })
		return out
	}
	vals := func(recs []runlog.Record) []runlog.Record {
		var out []runlog.Record
		for _, r := range recs {
			if r.Has(runlog.FieldValLoss) {
				out = append(out, r)
			}
		}
		return out
	}
	steps := func(recs []runlog.Record) []int64 {
		out := make([]int64, len(recs))
		for i, r := range recs {
			out[i] = r.Step
		}
		return out
	}

	// Consecutive steps 0..100,002, a validation loss every 997th:
	// stride ceil(100,003/1000) = 101, by row.
	var dense []runlog.Record
	for i := range int64(100_003) {
		dense = append(dense, rec(i, i%997 == 0))
	}
	var denseWant []runlog.Record
	for i, r := range dense {
		if i%101 == 0 || i == len(dense)-1 || r.Has(runlog.FieldValLoss) {
			denseWant = append(denseWant, r)
		}
	}
	// Steps 0..39,999, then every 10th to 439,990, then 2,000,000 to
	// 2,019,999: the step buckets are 2,021 wide, the gap has none. A
	// validation loss every 37th step of the first part and every 500th
	// of the rest: 1,081 + 88 + 40, more than maxMetrics.
	var gappy []runlog.Record
	for i := range int64(40_000) {
		gappy = append(gappy, rec(i, i%37 == 0))
	}
	for i := int64(40_000); i < 440_000; i += 10 {
		gappy = append(gappy, rec(i, i%500 == 0))
	}
	for i := int64(2_000_000); i < 2_020_000; i++ {
		gappy = append(gappy, rec(i, i%500 == 0))
	}
	gappyWant := union(firstOfBuckets(gappy), firstOfBuckets(vals(gappy)))
	// 1,000 records with steps far apart and close together: all of them.
	var small []runlog.Record
	for i := range int64(maxMetrics) {
		small = append(small, rec(i*i*1000+i%3, i%3 == 0))
	}

	forEach(t, func(t *testing.T, s *Store, _ string) {
		p, _ := s.CreateProject(ctx, "p")
		for _, c := range []struct {
			name       string
			recs, want []runlog.Record
		}{{"consecutive", dense, denseWant}, {"gaps", gappy, gappyWant}, {"small", small, small}} {
			run, err := s.CreateRun(ctx, p.ID, c.name, "constant(peak=0.1)", 1<<40, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < len(c.recs); i += 10000 {
				if _, err := s.AppendMetrics(ctx, p.ID, run.ID, fmt.Sprint(i), c.recs[i:min(i+10000, len(c.recs))], nil); err != nil {
					t.Fatal(err)
				}
			}
			v, err := s.View(ctx, p.ID, run.ID, maxMetrics, 10)
			if err != nil {
				t.Fatal(err)
			}
			if v.Count != len(c.recs) {
				t.Errorf("%s: count %d, want %d", c.name, v.Count, len(c.recs))
			}
			if !slices.Equal(v.Metrics, c.want) {
				got, want := steps(v.Metrics), steps(c.want)
				i := 0
				for i < min(len(got), len(want)) && got[i] == want[i] {
					i++
				}
				t.Errorf("%s: %d thinned records, want %d; they first differ at #%d: got %v, want %v", c.name,
					len(got), len(want), i, got[i:min(i+5, len(got))], want[i:min(i+5, len(want))])
			}
			// Whatever the thinning: the first and last records, about
			// maxMetrics of each kind, every validation loss when there
			// are at most maxMetrics of them, their first and last else.
			all, vs := c.recs, vals(c.recs)
			n, nv := len(v.Metrics), len(vals(v.Metrics))
			if n == 0 || v.Metrics[0] != all[0] || v.Metrics[n-1] != all[len(all)-1] {
				t.Errorf("%s: the first and last records are not both kept", c.name)
			}
			if len(all) > maxMetrics && (n-nv > maxMetrics+1 || nv > maxMetrics+1) {
				t.Errorf("%s: %d records, %d with a validation loss, from %d: want at most about %d of each", c.name, n, nv, len(all), maxMetrics)
			}
			kept := map[int64]bool{}
			for _, r := range v.Metrics {
				kept[r.Step] = true
			}
			if len(vs) <= maxMetrics {
				for _, r := range vs {
					if !kept[r.Step] {
						t.Errorf("%s: validation loss of step %d dropped (%d of them)", c.name, r.Step, len(vs))
						break
					}
				}
			} else if !kept[vs[0].Step] || !kept[vs[len(vs)-1].Step] {
				t.Errorf("%s: the first and last validation losses are not both kept", c.name)
			}
		}
	})
}

// View's count of a run's records is the count kept with the run
// (migration 7), advanced by every transaction that stores the run's
// metrics by the records it stored: not by a retried batch, nor by steps
// stored before, nor by a batch that failed. A count left behind by a
// writer that does not keep it (an lrkit before schema version 7, which
// advances the run's version, not the count's) is not trusted: View
// counts the rows, until the next Open counts them again; so for a run
// created by such an lrkit, without a count.
func TestViewCountKept(t *testing.T) {
	ctx := context.Background()
	forEach(t, func(t *testing.T, s *Store, dsn string) {
		p, _ := s.CreateProject(ctx, "p")
		run, _ := s.CreateRun(ctx, p.ID, "r", "constant(peak=0.1)", 1<<30, nil)
		recs := func(from, to int64) []runlog.Record {
			var out []runlog.Record
			for i := from; i < to; i++ {
				out = append(out, runlog.Record{Step: i, Loss: 1, Present: runlog.FieldLoss})
			}
			return out
		}
		// check compares View's count with the rows stored, and whether the
		// kept count is trusted (and right) with trusted.
		check := func(s *Store, runID int64, what string, trusted bool) {
			t.Helper()
			var rows int
			if err := s.r.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM run_metrics WHERE run_id = ?"), runID).Scan(&rows); err != nil {
				t.Fatal(err)
			}
			var kept sql.NullBool
			if err := s.r.QueryRowContext(ctx, s.q("SELECT metric_count = ? AND metric_count_version = version FROM runs WHERE id = ?"), rows, runID).Scan(&kept); err != nil {
				t.Fatal(err)
			}
			v, err := s.View(ctx, p.ID, runID, 1000, 10)
			if err != nil || v.Count != rows || (kept.Valid && kept.Bool) != trusted {
				t.Errorf("%s: view count %d (%v), %d rows stored; kept count trusted and right: %v, want %v", what, v.Count, err, rows, kept, trusted)
			}
		}
		check(s, run.ID, "a new run", true)
		add := func(s *Store, runID int64, batch string, recs []runlog.Record, update func(*Change) error) {
			t.Helper()
			if _, err := s.AppendMetrics(ctx, p.ID, runID, batch, recs, update); err != nil && update == nil {
				t.Errorf("batch %s: %v", batch, err)
			}
		}
		add(s, run.ID, "a", recs(0, 100), nil)
		check(s, run.ID, "a batch", true)
		add(s, run.ID, "a", recs(0, 100), nil)
		check(s, run.ID, "the batch retried", true)
		add(s, run.ID, "b", recs(50, 150), nil)
		check(s, run.ID, "a batch of 50 steps stored before and 50 new", true)
		add(s, run.ID, "c", recs(150, 200), func(*Change) error { return errors.New("refused") })
		check(s, run.ID, "a batch that failed", true)
		if _, err := s.UpdateRun(ctx, p.ID, run.ID, func(c *Change) error { c.Run.Budget++; return nil }); err != nil {
			t.Fatal(err)
		}
		check(s, run.ID, "an update without metrics", true)
		// Batches of overlapping steps at once: group commits holding
		// several batches of the run (on PostgreSQL, several committers).
		var wg sync.WaitGroup
		for i := range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				add(s, run.ID, fmt.Sprint("p", i), recs(int64(100+i*10), int64(130+i*10)), nil)
			}()
		}
		wg.Wait()
		check(s, run.ID, "batches stored together", true)

		// An older lrkit stores a metric.
		if _, err := s.w.ExecContext(ctx, s.q("INSERT INTO run_metrics (run_id, step, present, loss) VALUES (?, 100000, ?, 1)"), run.ID, int64(runlog.FieldLoss)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.w.ExecContext(ctx, s.q("UPDATE runs SET version = version + 1, last_step = 100000 WHERE id = ?"), run.ID); err != nil {
			t.Fatal(err)
		}
		check(s, run.ID, "metrics stored by an older lrkit", false)
		add(s, run.ID, "d", recs(1000, 1010), nil)
		check(s, run.ID, "a batch after them", false)
		// A run created by an older lrkit, with metrics.
		var oldRun int64
		if err := s.w.QueryRowContext(ctx, s.q(`INSERT INTO runs (project_id, name, spec, budget, created_ms, updated_ms)
			VALUES (?, 'old', 'constant(peak=0.1)', 1000, 0, 0) RETURNING id`), p.ID).Scan(&oldRun); err != nil {
			t.Fatal(err)
		}
		add(s, oldRun, "a", recs(0, 20), nil)
		check(s, oldRun, "a run created by an older lrkit", false)

		s.Close()
		s, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		check(s, run.ID, "opened again", true)
		check(s, oldRun, "the older lrkit's run opened again", true)
		add(s, run.ID, "e", recs(2000, 2010), nil)
		check(s, run.ID, "a batch after opening again", true)
	})
}

// Events pages: at most limit of them, oldest first, the next page after
// the last ID; limit 0 is all.
func TestEventsLimit(t *testing.T) {
	ctx := context.Background()
	forEach(t, func(t *testing.T, s *Store, _ string) {
		p, _ := s.CreateProject(ctx, "p")
		run, _ := s.CreateRun(ctx, p.ID, "r", "constant(peak=0.1)", 1000, nil)
		if _, err := s.UpdateRun(ctx, p.ID, run.ID, func(c *Change) error {
			for i := range 25 {
				c.AddEvent(int64(i), "controller", nil)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		var got []int64
		after := int64(0)
		for range 10 {
			evs, err := s.Events(ctx, p.ID, run.ID, after, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) > 10 {
				t.Fatalf("%d events with limit 10", len(evs))
			}
			if len(evs) == 0 {
				break
			}
			for _, e := range evs {
				got = append(got, e.Step)
			}
			after = evs[len(evs)-1].ID
		}
		all, err := s.Events(ctx, p.ID, run.ID, 0, 0)
		if err != nil || len(got) != 25 || len(all) != 25 || got[0] != 0 || got[24] != 24 || !slices.IsSorted(got) {
			t.Errorf("paged steps %v, %d in all (%v): want 0..24 in pages of 10, and all 25", got, len(all), err)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Open(ctx, ""); err == nil {
		t.Error("empty path accepted")
	}
	if _, err := Open(ctx, "/nonexistent-dir/x/y.db"); err == nil || !strings.Contains(err.Error(), "/nonexistent-dir/x/y.db") {
		t.Errorf("bad path: %v", err)
	}
	if _, err := Open(ctx, "postgres://u:pw@127.0.0.1:1/db?connect_timeout=2"); err == nil || strings.Contains(err.Error(), "pw") {
		t.Errorf("unreachable server: %v (must fail and not show the password)", err)
	}
	s, err := Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateProject(ctx, "m"); err != nil {
		t.Errorf("in-memory store: %v", err)
	}
}

func TestSQLiteSettings(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct {
		db           *sql.DB
		pragma, want string
	}{
		{s.w, "journal_mode", "wal"},
		{s.w, "busy_timeout", "10000"},
		{s.w, "foreign_keys", "1"},
		{s.w, "synchronous", "1"}, // NORMAL
		{s.r, "journal_mode", "wal"},
		{s.r, "query_only", "1"},
		{s.r, "busy_timeout", "10000"},
	} {
		var got string
		if err := c.db.QueryRowContext(ctx, "PRAGMA "+c.pragma).Scan(&got); err != nil || got != c.want {
			t.Errorf("PRAGMA %s = %q (%v), want %q", c.pragma, got, err, c.want)
		}
	}
	if n := s.w.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("writer pool allows %d connections, want 1", n)
	}
	if _, err := s.r.ExecContext(ctx, "INSERT INTO projects (name, created_ms) VALUES ('x', 0)"); err == nil {
		t.Errorf("the read pool accepted a write")
	}
}

func TestUpdateStudySpec(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.createStudy(ctx, "grow", "v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateStudySpec(ctx, st.ID, "v2"); err != nil {
		t.Fatal(err)
	}
	got, err := s.StudyByName(ctx, "grow")
	if err != nil || got.Spec != "v2" {
		t.Fatalf("spec %q, %v; want v2", got.Spec, err)
	}
	if err := s.UpdateStudySpec(ctx, st.ID+100, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown study: %v, want ErrNotFound", err)
	}
}

// A server opens its database with RefuseEmptied and Check: a missing
// file is new and created, an empty or foreign one is ErrNoDatabase, a
// file with garbage in the middle ErrDamaged, and a good one opens with
// its health.
func TestOpenRefusesEmptiedAndDamaged(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	serve := Options{RefuseEmptied: true, Check: true}
	fresh := filepath.Join(dir, "new.db")
	s, err := OpenWith(ctx, fresh, serve)
	if err != nil {
		t.Fatalf("a new database: %v", err)
	}
	s.Close()
	empty := filepath.Join(dir, "empty.db")
	os.WriteFile(empty, nil, 0o644)
	if _, err := OpenWith(ctx, empty, serve); !errors.Is(err, ErrNoDatabase) || !strings.Contains(err.Error(), "is empty (0 bytes)") {
		t.Errorf("empty file: %v", err)
	}
	if fi, _ := os.Stat(empty); fi.Size() != 0 {
		t.Errorf("the refused empty file was written to")
	}
	foreign := filepath.Join(dir, "foreign.db")
	db, _ := sql.Open("sqlite", foreign)
	db.Exec("CREATE TABLE t (x INT)")
	db.Close()
	if _, err := OpenWith(ctx, foreign, serve); !errors.Is(err, ErrNoDatabase) || !strings.Contains(err.Error(), "holds no lrkit schema") {
		t.Errorf("another program's database: %v", err)
	}
	text := filepath.Join(dir, "text.db")
	os.WriteFile(text, []byte(strings.Repeat("not a database\n", 1000)), 0o644)
	if _, err := OpenWith(ctx, text, serve); !errors.Is(err, ErrDamaged) {
		t.Errorf("a text file: %v", err)
	}
	// Without RefuseEmptied (lrkit serve --init) the empty file is
	// initialised.
	if s, err := OpenWith(ctx, empty, Options{Check: true}); err != nil {
		t.Errorf("init of an empty file: %v", err)
	} else {
		s.Close()
	}

	good := filepath.Join(dir, "good.db")
	s, err = Open(ctx, good)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.CreateProject(ctx, "p")
	run, _ := s.CreateRun(ctx, p.ID, "r", "constant(peak=0.1)", 100000, nil)
	if _, err := s.AppendMetrics(ctx, p.ID, run.ID, "b", lossRecords(0, 20000), nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = OpenWith(ctx, good, serve)
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := Migrations()
	if h := s.Health(); h.Kind != "sqlite" || h.Integrity != "ok" || h.Schema != ms[len(ms)-1].Version || h.CheckedAt.IsZero() {
		t.Errorf("health %+v; want schema %d", h, ms[len(ms)-1].Version)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("ping: %v", err)
	}
	s.Close()

	// 64 KiB of garbage in the middle of the file.
	fi, _ := os.Stat(good)
	scribble(t, good, fi.Size()/2/4096*4096, 64<<10)
	if _, err := OpenWith(ctx, good, serve); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "integrity check") {
		t.Errorf("garbage in the middle (%d-byte file): %v", fi.Size(), err)
	}
	// Truncated to nothing.
	os.Truncate(good, 0)
	if _, err := OpenWith(ctx, good, serve); !errors.Is(err, ErrNoDatabase) {
		t.Errorf("truncated file: %v", err)
	}
}

// Calls fail after Options.Timeout when the database does not answer
// (here: another connection holds SQLite's write lock), instead of
// hanging; metric batches too.
func TestCallTimeout(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	s, err := OpenWith(ctx, path, Options{Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, _ := s.CreateProject(ctx, "p")
	run, _ := s.CreateRun(ctx, p.ID, "r", "constant(peak=0.1)", 100, nil)
	release := holdWriteLock(t, path)
	start := time.Now()
	_, err = s.CreateProject(ctx, "q")
	if err == nil || time.Since(start) > 3*time.Second {
		t.Errorf("write under a held lock: %v after %v, want a failure after about 300ms", err, time.Since(start))
	}
	// Many batches at once: their group fails as one, not one timeout per
	// batch.
	start = time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.AppendMetrics(ctx, p.ID, run.ID, fmt.Sprint("b", i), []runlog.Record{{Step: int64(i), Loss: 1, Present: runlog.FieldLoss}}, nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			t.Errorf("batch %d under a held lock: stored", i)
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("20 batches under a held lock failed after %v, want about the 300ms timeout once or twice", d)
	}
	release()
	if _, err := s.AppendMetrics(ctx, p.ID, run.ID, "b", []runlog.Record{{Step: 1, Loss: 1, Present: runlog.FieldLoss}}, nil); err != nil {
		t.Errorf("after the lock is released: %v", err)
	}
}

// A database at schema version 2 keeps its metrics and batches through
// migrations 3 to 5, which rebuild run_metrics and run_batches on SQLite:
// WITHOUT ROWID and without their foreign keys on runs (whose cascade
// triggers keep).
func TestMigrationKeepsMetrics(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v2.db")
	ms, _ := Migrations()
	old := &Store{dialect: dialectSQLite, now: time.Now}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:2] {
		for _, st := range statements(old.render("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL);\n" + m.SQL)) {
			if _, err := db.Exec(st); err != nil {
				t.Fatalf("%s: %v", m.Name, err)
			}
		}
		db.Exec("INSERT INTO schema_version VALUES (?, ?, 0)", m.Version, m.Name)
	}
	db.Exec("INSERT INTO projects (name, created_ms) VALUES ('p', 0)")
	db.Exec("INSERT INTO runs (project_id, name, spec, budget, created_ms, updated_ms) VALUES (1, 'r', 'constant()', 10, 0, 0)")
	for i := range 5 {
		if _, err := db.Exec("INSERT INTO run_metrics (run_id, step, present, loss, val_loss) VALUES (1, ?, ?, ?, ?)", i, int64(runlog.FieldLoss|runlog.FieldValLoss), 2.5-float64(i), 3); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec("INSERT INTO run_batches (run_id, batch_id, records, received_ms) VALUES (1, 'old', 5, 0)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := OpenWith(ctx, path, Options{RefuseEmptied: true, Check: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if h := s.Health(); h.Schema != ms[len(ms)-1].Version {
		t.Errorf("schema %d after migrating", h.Schema)
	}
	var ddl string
	s.r.QueryRowContext(ctx, "SELECT sql FROM sqlite_master WHERE name = 'run_metrics'").Scan(&ddl)
	if !strings.Contains(ddl, "WITHOUT ROWID") || strings.Contains(ddl, "REFERENCES") {
		t.Errorf("run_metrics after migrations 3 and 4: %s", ddl)
	}
	s.r.QueryRowContext(ctx, "SELECT sql FROM sqlite_master WHERE name = 'run_batches'").Scan(&ddl)
	if !strings.Contains(ddl, "WITHOUT ROWID") || strings.Contains(ddl, "REFERENCES") {
		t.Errorf("run_batches after migration 5: %s", ddl)
	}
	// The batch stored before is still known: sent again, it is a retry.
	if res, err := s.AppendMetrics(ctx, 1, 1, "old", []runlog.Record{{Step: 9, Loss: 1, Present: runlog.FieldLoss}}, nil); err != nil || !res.Duplicate {
		t.Errorf("a batch stored before migrating, sent again: %+v, %v; want a duplicate", res, err)
	}
	got, err := s.Metrics(ctx, 1, 1, 0, 0)
	if err != nil || len(got) != 5 || got[4].Loss != -1.5 || got[4].ValLoss != 3 || got[4].Step != 4 {
		t.Errorf("metrics after migrating: %+v, %v", got, err)
	}
	// A batch for a run that does not exist stores nothing (the group
	// transaction's read of the run refuses it, not a foreign key).
	if _, err := s.AppendMetrics(ctx, 1, 99, "b", []runlog.Record{{Step: 1, Loss: 1, Present: runlog.FieldLoss}}, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("metrics of a missing run: %v", err)
	}
	var orphans int
	s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM run_metrics WHERE run_id = 99").Scan(&orphans)
	// A run deleted by hand still takes its metrics with it.
	if _, err := s.w.ExecContext(ctx, "DELETE FROM runs WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	var left, batches int
	s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM run_metrics").Scan(&left)
	s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM run_batches").Scan(&batches)
	if orphans != 0 || left != 0 || batches != 0 {
		t.Errorf("%d metrics of a missing run stored, %d metrics and %d batches left after deleting their run", orphans, left, batches)
	}
}

// projects returns the names of the projects, oldest first.
func projects(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.r.Query("SELECT name FROM projects ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		out = append(out, n)
	}
	return out
}

// A group commit that runs for longer than yieldEvery lets other
// goroutines run while it works, even on one processor: the committer
// yields between batches. Before, it kept its processor until Go
// preempted it after 10 ms, and whatever was queued behind it on that
// processor (rate requests, the handlers of acknowledged batches) waited.
func TestGroupCommitYields(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "y.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, _ := s.CreateProject(ctx, "p")
	run, _ := s.CreateRun(ctx, p.ID, "r", "constant(peak=0.1)", 100000, nil)
	// Another connection holds the write lock while the batches queue, so
	// that all but the first commit in one group.
	release := holdWriteLock(t, path)
	var probe atomic.Int64 // how often the probe goroutine got the processor
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			probe.Add(1)
			runtime.Gosched()
		}
	}()
	const n = 40
	seen := make([]int64, n) // the probe's count when each batch's update ran
	errs := make(chan error, n)
	for i := range n {
		go func() {
			recs := []runlog.Record{{Step: int64(i), Loss: 1, Present: runlog.FieldLoss}}
			_, err := s.AppendMetrics(ctx, p.ID, run.ID, fmt.Sprint("b", i), recs, func(*Change) error {
				// Half a millisecond of the committer's time per batch.
				for start := time.Now(); time.Since(start) < 500*time.Microsecond; {
				}
				seen[i] = probe.Load()
				return nil
			})
			errs <- err
		}()
	}
	for deadline := time.Now().Add(10 * time.Second); len(s.commits) < n-1; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d batches queued", len(s.commits), n-1)
		}
		time.Sleep(time.Millisecond)
	}
	yields0 := s.yieldCount()
	release()
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if g, b := s.CommitStats(); g != 2 || b != n {
		t.Fatalf("%d batches in %d groups, want %d in 2", b, g, n)
	}
	distinct := map[int64]bool{}
	for _, v := range seen {
		distinct[v] = true
	}
	// 39 batches of 0.5 ms in one group: about 19 yields. Preemption alone
	// would let the probe run about twice.
	if y := s.yieldCount() - yields0; len(distinct) < 8 || y < 8 {
		t.Errorf("the probe ran between %d of %d batches' updates, the committer yielded %d times; want 8 or more", len(distinct)-1, n, y)
	}
}

// The WAL is checkpointed by a goroutine of its own, not by the metrics
// committer's connection after a commit (which SQLite does by default
// past 1,000 pages, with the committer's callers waiting).
func TestBackgroundCheckpoint(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var auto int
	if err := s.w.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil || auto != walSafetyPages {
		t.Errorf("the writer's wal_autocheckpoint: %d, %v; want %d", auto, err, walSafetyPages)
	}
	p, _ := s.CreateProject(ctx, "p")
	run, _ := s.CreateRun(ctx, p.ID, "r", "constant(peak=0.1)", 1_000_000, nil)
	for i := range 300 {
		recs := make([]runlog.Record, 64)
		for j := range recs {
			recs[j] = runlog.Record{Step: int64(64*i + j), Loss: 1, Present: runlog.FieldLoss}
		}
		if _, err := s.AppendMetrics(ctx, p.ID, run.ID, fmt.Sprint(i), recs, nil); err != nil {
			t.Fatal(err)
		}
	}
	for c0, deadline := s.checkpoints.Load(), time.Now().Add(5*time.Second); s.checkpoints.Load() < c0+1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint by the checkpointer in 5 s")
		}
	}
	if got, err := s.Metrics(ctx, p.ID, run.ID, 0, 0); err != nil || len(got) != 300*64 {
		t.Errorf("%d metrics stored, %v", len(got), err)
	}
}

// walSalt returns the salt in the header of the WAL at path: SQLite
// changes it each time the WAL restarts from its beginning.
func walSalt(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path + "-wal")
	if err != nil || len(b) < 32 {
		t.Fatalf("WAL header: %d bytes, %v", len(b), err)
	}
	return hex.EncodeToString(b[16:24])
}

// When commits land while the background passes run, no pass finds the
// WAL fully copied and the WAL would only restart when a commit passes
// walSafetyPages (the committer then copying a whole round's WAL): the
// checkpointer asks the committer to finish instead, and the next commit
// restarts the WAL. Below the threshold nobody is asked. The test drives
// the rounds itself and commits a batch between the passes of each, as
// continuous writes on more than one processor do.
func TestCheckpointFinishedByCommitter(t *testing.T) {
	for _, tc := range []struct {
		name        string
		finishPages int
		wantFinish  bool
	}{
		{"finish", 1, true},
		{"below threshold", 1 << 30, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "f.db")
			var s *Store
			var p Project
			var run Run
			var n int64
			write := func() {
				t.Helper()
				recs := make([]runlog.Record, 16)
				for j := range recs {
					recs[j] = runlog.Record{Step: 16*n + int64(j), Loss: 1, Present: runlog.FieldLoss}
				}
				if _, err := s.AppendMetrics(ctx, p.ID, run.ID, fmt.Sprint(n), recs, nil); err != nil {
					t.Fatal(err)
				}
				n++
			}
			tune := defaultTuning()
			tune.every, tune.walSync, tune.walSyncDelay = time.Hour, 5*time.Millisecond, 20*time.Millisecond
			tune.finishPages, tune.betweenPasses = tc.finishPages, func() { write() }
			s, p, run = openWithRun(t, path, Options{tune: &tune})
			var last walState
			for round := range 3 {
				write()
				salt := walSalt(t, path)
				last = s.checkpointRound(last)
				if !tc.wantFinish {
					continue
				}
				for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
					if _, fin, _ := s.CheckpointStats(); fin > uint64(round) {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("round %d: the committer did not finish the checkpoint in 10 s", round)
					}
				}
				write() // restarts the WAL
				if walSalt(t, path) == salt {
					t.Errorf("round %d: the WAL did not restart after the committer's checkpoint", round)
				}
			}
			passes, fin, _ := s.CheckpointStats()
			if passes != 6 {
				t.Errorf("%d background passes in 3 rounds; want 6", passes)
			}
			if want := map[bool]uint64{true: 3, false: 0}[tc.wantFinish]; fin != want {
				t.Errorf("the committer finished %d checkpoints; want %d", fin, want)
			}
			if got, err := s.Metrics(ctx, p.ID, run.ID, 0, 0); err != nil || int64(len(got)) != 16*n {
				t.Errorf("%d metrics stored of %d, %v", len(got), 16*n, err)
			}
		})
	}
}

// The checkpointer syncs the WAL after writes, and not while nothing is
// written. An in-memory database has no checkpointer.
func TestWALSyncs(t *testing.T) {
	ctx := context.Background()
	tune := defaultTuning()
	tune.every, tune.walSync, tune.walSyncDelay = time.Hour, 2*time.Millisecond, 10*time.Millisecond
	s, p, run := openWithRun(t, filepath.Join(t.TempDir(), "w.db"), Options{tune: &tune})
	// waitSyncs waits until the WAL has been synced after the last write
	// and returns the count.
	waitSyncs := func(after uint64) uint64 {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			if _, _, n := s.CheckpointStats(); n > after {
				return n
			}
			if time.Now().After(deadline) {
				t.Fatalf("no WAL sync in 5 s after a write (%d before)", after)
			}
		}
	}
	n0 := waitSyncs(0)
	// A sync that saw only the first of the writes above is followed by
	// another within walSyncDelay (10 ms here); 300 ms leaves room for a
	// slow machine.
	time.Sleep(300 * time.Millisecond)
	_, _, n1 := s.CheckpointStats()
	time.Sleep(100 * time.Millisecond) // 50 ticks, no writes
	if _, _, n2 := s.CheckpointStats(); n2 != n1 {
		t.Errorf("%d WAL syncs while nothing was written (%d after the write)", n2-n1, n1)
	}
	if _, err := s.AppendMetrics(ctx, p.ID, run.ID, "b", []runlog.Record{{Step: 1, Loss: 1, Present: runlog.FieldLoss}}, nil); err != nil {
		t.Fatal(err)
	}
	waitSyncs(max(n0, n1))

	// The WAL's frame count read from the wal-index is SQLite's own.
	_, got, err := readWALIndex(s.shmFile)
	_, logPages, _, cerr := s.checkpoint(s.ckpt)
	if cerr != nil {
		t.Fatal(cerr)
	}
	if err != nil || got == 0 || int(got) != logPages {
		t.Errorf("frames read from the wal-index: %d, %v; SQLite's WAL holds %d", got, err, logPages)
	}

	m, err := Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if a, b, c := m.CheckpointStats(); a+b+c != 0 {
		t.Errorf("in-memory database: CheckpointStats %d, %d, %d; want 0", a, b, c)
	}
}

// openWithRun opens a store at path with opts, closed when the test ends,
// and creates a project and a run in it.
func openWithRun(t *testing.T, path string, opts Options) (*Store, Project, Run) {
	t.Helper()
	ctx := context.Background()
	s, err := OpenWith(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	p, err := s.CreateProject(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.CreateRun(ctx, p.ID, "r", "constant(peak=0.1)", 1<<40, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, p, run
}

// lossRecords returns n records of steps from, from+1, ..., each with a
// loss and a gradient norm.
func lossRecords(from, n int64) []runlog.Record {
	out := make([]runlog.Record, n)
	for i := range out {
		step := from + int64(i)
		out[i] = runlog.Record{Step: step, Loss: 1 / float64(step+1), GradNorm: 0.5, Present: runlog.FieldLoss | runlog.FieldGradNorm}
	}
	return out
}

// scribble writes n bytes of garbage into the file at path from offset
// off, as a failing disk or another program might.
func scribble(t *testing.T, path string, off, n int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	garbage := make([]byte, n)
	for i := range garbage {
		garbage[i] = byte(i*7 + 3)
	}
	if _, err := f.WriteAt(garbage, off); err != nil {
		t.Fatal(err)
	}
}

// A failed sync of the WAL or of the database file marks the store
// damaged (Ping) and makes it refuse writes, metric batches included;
// reads go on. The sync is made to fail with EIO, as a failing disk makes
// fdatasync fail.
func TestSyncFailureIsDamage(t *testing.T) {
	for _, tc := range []struct {
		name, suffix string // the file whose sync fails: path + suffix
	}{{"WAL", "-wal"}, {"database file", ""}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "s.db")
			var failing atomic.Bool
			tune := defaultTuning()
			tune.every, tune.walSync, tune.walSyncDelay = time.Hour, 2*time.Millisecond, 5*time.Millisecond
			tune.sync = func(f *os.File) error {
				if failing.Load() && f.Name() == path+tc.suffix {
					return syscall.EIO
				}
				return datasync(f)
			}
			s, p, run := openWithRun(t, path, Options{tune: &tune})
			rec := func(step int64) []runlog.Record {
				return []runlog.Record{{Step: step, Loss: 1, Present: runlog.FieldLoss}}
			}
			if _, err := s.AppendMetrics(ctx, p.ID, run.ID, "a", rec(1), nil); err != nil {
				t.Fatal(err)
			}
			failing.Store(true)
			if _, err := s.AppendMetrics(ctx, p.ID, run.ID, "b", rec(2), nil); err != nil {
				t.Fatal(err) // committed before the sync that fails
			}
			var perr error
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
				if tc.suffix == "" {
					s.checkpointRound(walState{}) // the database file is synced by a round
				}
				if perr = s.Ping(ctx); perr != nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("Ping still answers nil 5 s after a failed sync")
				}
			}
			if !errors.Is(perr, ErrDamaged) || !errors.Is(perr, syscall.EIO) || !strings.Contains(perr.Error(), "sync of "+path+tc.suffix+" failed") {
				t.Errorf("Ping after a failed sync: %v; want ErrDamaged naming %s and EIO", perr, path+tc.suffix)
			}
			writes := map[string]func() error{
				"AppendMetrics": func() error { _, err := s.AppendMetrics(ctx, p.ID, run.ID, "c", rec(3), nil); return err },
				"CreateRun":     func() error { _, err := s.CreateRun(ctx, p.ID, "r2", "constant(peak=0.1)", 1000, nil); return err },
				"RevokeToken":   func() error { return s.RevokeToken(ctx, p.ID, 1) },
				"CreateProject": func() error { _, err := s.CreateProject(ctx, "p2"); return err },
				"UpdateRun": func() error {
					_, err := s.UpdateRun(ctx, p.ID, run.ID, func(c *Change) error { c.Run.Status = RunDone; return nil })
					return err
				},
			}
			for name, write := range writes {
				if err := write(); !errors.Is(err, ErrDamaged) {
					t.Errorf("%s after a failed sync: %v; want ErrDamaged", name, err)
				}
			}
			got, err := s.Metrics(ctx, p.ID, run.ID, 0, 0)
			if err != nil || len(got) != 2 {
				t.Errorf("reads after a failed sync: %d metrics, %v; want the 2 stored", len(got), err)
			}
		})
	}
}

// sqliteCoded is an error with SQLite's result code, as the driver's
// errors carry it.
type sqliteCoded struct{ code int }

func (e sqliteCoded) Error() string { return fmt.Sprintf("sqlite error (%d)", e.code) }
func (e sqliteCoded) Code() int     { return e.code }

// An SQLite I/O error (such as SQLITE_IOERR_FSYNC from a checkpoint's
// sync) is damage after which writes are refused, as a failed sync of the
// store's own is; other SQLite errors are not.
func TestSQLiteIOErrorIsDamage(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		err    error
		damage bool
	}{
		{"SQLITE_IOERR_FSYNC", fmt.Errorf("store: checkpoint: %w", sqliteCoded{1034}), true},
		{"SQLITE_IOERR_WRITE", sqliteCoded{778}, true},
		{"SQLITE_BUSY", sqliteCoded{5}, false},
		{"SQLITE_FULL", sqliteCoded{13}, false},
		{"SQLITE_INTERRUPT", sqliteCoded{9}, false},
		{"not SQLite's", errors.New("disk I/O error"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, p, _ := openWithRun(t, filepath.Join(t.TempDir(), "s.db"), Options{})
			got := s.noteDamage(tc.err)
			if errors.Is(got, ErrDamaged) != tc.damage || !errors.Is(got, tc.err) {
				t.Errorf("noteDamage(%v) = %v; want damage %v, wrapping the error", tc.err, got, tc.damage)
			}
			_, werr := s.CreateRun(ctx, p.ID, "r2", "constant(peak=0.1)", 100, nil)
			if perr := s.Ping(ctx); (perr != nil) != tc.damage || errors.Is(werr, ErrDamaged) != tc.damage {
				t.Errorf("after %v: Ping %v, a write %v; want both damaged: %v", tc.err, perr, werr, tc.damage)
			}
		})
	}
}

// holdWriteLock takes SQLite's write lock on the database at path from a
// connection of its own and returns the function that releases it (its
// deferred cleanup also closes the connection).
func holdWriteLock(t *testing.T, path string) (release func()) {
	t.Helper()
	ctx := context.Background()
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	return func() { conn.ExecContext(ctx, "ROLLBACK") }
}

// A statement prepared twice for one query (two batches of a new shape at
// once) is closed without holding the lock of the prepared statements:
// closing waits for the connections it was prepared on, and a committer's
// query on one of them may wait in PostgreSQL for a row lock whose holder
// needs that lock to go on. Closed under the lock, that was a deadlock
// until the call timeout (TestMetricBatchIdempotency in CI, stop 21).
func TestLazyDuplicateClosedOutsideLock(t *testing.T) {
	ctx := context.Background()
	forEach(t, func(t *testing.T, s *Store, dsn string) {
		if s.dialect != dialectPostgres {
			t.Skip("the wait for a row lock inside a query is PostgreSQL's")
		}
		p, _ := s.CreateProject(ctx, "p")
		run, err := s.CreateRun(ctx, p.ID, "r", "constant(lr=0.1)", 100, []byte(`0`))
		if err != nil {
			t.Fatal(err)
		}
		// One connection: the duplicate is prepared on the connection
		// the waiting query runs on.
		s.w.SetMaxOpenConns(1)
		const query = "SELECT ? + 1"
		for _, keep := range []bool{true, false} {
			st, err := s.w.PrepareContext(ctx, s.q(query))
			if err != nil {
				t.Fatal(err)
			}
			if keep {
				s.keepLazy(query, st)
				continue
			}
			dup := st
			// Another connection holds the run's row lock; the store's
			// one connection waits for it inside a transaction.
			other, err := sql.Open("pgx", dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			holder, err := other.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := holder.ExecContext(ctx, "SELECT id FROM runs WHERE id = $1 FOR UPDATE", run.ID); err != nil {
				t.Fatal(err)
			}
			tx, err := s.w.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			waited := make(chan error, 1)
			go func() {
				_, err := tx.ExecContext(ctx, "SELECT id FROM runs WHERE id = $1 FOR UPDATE", run.ID)
				waited <- err
			}()
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				var n int
				if err := other.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'").Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the store's transaction never waited for the row lock")
				}
			}
			closed := make(chan struct{})
			go func() { s.keepLazy(query, dup); close(closed) }()
			time.Sleep(100 * time.Millisecond)
			free := s.lazyMu.TryLock()
			if free {
				s.lazyMu.Unlock()
			} else {
				t.Error("the prepared statements' lock is held while a duplicate waits to be closed")
			}
			holder.Rollback()
			if err := <-waited; err != nil {
				t.Errorf("waiting query: %v", err)
			}
			tx.Rollback()
			select {
			case <-closed:
			case <-time.After(10 * time.Second):
				t.Fatal("the duplicate statement was not closed after the lock was released")
			}
		}
		s.lazyMu.Lock()
		_, kept := s.lazy[query]
		s.lazyMu.Unlock()
		if !kept {
			t.Error("the first statement prepared for the query was not kept")
		}
	})
}

// BackgroundNice runs the committer and the checkpointer on lowered
// threads (Linux); out-of-range values are refused, naming the value.
func TestBackgroundNice(t *testing.T) {
	ctx := context.Background()
	for _, bad := range []int{-1, 20} {
		if _, err := OpenWith(ctx, filepath.Join(t.TempDir(), "x.db"), Options{BackgroundNice: bad}); err == nil || !strings.Contains(err.Error(), fmt.Sprint(bad)) {
			t.Errorf("BackgroundNice %d: %v, want an error naming it", bad, err)
		}
	}
	s, err := OpenWith(ctx, filepath.Join(t.TempDir(), "lrkit.db"), Options{BackgroundNice: 19})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := s.BackgroundThreads(); n != 2 {
		t.Errorf("BackgroundThreads %d, want 2 (committer and checkpointer)", n)
	}
	if runtime.GOOS == "linux" {
		for deadline := time.Now().Add(5 * time.Second); s.niced.Load() != 2; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d threads lowered, want 2", s.niced.Load())
			}
		}
	}
	p, _ := s.CreateProject(ctx, "p")
	run, _ := s.CreateRun(ctx, p.ID, "r", "constant(lr=0.1)", 100, []byte(`0`))
	res, err := s.AppendMetrics(ctx, p.ID, run.ID, "b", []runlog.Record{{Step: 1, Loss: 2, Present: runlog.FieldLoss}}, nil)
	if err != nil || res.Inserted != 1 {
		t.Errorf("batch through a lowered committer: %+v, %v", res, err)
	}
	plain, err := Open(ctx, filepath.Join(t.TempDir(), "plain.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if n := plain.BackgroundThreads(); n != 0 {
		t.Errorf("BackgroundThreads without BackgroundNice: %d", n)
	}
}

// ShareProcessor takes a share within (0, 1] and names what it refused.
func TestShareProcessorChecksShare(t *testing.T) {
	s, _, _ := openWithRun(t, ":memory:", Options{})
	busy := func() bool { return true }
	for _, tc := range []struct {
		share float64
		ok    bool
	}{
		{0.5, true}, {1, true}, {1e-3, true},
		{0, false}, {-0.5, false}, {1.5, false}, {math.NaN(), false}, {math.Inf(1), false},
	} {
		err := s.ShareProcessor(tc.share, busy)
		if tc.ok != (err == nil) {
			t.Errorf("ShareProcessor(%v): error %v, want ok=%v", tc.share, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), fmt.Sprintf("processor share %v: want more than 0, at most 1", tc.share)) {
			t.Errorf("ShareProcessor(%v): error %q does not say what was wrong", tc.share, err)
		}
	}
}

// A committer rests after a group for (1-share)/share times the group's
// time, at most maxRest, and only while busy reports latency-critical
// work and fewer than maxGroupBatches batches wait.
func TestCommitterRests(t *testing.T) {
	for _, tc := range []struct {
		name    string
		share   float64
		busy    bool
		backlog int
		worked  time.Duration
		want    time.Duration // 0: no rest
	}{
		{"a third", 1.0 / 3, true, 0, 3 * time.Millisecond, 6 * time.Millisecond},
		{"a half, some waiting", 0.5, true, maxGroupBatches - 1, 2 * time.Millisecond, 2 * time.Millisecond},
		{"capped", 0.1, true, 0, 5 * time.Millisecond, maxRest},
		{"nothing latency-critical", 0.5, false, 0, 2 * time.Millisecond, 0},
		{"ingest behind", 0.5, true, maxGroupBatches, 2 * time.Millisecond, 0},
		{"no limit", 1, true, 0, 2 * time.Millisecond, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Store{commits: make(chan *appendReq, 4*maxGroupBatches), stop: make(chan struct{})}
			for range tc.backlog {
				s.commits <- &appendReq{}
			}
			if err := s.ShareProcessor(tc.share, func() bool { return tc.busy }); err != nil {
				t.Fatal(err)
			}
			timer := time.NewTimer(time.Hour)
			timer.Stop()
			start := time.Now()
			s.rest(tc.worked, timer)
			took := time.Since(start)
			rests, rested := s.RestStats()
			if tc.want == 0 {
				if rests != 0 || rested != 0 {
					t.Fatalf("rested %d times, %v; want no rest", rests, rested)
				}
				return
			}
			if rests != 1 || rested != tc.want || took < tc.want {
				t.Fatalf("rested %d times, %v (took %v); want once, %v", rests, rested, took, tc.want)
			}
		})
	}
}

// A committer's rest ends when the store closes.
func TestCommitterRestEndsOnClose(t *testing.T) {
	s := &Store{commits: make(chan *appendReq, 1), stop: make(chan struct{})}
	if err := s.ShareProcessor(1e-3, func() bool { return true }); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		s.rest(time.Second, timer) // a rest of maxRest
		close(done)
	}()
	close(s.stop)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the rest went on after the store closed")
	}
	// A rest cut short counts as long as it lasted, not the maxRest it
	// was meant to last: here the store is closed before it begins.
	c := &Store{commits: make(chan *appendReq, 1), stop: make(chan struct{})}
	if err := c.ShareProcessor(1e-3, func() bool { return true }); err != nil {
		t.Fatal(err)
	}
	close(c.stop)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	c.rest(time.Second, timer)
	if n, d := c.RestStats(); n != 1 || d >= maxRest {
		t.Errorf("rest stats %d, %v; want one rest much shorter than %v", n, d, maxRest)
	}
}

// Through a real store: after a group that took 2 ms, a committer whose
// processor is shared half rests at least 2 ms, and not at all once the
// work it yields to is over.
func TestGroupCommitRests(t *testing.T) {
	ctx := context.Background()
	s, p, run := openWithRun(t, filepath.Join(t.TempDir(), "r.db"), Options{})
	var busy atomic.Bool
	busy.Store(true)
	if err := s.ShareProcessor(0.5, busy.Load); err != nil {
		t.Fatal(err)
	}
	spin := func(*Change) error {
		for start := time.Now(); time.Since(start) < 2*time.Millisecond; {
		}
		return nil
	}
	recs := []runlog.Record{{Step: 1, Loss: 1, Present: runlog.FieldLoss}}
	if _, err := s.AppendMetrics(ctx, p.ID, run.ID, "b1", recs, spin); err != nil {
		t.Fatal(err)
	}
	// The rest follows the acknowledgement: the next batch waits for it.
	recs[0].Step = 2
	if _, err := s.AppendMetrics(ctx, p.ID, run.ID, "b2", recs, nil); err != nil {
		t.Fatal(err)
	}
	rests, rested := s.RestStats()
	if rests < 1 || rested < 2*time.Millisecond {
		t.Fatalf("rested %d times, %v in all; want a rest of 2 ms or more after the first batch", rests, rested)
	}
	// A batch's rest is decided after its answer and over before the next
	// batch is stored: the count read after b3 holds every rest before
	// it, and the next two batches' decisions fall between the readings.
	busy.Store(false)
	for i, id := range []string{"b3", "b4", "b5"} {
		recs[0].Step = 3 + int64(i)
		if _, err := s.AppendMetrics(ctx, p.ID, run.ID, id, recs, spin); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			rests, _ = s.RestStats()
		}
	}
	if r, _ := s.RestStats(); r != rests {
		t.Fatalf("%d rests after busy turned false; want none", r-rests)
	}
}

// A database file damaged while the store has it open (garbage written
// over its pages from outside) is found by the first read that meets the
// damage: SQLite's SQLITE_CORRUPT, by its result code, makes the read
// fail with ErrDamaged and Ping report it from then on.
func TestCorruptPagesAtRunTime(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	s, p, run := openWithRun(t, path, Options{})
	if _, err := s.AppendMetrics(ctx, p.ID, run.ID, "b", lossRecords(0, 20000), nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err := Open(ctx, path) // no integrity check at opening
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	scribble(t, path, 4096*4, fi.Size()/2/4096*4096) // past the schema's pages
	_, err = s.Metrics(ctx, p.ID, run.ID, 0, 100000)
	if !errors.Is(err, ErrDamaged) || !isCorrupt(err) {
		t.Fatalf("reading metrics over garbage: %v; want ErrDamaged wrapping SQLite's SQLITE_CORRUPT", err)
	}
	if perr := s.Ping(ctx); !errors.Is(perr, ErrDamaged) {
		t.Errorf("Ping after the damaged read: %v; want ErrDamaged", perr)
	}
}
