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
// apply each one once. The exception is an index built on PostgreSQL
// without locking out writers (CREATE INDEX CONCURRENTLY, migration 6),
// which cannot run in a transaction: it is built, then recorded, and an
// interrupted build is redone (migrate.go).
//
// SQLite runs in WAL mode with a busy timeout, foreign keys on and one
// writer connection (transactions begin IMMEDIATE), plus a small pool of
// read-only connections; synchronous=NORMAL makes every committed
// transaction survive a crash of the process (not of the machine).
//
// Exactly-once rules the rest of lrkit relies on: FinishTrial stores one
// result per trial key however often it is called; AppendMetrics counts a
// retried batch (same batch ID and records) once, and a step once, and
// refuses the batch ID with other records (ErrBatchReused); UpdateRun
// changes a run under a row lock and a version check, so concurrent
// updates from several server replicas lose nothing, and UpdateRunOnce
// applies an action once per idempotency key.
//
// Metric batches are committed in groups (commit.go): the batches that
// arrive while a transaction commits share the next one, and each caller
// returns once its batch's transaction has committed. Every call is
// bounded by Options.Timeout. OpenWith can refuse an emptied SQLite file
// and run SQLite's quick integrity check.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lrkit/lrkit/internal/threadprio"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"               // registers the "sqlite" driver; its Error gives result codes
)

// Errors the methods return (wrapped with context; test with errors.Is).
var (
	// ErrNotFound: no such study, trial, project, token or run (or, for a
	// run, not one of the given project's).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a run's version changed under an update.
	ErrConflict = errors.New("version conflict")
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
	w, r *sql.DB // writer and readers; the same pool for PostgreSQL
	ckpt *sql.DB // SQLite file: the checkpointer's connection (checkpoint.go)
	path string  // SQLite file: its path
	// dbFile is the SQLite database file, opened to sync it after the
	// checkpointer's copies; closed after SQLite's connections.
	dbFile    *os.File
	shmFile   *os.File      // its wal-index, read for the WAL's size; closed last too
	walFinish chan struct{} // the checkpointer asks the committer to finish a checkpoint
	tune      checkpointTuning
	dialect   dialect
	now       func() time.Time
	timeout   time.Duration
	nice      int // Options.BackgroundNice
	// Statements of the hot paths, prepared once by Open and only read
	// after, keyed by their text before placeholder rewriting.
	wstmts, rstmts map[string]*sql.Stmt
	// Statements prepared on first use (the metric INSERTs, one per shape
	// of batch), and the text of each INSERT shape.
	lazyMu  sync.Mutex
	lazy    map[string]*sql.Stmt
	inserts map[insertKey]string

	commits chan *appendReq // metric batches waiting for a group commit
	stop    chan struct{}   // closed by Close: committers finish and exit
	wg      sync.WaitGroup  // the committers
	closeMu sync.RWMutex    // held to read closed while queueing, and to set it
	closed  bool
	// groups and batches count committed group transactions and the
	// metric batches they held.
	groups, batches atomic.Uint64
	yields          atomic.Uint64 // see pacer
	share           atomic.Pointer[processorShare]
	rests           atomic.Uint64 // committer rests (ShareProcessor)
	rested          atomic.Int64  // their total length, ns
	checkpoints     atomic.Uint64 // background checkpoint passes
	finishes        atomic.Uint64 // checkpoints finished by the committer
	walSyncs        atomic.Uint64 // WAL syncs by the checkpointer
	niced           atomic.Int32  // background threads whose nice value was set (for tests)

	health  Health
	damaged atomic.Pointer[error] // the first sign of a damaged database seen at run time
	// ioFailed is set by a failed sync of the database's files or another
	// SQLite I/O error, after which writes are refused (noteIOFailure).
	ioFailed atomic.Pointer[error]
}

// Options configure OpenWith. The zero value is Open's behaviour.
type Options struct {
	// RefuseEmptied refuses, with an error wrapping ErrNoDatabase, an
	// SQLite file that exists but holds no lrkit schema (truncated to 0
	// bytes, or another program's): a database that was there and lost
	// its schema must not silently start afresh. A missing file, or a
	// PostgreSQL database without lrkit's tables, is new and is created
	// as usual. lrkit serve opens this way unless started with --init.
	RefuseEmptied bool
	// Check runs SQLite's quick integrity check (PRAGMA quick_check) on
	// opening and refuses a damaged file with an error wrapping
	// ErrDamaged. It reads the whole file: seconds per gigabyte.
	Check bool
	// Timeout bounds every database call (default 30s): a database that
	// stops answering makes calls fail, not hang.
	Timeout time.Duration
	// BackgroundNice, from 1 to MaxBackgroundNice, runs the metrics
	// committers and the checkpointer on threads of their own at that
	// nice value (Linux only; see internal/threadprio): when the
	// processors are all busy, the kernel runs the process's other
	// threads first. It takes effect only with one more Go processor
	// (GOMAXPROCS) than cores per such thread (BackgroundThreads), which
	// lrkit serve arranges; the server's ingest workers run at the same
	// value. 0: off.
	BackgroundNice int

	tune *checkpointTuning // tests: the checkpointer's intervals
}

// MaxBackgroundNice is the largest Options.BackgroundNice: the lowest
// priority.
const MaxBackgroundNice = threadprio.MaxNice

// Health is what Store.Health reports about the database.
type Health struct {
	Kind      string // "sqlite" or "postgres"
	Schema    int    // the schema version at opening
	Integrity string // "ok", or "not checked" (PostgreSQL, or Check unset)
	CheckedAt time.Time
}

// More errors of Open (test with errors.Is).
var (
	// ErrNoDatabase: Options.RefuseEmptied was set and the SQLite file
	// exists but holds no lrkit schema.
	ErrNoDatabase = errors.New("no lrkit database")
	// ErrDamaged: the SQLite file failed its integrity check, or a call
	// found it malformed.
	ErrDamaged = errors.New("database damaged")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store closed")
)

// Open opens the database at dsn, creating it if needed, and migrates it
// to the current schema. dsn is a postgres:// (or postgresql://) URL, or
// the path of an SQLite file; ":memory:" is a private in-memory database.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return OpenWith(ctx, dsn, Options{})
}

// OpenWith opens the database at dsn (see Open) with options.
func OpenWith(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.BackgroundNice < 0 || opts.BackgroundNice > MaxBackgroundNice {
		return nil, fmt.Errorf("store: background nice value %d: want 0 (off) to %d", opts.BackgroundNice, MaxBackgroundNice)
	}
	s := &Store{now: time.Now, timeout: opts.Timeout, nice: opts.BackgroundNice,
		tune: defaultTuning()}
	if opts.tune != nil {
		s.tune = *opts.tune
	}
	emptied := false // an existing SQLite file that must hold the schema
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open %s: %w", redact(dsn), err)
		}
		db.SetMaxOpenConns(16)
		db.SetMaxIdleConns(16)
		db.SetConnMaxIdleTime(5 * time.Minute)
		pctx, cancel := context.WithTimeout(ctx, opts.Timeout)
		err = db.PingContext(pctx)
		cancel()
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("store: connect to %s: %w", redact(dsn), err)
		}
		s.w, s.r, s.dialect = db, db, dialectPostgres
		s.health = Health{Kind: "postgres", Integrity: "not checked"}
	} else {
		if dsn == "" {
			return nil, errors.New("store: empty database path")
		}
		if strings.ContainsAny(dsn, "?#") && dsn != ":memory:" {
			return nil, fmt.Errorf("store: database path %q may not contain ? or #", dsn)
		}
		if opts.RefuseEmptied && dsn != ":memory:" {
			fi, err := os.Stat(dsn)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				// New: created below.
			case err != nil:
				return nil, fmt.Errorf("store: %w", err)
			case !fi.Mode().IsRegular():
				return nil, fmt.Errorf("store: %s is not a regular file", dsn)
			case fi.Size() == 0:
				return nil, fmt.Errorf("store: %s is empty (0 bytes): %w", dsn, ErrNoDatabase)
			default:
				emptied = true // it exists: it must hold the schema (checked below)
			}
		}
		const pragmas = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
		// One writer connection (the committer's; SQLite has one writer at
		// a time anyway), readers beside it, and the checkpointer's own.
		w, err := sqlitePool(dsn, "_pragma=journal_mode(WAL)&"+pragmas+"&_txlock=immediate"+
			"&_pragma=wal_autocheckpoint("+strconv.Itoa(walSafetyPages)+")", 1)
		if err != nil {
			return nil, err
		}
		if err := w.PingContext(ctx); err != nil {
			w.Close()
			return nil, fmt.Errorf("store: open %s: %w", dsn, s.noteDamage(err))
		}
		s.w, s.r, s.dialect = w, w, dialectSQLite
		s.health = Health{Kind: "sqlite", Integrity: "not checked"}
		if dsn != ":memory:" {
			if s.r, err = sqlitePool(dsn, "_pragma=query_only(1)&"+pragmas, 4); err != nil {
				s.r = w
				s.Close()
				return nil, err
			}
			if s.ckpt, err = sqlitePool(dsn, pragmas, 1); err != nil {
				s.Close()
				return nil, err
			}
			if s.dbFile, err = os.Open(dsn); err != nil {
				s.Close()
				return nil, fmt.Errorf("store: %w", err)
			}
			s.path, s.walFinish = dsn, make(chan struct{}, 1)
		}
		if opts.Check {
			if err := s.quickCheck(ctx); err != nil {
				s.Close()
				return nil, fmt.Errorf("store: %s: %w", dsn, err)
			}
		}
	}
	if emptied {
		if v, err := s.schemaVersion(ctx); err != nil || v == 0 {
			s.Close()
			if err != nil && !isNoSuchTable(err) {
				return nil, fmt.Errorf("store: %s: %w", dsn, s.noteDamage(err))
			}
			return nil, fmt.Errorf("store: %s exists but holds no lrkit schema: %w", dsn, ErrNoDatabase)
		}
	}
	if err := s.migrate(ctx); err != nil {
		err = s.noteDamage(err) // before Close, after which every error is ErrClosed's
		s.Close()
		return nil, err
	}
	v, err := s.schemaVersion(ctx)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.health.Schema = v
	if err := s.countMetrics(ctx); err != nil {
		err = s.noteDamage(err)
		s.Close()
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if s.dbFile != nil {
		// The wal-index exists once a transaction has run in WAL mode (the
		// migration's), and stays while the store's connections are open.
		// Without it (SQLite keeping it in memory) the WAL is synced by
		// checkpoints only, as SQLite does by itself.
		if f, err := os.Open(s.path + "-shm"); err == nil {
			s.shmFile = f
		}
	}
	s.startCommitters()
	return s, nil
}

// quickCheck runs SQLite's PRAGMA quick_check and returns ErrDamaged with
// its first findings unless it says "ok".
func (s *Store) quickCheck(ctx context.Context) error {
	rows, err := s.w.QueryContext(ctx, "PRAGMA quick_check(10)")
	if err != nil {
		return fmt.Errorf("integrity check: %w: %v", ErrDamaged, err)
	}
	defer rows.Close()
	var found []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("integrity check: %w: %v", ErrDamaged, err)
		}
		found = append(found, line)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check: %w: %v", ErrDamaged, err)
	}
	if len(found) != 1 || found[0] != "ok" {
		return fmt.Errorf("integrity check: %w: %s", ErrDamaged, strings.Join(found, "; "))
	}
	s.health.Integrity, s.health.CheckedAt = "ok", s.now()
	return nil
}

// sqliteIOErr is the primary result code of SQLite's I/O errors
// (SQLITE_IOERR); the extended codes, such as SQLITE_IOERR_FSYNC (1034),
// keep it in their low byte (https://www.sqlite.org/rescode.html).
const sqliteIOErr = 10

// isIOError reports whether err is an SQLite I/O error. The driver's
// errors (modernc.org/sqlite's *Error) give SQLite's result code by a
// Code method; PostgreSQL's errors have none.
func isIOError(err error) bool {
	return primaryCode(err) == sqliteIOErr
}

// primaryCode returns the primary SQLite result code in err's chain (the
// low byte of an extended code), or -1 if err carries none.
func primaryCode(err error) int {
	var coded interface{ Code() int }
	if !errors.As(err, &coded) {
		return -1
	}
	return coded.Code() & 0xff
}

// The driver's errors have the Code method primaryCode asks for.
var _ interface{ Code() int } = (*sqlite.Error)(nil)

// SQLite's primary result codes of a damaged file: SQLITE_CORRUPT (the
// database disk image is malformed; extended codes such as
// SQLITE_CORRUPT_INDEX keep it in their low byte) and SQLITE_NOTADB (the
// file is not a database).
const (
	sqliteCorrupt = 11
	sqliteNotADB  = 26
)

// isCorrupt reports whether err is SQLite's report of a damaged file, by
// its result code.
func isCorrupt(err error) bool {
	c := primaryCode(err)
	return c == sqliteCorrupt || c == sqliteNotADB
}

// isNoSuchTable reports whether err says a table is missing (an empty
// database).
func isNoSuchTable(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "no such table") || strings.Contains(msg, "42P01")
}

// noteDamage remembers err if SQLite says the file is damaged (isCorrupt;
// Ping reports it from then on) and returns err, wrapping ErrDamaged in that case,
// or ErrClosed when the store was closed. An SQLite I/O error (a read,
// write or sync of the database's files failed, such as the sync of a
// checkpoint) is damage after which the store also refuses writes
// (noteIOFailure).
func (s *Store) noteDamage(err error) error {
	if err == nil {
		return nil
	}
	s.closeMu.RLock()
	closed := s.closed
	s.closeMu.RUnlock()
	if closed && !errors.Is(err, ErrClosed) {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	if errors.Is(err, ErrDamaged) {
		return err
	}
	if isIOError(err) {
		return s.noteIOFailure(err)
	}
	if !isCorrupt(err) {
		return err
	}
	err = fmt.Errorf("%w: %w", ErrDamaged, err)
	s.damaged.CompareAndSwap(nil, &err)
	return err
}

// Health reports the database's kind, schema version and integrity check
// at opening; Ping says whether it answers now.
func (s *Store) Health() Health { return s.health }

// Ping checks that the database answers now and its schema is still
// there; it returns ErrDamaged once any call found the file damaged.
func (s *Store) Ping(ctx context.Context) error {
	if p := s.damaged.Load(); p != nil {
		return *p
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var v sql.NullInt64
	if err := s.r.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_version").Scan(&v); err != nil {
		return fmt.Errorf("store: ping: %w", s.noteDamage(err))
	}
	if !v.Valid || int(v.Int64) != s.health.Schema {
		return fmt.Errorf("store: ping: schema version %d, opened at %d: %w", v.Int64, s.health.Schema, ErrDamaged)
	}
	return nil
}

// sqlitePool opens a pool of at most n connections to the SQLite file dsn,
// with the query parameters params.
func sqlitePool(dsn, params string, n int) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn+"?"+params)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dsn, err)
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	return db, nil
}

// bound limits ctx to the store's call timeout.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// prepare prepares the statements of the hot paths: parsing the SQL
// was a quarter of the time of a metrics batch on SQLite.
func (s *Store) prepare(ctx context.Context) error {
	s.wstmts, s.rstmts = map[string]*sql.Stmt{}, map[string]*sql.Stmt{}
	s.lazy, s.inserts = map[string]*sql.Stmt{}, map[insertKey]string{}
	writes := []string{s.lockRunSQL(), batchDigestSQL, insertBatchSQL, freshStepsSQL, saveRunSQL, insertEventSQL,
		actionSQL, insertActionSQL, finishTrialSQL, trialExistsSQL}
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

// txExec runs a write statement in tx, prepared if it is a hot one; a
// metrics INSERT is prepared on its first use.
func (s *Store) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st, ok := s.wstmts[query]; ok {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	s.lazyMu.Lock()
	st, ok := s.lazy[query]
	s.lazyMu.Unlock()
	if ok {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, s.q(query), args...)
}

// maxLazy bounds the statements prepared on first use.
const maxLazy = 512

// prepareLazy prepares query on the writer pool unless it is prepared
// already (or maxLazy are). It must not run inside a transaction of the
// writer: SQLite's pool has one connection, which the transaction holds.
func (s *Store) prepareLazy(ctx context.Context, query string) error {
	s.lazyMu.Lock()
	_, ok := s.lazy[query]
	full := len(s.lazy) >= maxLazy
	s.lazyMu.Unlock()
	if ok || full {
		return nil
	}
	st, err := s.w.PrepareContext(ctx, s.q(query))
	if err != nil {
		return err
	}
	s.keepLazy(query, st)
	return nil
}

// keepLazy keeps st as the prepared statement of query, or closes it if
// another caller prepared query meanwhile.
func (s *Store) keepLazy(query string, st *sql.Stmt) {
	s.lazyMu.Lock()
	_, dup := s.lazy[query]
	if !dup {
		s.lazy[query] = st
	}
	s.lazyMu.Unlock()
	if dup {
		// Closed outside lazyMu: closing waits for every connection the
		// statement was prepared on, and one of them may be running a
		// committer's query that waits (in PostgreSQL) for a row lock
		// held by another committer, which needs lazyMu to go on. Closed
		// under the mutex, that was a deadlock until the call timeout.
		st.Close()
	}
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

// Close closes the database: metric batches queued for a commit are
// committed first, later ones fail with ErrClosed.
func (s *Store) Close() error {
	s.closeMu.Lock()
	wasClosed := s.closed
	s.closed = true
	s.closeMu.Unlock()
	if wasClosed {
		return nil
	}
	if s.stop != nil {
		close(s.stop)
		s.wg.Wait()
	}
	for _, st := range s.wstmts {
		st.Close()
	}
	for _, st := range s.lazy {
		st.Close()
	}
	for _, st := range s.rstmts {
		st.Close()
	}
	err := s.w.Close()
	if s.ckpt != nil {
		s.ckpt.Close()
	}
	if s.r != s.w {
		if rerr := s.r.Close(); err == nil {
			err = rerr
		}
	}
	// Last: closing a descriptor drops the process's locks on its file.
	for _, f := range []*os.File{s.dbFile, s.shmFile} {
		if f != nil {
			f.Close()
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
	if err := s.writable(); err != nil {
		return err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.noteDamage(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return s.noteDamage(err)
	}
	return s.noteDamage(tx.Commit())
}

// Every write goes through tx, writeExec, insertID or the metrics
// committer's groupTx: each refuses to write once the store has seen an
// I/O failure (writable), and remembers damage in what the database
// answers (noteDamage).

// writeExec runs a write statement outside a transaction.
func (s *Store) writeExec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := s.writable(); err != nil {
		return nil, err
	}
	res, err := s.w.ExecContext(ctx, query, args...)
	return res, s.noteDamage(err)
}

// insertID runs an INSERT ... RETURNING id outside a transaction and
// returns the id.
func (s *Store) insertID(ctx context.Context, query string, args ...any) (int64, error) {
	if err := s.writable(); err != nil {
		return 0, err
	}
	var id int64
	err := s.w.QueryRowContext(ctx, query, args...).Scan(&id)
	return id, s.noteDamage(err)
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
