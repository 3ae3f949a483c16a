package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lrkit/lrkit/runlog"
)

// postgresAt returns a fresh PostgreSQL schema (see freshSchema) holding
// lrkit's schema up to version n, applied the way any lrkit would have,
// with a project and a run (both ID 1), and a connection pool to it; the
// test is skipped without LRKIT_TEST_POSTGRES.
func postgresAt(t *testing.T, n int) (string, *sql.DB) {
	t.Helper()
	url := os.Getenv("LRKIT_TEST_POSTGRES")
	if url == "" {
		t.Skip("needs PostgreSQL: set LRKIT_TEST_POSTGRES (see store/testdata/pg.sh)")
	}
	dsn := freshSchema(t, url)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	old := &Store{dialect: dialectPostgres}
	if _, err := db.Exec("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version > n {
			break
		}
		if !m.SQLiteOnly {
			for _, st := range statements(old.render(m.SQL)) {
				if _, err := db.Exec(st); err != nil {
					t.Fatalf("%s: %v", m.Name, err)
				}
			}
		}
		if _, err := db.Exec("INSERT INTO schema_version VALUES ($1, $2, 0)", m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range []string{
		"INSERT INTO projects (name, created_ms) VALUES ('p', 0)",
		"INSERT INTO runs (project_id, name, spec, budget, created_ms, updated_ms) VALUES (1, 'r', 'constant()', 1000, 0, 0)",
	} {
		if _, err := db.Exec(st); err != nil {
			t.Fatal(err)
		}
	}
	return dsn, db
}

// indexState says whether the index name exists in the schema of db's
// search path, and whether PostgreSQL has it valid (usable by queries).
func indexState(t *testing.T, db *sql.DB, name string) (exists, valid bool, def string) {
	t.Helper()
	err := db.QueryRow(`SELECT i.indisvalid, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace`, name).Scan(&valid, &def)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return true, valid, def
}

// checkValIndex fails the test unless run_metrics_val is there, valid,
// and what migration 6 says it is.
func checkValIndex(t *testing.T, db *sql.DB) {
	t.Helper()
	exists, valid, def := indexState(t, db, "run_metrics_val")
	if !exists || !valid || strings.Contains(def, "UNIQUE") || !strings.Contains(def, "(run_id, step) WHERE (val_loss IS NOT NULL)") {
		t.Errorf("index run_metrics_val: exists %v, valid %v, %s", exists, valid, def)
	}
}

// On PostgreSQL, migration 6 builds its index with CREATE INDEX
// CONCURRENTLY, outside a transaction: while the build waits for a
// transaction that writes to run_metrics (as it waits for every writer
// of the table, then builds), others still store metrics. Built inside
// the migration's transaction, the index took a SHARE lock on
// run_metrics for the whole build, and every insert queued behind it.
func TestMigration6DoesNotBlockWrites(t *testing.T) {
	dsn, db := postgresAt(t, 5)
	ctx := context.Background()
	// A writer of run_metrics with its transaction open holds the build.
	holder, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback()
	if _, err := holder.Exec("INSERT INTO run_metrics (run_id, step, present, loss, val_loss) VALUES (1, 0, $1, 2.5, 2.6)",
		int64(runlog.FieldLoss|runlog.FieldValLoss)); err != nil {
		t.Fatal(err)
	}
	opened := make(chan error, 1)
	go func() {
		s, err := Open(ctx, dsn)
		if err == nil {
			err = s.Close()
		}
		opened <- err
	}()
	// Wait until the build waits.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query ILIKE 'CREATE INDEX%run_metrics_val%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		select {
		case err := <-opened:
			t.Fatalf("Open returned (%v) while a transaction writing run_metrics was open", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("migration 6's index build never waited for the open transaction")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Another writer stores a metric meanwhile.
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET lock_timeout = '3s'"); err != nil {
		t.Fatal(err)
	}
	_, err = conn.ExecContext(ctx, "INSERT INTO run_metrics (run_id, step, present, loss, val_loss) VALUES (1, 1, $1, 2.4, 2.5)",
		int64(runlog.FieldLoss|runlog.FieldValLoss))
	if err != nil {
		t.Errorf("an insert into run_metrics while migration 6 builds its index: %v", err)
	}
	if err := holder.Commit(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-opened:
		if err != nil {
			t.Fatalf("open: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Open did not return once the writer committed")
	}
	checkValIndex(t, db)
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v, err := s.View(ctx, 1, 1, 1000, 10)
	if err != nil || v.Count != 2 || len(v.Metrics) != 2 || v.Metrics[1].ValLoss != 2.5 {
		t.Errorf("view after migrating: count %d, metrics %+v, %v", v.Count, v.Metrics, err)
	}
}

// A CREATE INDEX CONCURRENTLY that was interrupted (the process killed,
// the call cancelled, the build failing) leaves an INVALID index behind;
// migration 6 run again drops it and builds it afresh. An index that was
// built but whose version was not recorded is kept, and the version
// recorded.
func TestMigration6AfterInterruptedBuild(t *testing.T) {
	dsn, db := postgresAt(t, 5)
	ctx := context.Background()
	for step := range 3 {
		if _, err := db.Exec("INSERT INTO run_metrics (run_id, step, present, loss, val_loss) VALUES (1, $1, $2, 2.5, 2.6)",
			step, int64(runlog.FieldLoss|runlog.FieldValLoss)); err != nil {
			t.Fatal(err)
		}
	}
	// A unique index of run_id cannot be built over these rows: the
	// failed build leaves an invalid index of the migration's name.
	if _, err := db.Exec("CREATE UNIQUE INDEX CONCURRENTLY run_metrics_val ON run_metrics (run_id) WHERE val_loss IS NOT NULL"); err == nil {
		t.Fatal("a unique index of duplicates was built")
	}
	if exists, valid, _ := indexState(t, db, "run_metrics_val"); !exists || valid {
		t.Fatalf("after the failed build: exists %v, valid %v; want an invalid index", exists, valid)
	}
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open with an invalid index left by an interrupted build: %v", err)
	}
	s.Close()
	checkValIndex(t, db)

	// Built, but the process stopped before recording version 6.
	if _, err := db.Exec("DELETE FROM schema_version WHERE version = 6"); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open with the index built and version 6 not recorded: %v", err)
	}
	defer s.Close()
	checkValIndex(t, db)
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM schema_version WHERE version = 6").Scan(&n); err != nil || n != 1 {
		t.Errorf("version 6 recorded %d times (%v)", n, err)
	}
	v, err := s.View(ctx, 1, 1, 1000, 10)
	if err != nil || v.Count != 3 || len(v.Metrics) != 3 {
		t.Errorf("view after migrating: count %d, %d metrics, %v", v.Count, len(v.Metrics), err)
	}
}

// Stores opened together on a database at version 5 (server replicas
// starting at once) apply migration 6 once between them: the others wait
// for the migration lock without holding a snapshot, which the
// concurrent build would wait for (a process waiting in
// pg_advisory_lock meanwhile deadlocked with the build, and PostgreSQL
// failed one of them).
func TestMigrationsOpenedTogether(t *testing.T) {
	dsn, db := postgresAt(t, 5)
	ctx := context.Background()
	for step := range 1000 {
		if _, err := db.Exec("INSERT INTO run_metrics (run_id, step, present, loss, val_loss) VALUES (1, $1, $2, 2.5, 2.6)",
			step, int64(runlog.FieldLoss|runlog.FieldValLoss)); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, 6)
	for range cap(errs) {
		go func() {
			s, err := Open(ctx, dsn)
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Errorf("open: %v", err)
		}
	}
	checkValIndex(t, db)
	ms, _ := Migrations()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM schema_version").Scan(&n); err != nil || n != len(ms) {
		t.Errorf("schema_version has %d rows (%v), want %d", n, err, len(ms))
	}
}

// Migration 6 is the one Concurrent migration: on SQLite it is the
// statement it always was; on PostgreSQL it builds its index
// concurrently.
func TestConcurrentMigration(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Concurrent != (m.Version == 6) {
			t.Errorf("%s: Concurrent %v", m.Name, m.Concurrent)
		}
		if m.Version != 6 {
			continue
		}
		const want = "CREATE INDEX run_metrics_val ON run_metrics (run_id, step) WHERE val_loss IS NOT NULL;"
		sqlite := statements((&Store{dialect: dialectSQLite}).render(m.SQL))
		pg := statements((&Store{dialect: dialectPostgres}).render(m.SQL))
		if len(sqlite) != 1 || sqlite[0] != want {
			t.Errorf("%s on SQLite: %q", m.Name, sqlite)
		}
		if len(pg) != 1 || pg[0] != strings.Replace(want, "INDEX", "INDEX CONCURRENTLY", 1) {
			t.Errorf("%s on PostgreSQL: %q", m.Name, pg)
		}
		if name, ok := concurrentIndex(pg[0]); !ok || name != "run_metrics_val" {
			t.Errorf("index of %q: %q, %v", pg[0], name, ok)
		}
	}
}
