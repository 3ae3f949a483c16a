// Package store persists lrkit's studies, trials and their records and
// scores, and the server's projects, API tokens, runs, run metrics,
// controller state and events.
//
// One code path over database/sql serves two databases: SQLite, embedded
// (modernc.org/sqlite, pure Go) in a file, by default; and PostgreSQL
// (github.com/jackc/pgx/v5 through its database/sql driver) when Open is
// given a postgres:// URL. They differ only in placeholders ("?" against
// "$1"), the auto-increment key and the float and byte types of the schema;
// upserts (INSERT ... ON CONFLICT) and RETURNING are written once for both.
//
// The schema is versioned: embedded SQL migrations are applied in order by
// Open, each in its own transaction together with its row in schema_version,
// so running them again is a no-op and two processes starting together
// apply each one once.
//
// SQLite runs in WAL mode with a busy timeout, foreign keys on and one
// writer connection (transactions begin IMMEDIATE), plus a small pool of
// read-only connections; synchronous=NORMAL makes every committed
// transaction survive a crash of the process (not of the machine).
//
// Exactly-once rules the rest of lrkit relies on: FinishTrial stores one
// result per trial key however often it is called; AppendMetrics counts a
// retried batch (same batch ID) once, and a step once; UpdateRun changes a
// run's controller state under a row lock and a version check, so
// concurrent updates from several server replicas lose nothing.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Errors the methods return (wrapped with context; test with errors.Is).
var (
	// ErrNotFound: no such study, trial, project, token or run (or, for a
	// run, not one of the given project's).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a run's version changed under an update.
	ErrConflict = errors.New("version conflict")
	// ErrTrialDone: the trial already has its result.
	ErrTrialDone = errors.New("trial already finished")
	// ErrExists: a study, project or run of that name already exists.
	ErrExists = errors.New("already exists")
)

type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

// Store is an open database. It is safe for concurrent use.
type Store struct {
	w, r    *sql.DB // writer and readers; the same pool for PostgreSQL
	dialect dialect
	now     func() time.Time
	// Statements of the hot paths, prepared once by Open and only read
	// after, keyed by their text before placeholder rewriting.
	wstmts, rstmts map[string]*sql.Stmt
}

// Open opens the database at dsn, creating it if needed, and migrates it
// to the current schema. dsn is a postgres:// (or postgresql://) URL, or
// the path of an SQLite file; ":memory:" is a private in-memory database.
func Open(ctx context.Context, dsn string) (*Store, error) {
	s := &Store{now: time.Now}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open %s: %w", redact(dsn), err)
		}
		db.SetMaxOpenConns(16)
		db.SetMaxIdleConns(16)
		db.SetConnMaxIdleTime(5 * time.Minute)
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("store: connect to %s: %w", redact(dsn), err)
		}
		s.w, s.r, s.dialect = db, db, dialectPostgres
	} else {
		if dsn == "" {
			return nil, errors.New("store: empty database path")
		}
		if strings.ContainsAny(dsn, "?#") && dsn != ":memory:" {
			return nil, fmt.Errorf("store: database path %q may not contain ? or #", dsn)
		}
		const pragmas = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
		w, err := sql.Open("sqlite", dsn+"?_pragma=journal_mode(WAL)&"+pragmas+"&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("store: open %s: %w", dsn, err)
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		w.SetConnMaxLifetime(0)
		if err := w.PingContext(ctx); err != nil {
			w.Close()
			return nil, fmt.Errorf("store: open %s: %w", dsn, err)
		}
		s.w, s.r, s.dialect = w, w, dialectSQLite
		if dsn != ":memory:" {
			r, err := sql.Open("sqlite", dsn+"?_pragma=query_only(1)&"+pragmas)
			if err != nil {
				w.Close()
				return nil, fmt.Errorf("store: open %s: %w", dsn, err)
			}
			r.SetMaxOpenConns(4)
			r.SetMaxIdleConns(4)
			s.r = r
		}
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// prepare prepares the statements of the hot paths: parsing the SQL
// was a quarter of the time of a metrics batch on SQLite.
func (s *Store) prepare(ctx context.Context) error {
	s.wstmts, s.rstmts = map[string]*sql.Stmt{}, map[string]*sql.Stmt{}
	writes := []string{s.lockRunSQL(), insertBatchSQL, freshStepsSQL, saveRunSQL, finishTrialSQL, trialExistsSQL}
	for _, n := range recordChunks {
		writes = append(writes, recordInsertSQL("run_metrics", "run_id", n, metricsConflict),
			recordInsertSQL("trial_records", "trial_id", n, trialRecordsConflict))
	}
	for _, query := range writes {
		st, err := s.w.PrepareContext(ctx, s.q(query))
		if err != nil {
			return fmt.Errorf("store: prepare %q: %w", query, err)
		}
		s.wstmts[query] = st
	}
	for _, query := range []string{lookupTokenSQL, getRunSQL} {
		st, err := s.r.PrepareContext(ctx, s.q(query))
		if err != nil {
			return fmt.Errorf("store: prepare %q: %w", query, err)
		}
		s.rstmts[query] = st
	}
	return nil
}

// txExec runs a write statement in tx, prepared if it is a hot one.
func (s *Store) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st, ok := s.wstmts[query]; ok {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, s.q(query), args...)
}

// txQueryRow runs a one-row query in tx, prepared if it is a hot one.
func (s *Store) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if st, ok := s.wstmts[query]; ok {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, s.q(query), args...)
}

// txQuery runs a query in tx, prepared if it is a hot one.
func (s *Store) txQuery(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if st, ok := s.wstmts[query]; ok {
		return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, s.q(query), args...)
}

// readRow runs a one-row query on the read pool, prepared if it is a hot
// one.
func (s *Store) readRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st, ok := s.rstmts[query]; ok {
		return st.QueryRowContext(ctx, args...)
	}
	return s.r.QueryRowContext(ctx, s.q(query), args...)
}

// Close closes the database.
func (s *Store) Close() error {
	for _, st := range s.wstmts {
		st.Close()
	}
	for _, st := range s.rstmts {
		st.Close()
	}
	err := s.w.Close()
	if s.r != s.w {
		if rerr := s.r.Close(); err == nil {
			err = rerr
		}
	}
	return err
}

// IsPostgres reports whether the store is a PostgreSQL database.
func (s *Store) IsPostgres() bool { return s.dialect == dialectPostgres }

// redact hides a password in a URL for error messages.
func redact(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	scheme := strings.Index(dsn, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return dsn
	}
	userinfo := dsn[scheme+3 : at]
	if user, _, ok := strings.Cut(userinfo, ":"); ok {
		return dsn[:scheme+3] + user + ":***" + dsn[at:]
	}
	return dsn
}

// q rewrites a query written with "?" placeholders for the dialect.
func (s *Store) q(query string) string {
	if s.dialect != dialectPostgres {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// ms is a time as Unix milliseconds.
func (s *Store) ms() int64 { return s.now().UnixMilli() }

// fromMS converts Unix milliseconds (NULL: zero time) to a time.
func fromMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64)
}

// tx runs fn in a write transaction and commits it if fn returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// isUniqueViolation reports whether err is a unique-constraint failure.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	// SQLite: "UNIQUE constraint failed"; PostgreSQL: SQLSTATE 23505.
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "23505")
}
