package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/lrkit/lrkit/runlog"
)

// Project owns runs; API tokens belong to one project and see only its
// runs.
type Project struct {
	ID      int64
	Name    string
	Created time.Time
}

// Token is a stored API token; the token text itself is never stored,
// only its SHA-256 hash.
type Token struct {
	ID        int64
	ProjectID int64
	Name      string
	Created   time.Time
}

// RunStatus is where a run stands.
type RunStatus string

// The run statuses.
const (
	RunRunning RunStatus = "running"
	RunPaused  RunStatus = "paused"
	RunDone    RunStatus = "done"
	RunFailed  RunStatus = "failed"
)

// Run is a training run the server controls: its schedule or controller
// spec, step budget, status, the controller's serialised state and a
// version that every update increments.
type Run struct {
	ID              int64
	ProjectID       int64
	Name            string
	Spec            string
	Budget          int64
	Status          RunStatus
	ControllerState []byte // JSON, as control.Controller.State returns it
	Version         int64
	LastStep        int64 // highest stored metric step, -1 if none
	Created         time.Time
	Updated         time.Time
}

// Event is something that happened to a run: a controller decision, an
// action a user took. Detail is a JSON object.
type Event struct {
	ID      int64
	RunID   int64
	Step    int64
	Kind    string
	Detail  json.RawMessage
	Created time.Time
}

// More errors of the run methods (test with errors.Is).
var (
	// ErrBatchReused: a metrics batch ID already stored for the run came
	// again with other records (a retry sends the same records).
	ErrBatchReused = errors.New("batch ID already used for other records")
	// ErrKeyReused: an action's idempotency key already used for the run
	// came with another request.
	ErrKeyReused = errors.New("idempotency key already used for another request")
)

// checkStatus refuses a status that is not one of the four.
func (r *Run) checkStatus() error {
	switch r.Status {
	case RunRunning, RunPaused, RunDone, RunFailed:
		return nil
	}
	return fmt.Errorf("unknown run status %q", r.Status)
}

// Change is a run being changed inside a transaction of AppendMetrics or
// UpdateRun. The callback changes Run (its spec, budget, status or
// controller state) and may add events; the run, the events and (for
// AppendMetrics) the metrics commit together or not at all.
type Change struct {
	Run Run
	// events added by AddEvent, written with the change.
	events []Event
	// AppendMetrics: the batch's records, and how to find the new ones.
	recs      []runlog.Record
	fresh     func() ([]runlog.Record, error)
	freshRead bool
	freshRecs []runlog.Record
}

// Fresh returns, in AppendMetrics, the records of the batch whose steps
// are new (not stored before, nor earlier in the batch), in batch order:
// what a controller observes. It reads the run's stored steps the first
// time it is called, so an update that does not need them (a fixed
// schedule learns nothing) costs no query. Outside AppendMetrics it
// returns nil.
func (c *Change) Fresh() ([]runlog.Record, error) {
	if c.fresh == nil || c.freshRead {
		return c.freshRecs, nil
	}
	recs, err := c.fresh()
	if err != nil {
		return nil, err
	}
	c.freshRecs, c.freshRead = recs, true
	return recs, nil
}

// AddEvent records an event of the run with the change; detail nil means
// {}, and must otherwise be a JSON object.
func (c *Change) AddEvent(step int64, kind string, detail json.RawMessage) {
	c.events = append(c.events, Event{Step: step, Kind: kind, Detail: detail})
}

// The statements of the hot paths (see Store.prepare).
const (
	lookupTokenSQL = `SELECT id, project_id, name, created_ms FROM api_tokens
		WHERE token_hash = ? AND revoked_ms IS NULL`
	getRunSQL = "SELECT " + runCols + " FROM runs WHERE id = ? AND project_id = ?"
	// saveRunSQL also advances the run's metric count (see migration 7):
	// its version follows the run's if it was the run's (an UPDATE's
	// expressions read the row as it was).
	saveRunSQL = `UPDATE runs SET spec = ?, budget = ?, status = ?, controller_state = ?,
		last_step = ?, version = ?, updated_ms = ?, metric_count = metric_count + ?,
		metric_count_version = CASE WHEN metric_count_version = version THEN ? ELSE metric_count_version END
		WHERE id = ? AND version = ?`
	batchDigestSQL = "SELECT digest FROM run_batches WHERE run_id = ? AND batch_id = ?"
	insertBatchSQL = `INSERT INTO run_batches (run_id, batch_id, records, digest, received_ms)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id, batch_id) DO NOTHING`
	freshStepsSQL  = "SELECT step FROM run_metrics WHERE run_id = ? AND step BETWEEN ? AND ?"
	insertEventSQL = `INSERT INTO run_events (run_id, step, kind, detail, created_ms)
		VALUES (?, ?, ?, ?, ?) RETURNING id`
	actionSQL       = "SELECT digest FROM run_actions WHERE run_id = ? AND action_key = ?"
	insertActionSQL = `INSERT INTO run_actions (run_id, action_key, digest, version, created_ms)
		VALUES (?, ?, ?, ?, ?)`
)

// CreateProject stores a new project; ErrExists if the name is taken.
func (s *Store) CreateProject(ctx context.Context, name string) (Project, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var p Project
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = s.createProject(ctx, tx, name)
		return err
	})
	return p, err
}

func (s *Store) createProject(ctx context.Context, tx *sql.Tx, name string) (Project, error) {
	p := Project{Name: name, Created: time.UnixMilli(s.ms())}
	err := tx.QueryRowContext(ctx, s.q("INSERT INTO projects (name, created_ms) VALUES (?, ?) RETURNING id"),
		name, p.Created.UnixMilli()).Scan(&p.ID)
	if isUniqueViolation(err) {
		return Project{}, fmt.Errorf("store: project %q: %w", name, ErrExists)
	}
	if err != nil {
		return Project{}, fmt.Errorf("store: create project %q: %w", name, err)
	}
	return p, nil
}

// bootstrapLock is the PostgreSQL advisory lock key that serialises
// Bootstrap across processes ("lrkitb" in ASCII).
const bootstrapLock = 0x6c726b697462

// Bootstrap creates the project called project, with an API token called
// tokenName, if the database has no project at all, and returns the
// token's text and created = true; if any project exists it does nothing
// and returns "", false. It runs in one transaction that excludes other
// Bootstraps (SQLite's write lock, a PostgreSQL advisory lock), so server
// replicas starting together on an empty database create one project
// between them, and only one of them prints a token.
func (s *Store) Bootstrap(ctx context.Context, project, tokenName string) (string, bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var text string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if s.dialect == dialectPostgres {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(bootstrapLock)); err != nil {
				return err
			}
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM projects").Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		p, err := s.createProject(ctx, tx, project)
		if err != nil {
			return err
		}
		text, _, err = s.createToken(ctx, tx, p.ID, tokenName)
		return err
	})
	if err != nil {
		return "", false, fmt.Errorf("store: bootstrap project %q: %w", project, err)
	}
	return text, text != "", nil
}

// ProjectByName returns the project called name.
func (s *Store) ProjectByName(ctx context.Context, name string) (Project, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var p Project
	var created int64
	err := s.r.QueryRowContext(ctx, s.q("SELECT id, name, created_ms FROM projects WHERE name = ?"), name).Scan(&p.ID, &p.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Project{}, fmt.Errorf("store: project %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return Project{}, fmt.Errorf("store: project %q: %w", name, err)
	}
	p.Created = time.UnixMilli(created)
	return p, nil
}

// tokenPrefix starts every token, so that a leaked one is recognisable.
const tokenPrefix = "lrk_"

// HashToken returns the hex SHA-256 of a token's text, the form in which
// tokens are stored and looked up.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateToken makes a new API token for a project and returns its text,
// which is shown once and never stored: only its SHA-256 hash is.
func (s *Store) CreateToken(ctx context.Context, projectID int64, name string) (string, Token, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var text string
	var t Token
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		text, t, err = s.createToken(ctx, tx, projectID, name)
		return err
	})
	return text, t, err
}

func (s *Store) createToken(ctx context.Context, tx *sql.Tx, projectID int64, name string) (string, Token, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", Token{}, fmt.Errorf("store: token: %w", err)
	}
	text := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	t := Token{ProjectID: projectID, Name: name, Created: time.UnixMilli(s.ms())}
	err := tx.QueryRowContext(ctx, s.q(`INSERT INTO api_tokens (project_id, token_hash, name, created_ms)
		VALUES (?, ?, ?, ?) RETURNING id`), projectID, HashToken(text), name, t.Created.UnixMilli()).Scan(&t.ID)
	if err != nil {
		if strings.Contains(err.Error(), "FOREIGN KEY") || strings.Contains(err.Error(), "23503") {
			return "", Token{}, fmt.Errorf("store: token for project %d: %w", projectID, ErrNotFound)
		}
		return "", Token{}, fmt.Errorf("store: token for project %d: %w", projectID, err)
	}
	return text, t, nil
}

// LookupToken returns the live token whose text is token, by its hash;
// ErrNotFound for an unknown or revoked token.
func (s *Store) LookupToken(ctx context.Context, token string) (Token, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var t Token
	var created int64
	err := s.readRow(ctx, lookupTokenSQL, HashToken(token)).Scan(&t.ID, &t.ProjectID, &t.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("store: token: %w", ErrNotFound)
	}
	if err != nil {
		return Token{}, fmt.Errorf("store: token: %w", s.noteDamage(err))
	}
	t.Created = time.UnixMilli(created)
	return t, nil
}

// RevokeToken revokes a project's token; it no longer looks up (a server
// that cached it stops accepting it within its token TTL).
func (s *Store) RevokeToken(ctx context.Context, projectID, tokenID int64) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	res, err := s.writeExec(ctx, s.q("UPDATE api_tokens SET revoked_ms = ? WHERE id = ? AND project_id = ? AND revoked_ms IS NULL"),
		s.ms(), tokenID, projectID)
	if err != nil {
		return fmt.Errorf("store: revoke token %d: %w", tokenID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: revoke token %d: %w", tokenID, ErrNotFound)
	}
	return nil
}

// CreateRun stores a new run of a project with its spec, budget and
// initial controller state; ErrExists if the project has a run of that
// name.
func (s *Store) CreateRun(ctx context.Context, projectID int64, name, spec string, budget int64, state []byte) (Run, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	now := s.ms()
	r := Run{ProjectID: projectID, Name: name, Spec: spec, Budget: budget, Status: RunRunning,
		ControllerState: state, Version: 1, LastStep: -1, Created: time.UnixMilli(now), Updated: time.UnixMilli(now)}
	var err error
	r.ID, err = s.insertID(ctx, s.q(`INSERT INTO runs (project_id, name, spec, budget, controller_state, created_ms, updated_ms,
		metric_count, metric_count_version) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 1) RETURNING id`), projectID, name, spec, budget, string(state), now, now)
	if isUniqueViolation(err) {
		return Run{}, fmt.Errorf("store: run %q: %w", name, ErrExists)
	}
	if err != nil {
		if strings.Contains(err.Error(), "FOREIGN KEY") || strings.Contains(err.Error(), "23503") {
			return Run{}, fmt.Errorf("store: run %q of project %d: %w", name, projectID, ErrNotFound)
		}
		return Run{}, fmt.Errorf("store: create run %q: %w", name, err)
	}
	return r, nil
}

const runCols = "id, project_id, name, spec, budget, status, controller_state, version, last_step, created_ms, updated_ms"

func scanRun(sc interface{ Scan(...any) error }) (Run, error) {
	var (
		r                Run
		status, state    string
		created, updated int64
	)
	err := sc.Scan(&r.ID, &r.ProjectID, &r.Name, &r.Spec, &r.Budget, &status, &state, &r.Version, &r.LastStep, &created, &updated)
	if err != nil {
		return Run{}, err
	}
	r.Status = RunStatus(status)
	if state != "" {
		r.ControllerState = []byte(state)
	}
	r.Created, r.Updated = time.UnixMilli(created), time.UnixMilli(updated)
	return r, nil
}

// GetRun returns a run of a project. A run of another project is
// ErrNotFound, as if it did not exist.
func (s *Store) GetRun(ctx context.Context, projectID, runID int64) (Run, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	r, err := scanRun(s.readRow(ctx, getRunSQL, runID, projectID))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, fmt.Errorf("store: run %d: %w", runID, ErrNotFound)
	}
	if err != nil {
		return Run{}, fmt.Errorf("store: run %d: %w", runID, s.noteDamage(err))
	}
	return r, nil
}

// RunVersions returns the current version of each of the runs ids that
// exists, by ID (any project's: the caller checks ownership on the runs
// it holds), so that a cache can tell which of its runs changed with one
// query.
func (s *Store) RunVersions(ctx context.Context, ids []int64) (map[int64]int64, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	out := make(map[int64]int64, len(ids))
	const chunk = 500
	for len(ids) > 0 {
		n := min(len(ids), chunk)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		ids = ids[n:]
		query := "SELECT id, version FROM runs WHERE id IN (" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
		rows, err := s.r.QueryContext(ctx, s.q(query), args...)
		if err != nil {
			return nil, fmt.Errorf("store: run versions: %w", s.noteDamage(err))
		}
		for rows.Next() {
			var id, v int64
			if err := rows.Scan(&id, &v); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: run versions: %w", err)
			}
			out[id] = v
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: run versions: %w", err)
		}
	}
	return out, nil
}

// ListRuns lists a project's runs, oldest first.
func (s *Store) ListRuns(ctx context.Context, projectID int64) ([]Run, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.r.QueryContext(ctx, s.q("SELECT "+runCols+" FROM runs WHERE project_id = ? ORDER BY id"), projectID)
	if err != nil {
		return nil, fmt.Errorf("store: runs of project %d: %w", projectID, s.noteDamage(err))
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("store: runs of project %d: %w", projectID, s.noteDamage(err))
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// lockRunSQL reads a run inside a transaction, locking its row on
// PostgreSQL (SELECT ... FOR UPDATE); SQLite's single writer already
// serialises write transactions.
func (s *Store) lockRunSQL() string {
	if s.dialect == dialectPostgres {
		return getRunSQL + " FOR UPDATE"
	}
	return getRunSQL
}

func (s *Store) lockRun(ctx context.Context, tx *sql.Tx, projectID, runID int64) (Run, error) {
	r, err := scanRun(s.txQueryRow(ctx, tx, s.lockRunSQL(), runID, projectID))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, ErrNotFound
	}
	return r, err
}

// saveRun writes the mutable fields of r, and r.Version as its new
// version, if its version is still expectVersion; the transaction stored
// added metric records of the run.
func (s *Store) saveRun(ctx context.Context, tx *sql.Tx, r *Run, expectVersion, now, added int64) error {
	if err := r.checkStatus(); err != nil {
		return err
	}
	res, err := s.txExec(ctx, tx, saveRunSQL,
		r.Spec, r.Budget, string(r.Status), string(r.ControllerState), r.LastStep, r.Version, now, added, r.Version, r.ID, expectVersion)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrConflict
	}
	r.Updated = time.UnixMilli(now)
	return nil
}

// insertEvents writes a change's events of a run and returns them with
// their IDs.
func (s *Store) insertEvents(ctx context.Context, tx *sql.Tx, runID int64, evs []Event, now int64) ([]Event, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	out := make([]Event, len(evs))
	for i, e := range evs {
		if len(e.Detail) == 0 {
			e.Detail = json.RawMessage("{}")
		}
		if !json.Valid(e.Detail) {
			return nil, fmt.Errorf("event %q: detail is not valid JSON", e.Kind)
		}
		e.RunID, e.Created = runID, time.UnixMilli(now)
		if err := s.txQueryRow(ctx, tx, insertEventSQL, runID, e.Step, e.Kind, string(e.Detail), now).Scan(&e.ID); err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

// UpdateRun changes a run in one transaction: it locks and reads the run,
// calls fn to change it (its spec, budget, status or controller state,
// and events to record), and writes it back with its version
// incremented. Concurrent UpdateRuns of one run, from goroutines or from
// server replicas sharing PostgreSQL, apply one after the other, each
// seeing the last one's result. fn must not call the Store. If fn returns
// an error nothing is written.
func (s *Store) UpdateRun(ctx context.Context, projectID, runID int64, fn func(*Change) error) (Run, error) {
	r, _, err := s.UpdateRunOnce(ctx, projectID, runID, ActionKey{}, fn)
	return r, err
}

// ActionKey makes an update idempotent (see UpdateRunOnce): Key is the
// client's idempotency key (empty: none), Digest a digest of the request
// it came with.
type ActionKey struct{ Key, Digest string }

// UpdateRunOnce is UpdateRun applied at most once per idempotency key: the
// first call with key.Key changes the run and records the key with
// key.Digest, in the same transaction; a later call with the same key and
// digest (a client retrying after a lost reply) changes nothing and
// returns the run as it is, with replayed = true; the same key with
// another digest is ErrKeyReused.
func (s *Store) UpdateRunOnce(ctx context.Context, projectID, runID int64, key ActionKey, fn func(*Change) error) (run Run, replayed bool, err error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		r, err := s.lockRun(ctx, tx, projectID, runID)
		if err != nil {
			return err
		}
		if key.Key != "" {
			var digest string
			err := s.txQueryRow(ctx, tx, actionSQL, runID, key.Key).Scan(&digest)
			if err == nil {
				if digest != key.Digest {
					return ErrKeyReused
				}
				run, replayed = r, true
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		v := r.Version
		ch := Change{Run: r}
		if err := fn(&ch); err != nil {
			return err
		}
		now := s.ms()
		ch.Run.ID, ch.Run.ProjectID, ch.Run.Version = runID, projectID, v+1
		if err := s.saveRun(ctx, tx, &ch.Run, v, now, 0); err != nil {
			return err
		}
		if _, err := s.insertEvents(ctx, tx, runID, ch.events, now); err != nil {
			return err
		}
		if key.Key != "" {
			if _, err := s.txExec(ctx, tx, insertActionSQL, runID, key.Key, key.Digest, ch.Run.Version, now); err != nil {
				return err
			}
		}
		run = ch.Run
		return nil
	})
	if err != nil {
		return Run{}, false, fmt.Errorf("store: update run %d: %w", runID, s.noteDamage(err))
	}
	return run, replayed, nil
}

// AppendResult says what AppendMetrics stored.
type AppendResult struct {
	Duplicate bool    // the batch ID was seen before with the same records: nothing was stored
	Inserted  int     // new steps stored
	Skipped   int     // steps already stored by an earlier batch, left as they were
	Run       Run     // the run after the update
	Events    []Event // the events the update added
}

// AppendMetrics stores a batch of a run's metrics, idempotently: a batch
// ID already stored for the run with the same records (a client retrying
// after a lost reply) stores nothing and reports Duplicate, the same ID
// with other records is ErrBatchReused, and a step already stored is not
// stored again. If update is not nil it is called, in the same
// transaction, with the locked run (Change.Fresh gives the batch's new
// records, in the batch's order), to advance the controller state and
// record events; the
// metrics, the state and the events commit together or not at all, and
// the run's version advances by one. update must not call the Store.
//
// Batches are committed in groups (see commit.go): AppendMetrics returns
// once its batch's transaction has committed, or failed.
func (s *Store) AppendMetrics(ctx context.Context, projectID, runID int64, batchID string, recs []runlog.Record,
	update func(*Change) error) (AppendResult, error) {
	p, err := s.QueueMetrics(ctx, projectID, runID, batchID, recs, update)
	if err != nil {
		return AppendResult{}, err
	}
	return p.Wait()
}

// PendingMetrics is a metrics batch queued for its group commit.
type PendingMetrics struct {
	req *appendReq
}

// QueueMetrics does what AppendMetrics does, but returns once the batch is
// queued for its group commit; Wait returns its result. The work before
// the queue (the batch's INSERTs and digest) is done by the caller's
// goroutine, so a caller can do it on a thread of lower priority and
// wait on another.
func (s *Store) QueueMetrics(ctx context.Context, projectID, runID int64, batchID string, recs []runlog.Record,
	update func(*Change) error) (*PendingMetrics, error) {
	if batchID == "" {
		return nil, fmt.Errorf("store: metrics of run %d: empty batch ID", runID)
	}
	stmts := s.metricsStmts(runID, recs)
	if err := s.prepareInserts(ctx, stmts); err != nil {
		return nil, fmt.Errorf("store: metrics batch %q of run %d: %w", batchID, runID, s.noteDamage(err))
	}
	req := &appendReq{ctx: ctx, projectID: projectID, runID: runID, batchID: batchID, digest: batchDigest(recs),
		recs: recs, stmts: stmts, update: update, done: make(chan struct{})}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("store: metrics batch %q of run %d: %w", batchID, runID, ErrClosed)
	}
	select {
	case s.commits <- req:
		return &PendingMetrics{req: req}, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("store: metrics batch %q of run %d: %w", batchID, runID, ctx.Err())
	}
}

// Wait waits until the batch's group transaction has committed, or failed,
// and returns its result as AppendMetrics does.
func (p *PendingMetrics) Wait() (AppendResult, error) {
	r := p.req
	<-r.done
	if r.err != nil {
		return AppendResult{}, fmt.Errorf("store: metrics batch %q of run %d: %w", r.batchID, r.runID, r.err)
	}
	return r.res, nil
}

// Metrics returns a run's metrics with steps from fromStep on, in step
// order, at most limit of them (limit <= 0: all).
func (s *Store) Metrics(ctx context.Context, projectID, runID, fromStep int64, limit int) ([]runlog.Record, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	// The run's project is checked in the same query.
	query := "SELECT " + recordCols + " FROM run_metrics WHERE run_id = (SELECT id FROM runs WHERE id = ? AND project_id = ?) AND step >= ? ORDER BY step"
	args := []any{runID, projectID, fromStep}
	if limit > 0 {
		query += " LIMIT ?"
		args = append(args, limit)
	}
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: metrics of run %d: %w", runID, s.noteDamage(err))
	}
	defer rows.Close()
	var out []runlog.Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("store: metrics of run %d: %w", runID, s.noteDamage(err))
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: metrics of run %d: %w", runID, s.noteDamage(err))
	}
	if len(out) == 0 {
		// No rows: tell a run without metrics from one that is not there.
		var one int
		err := s.r.QueryRowContext(ctx, s.q("SELECT 1 FROM runs WHERE id = ? AND project_id = ?"), runID, projectID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("store: run %d: %w", runID, ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("store: run %d: %w", runID, s.noteDamage(err))
		}
	}
	return out, nil
}

// Events returns a project's run's events with IDs above afterID, oldest
// first (afterID 0: all), at most limit of them (limit <= 0: all), so a
// dashboard can poll for new ones, a page at a time (the next page is
// after the last ID returned); a run of another project has none.
func (s *Store) Events(ctx context.Context, projectID, runID, afterID int64, limit int) ([]Event, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	query, args := eventsSQL+" AND e.id > ? ORDER BY e.id", []any{runID, projectID, afterID}
	if limit > 0 {
		query += " LIMIT ?"
		args = append(args, limit)
	}
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: events of run %d: %w", runID, s.noteDamage(err))
	}
	return scanEvents(rows, runID)
}

const eventsSQL = `SELECT e.id, e.run_id, e.step, e.kind, e.detail, e.created_ms
	FROM run_events e JOIN runs r ON r.id = e.run_id WHERE e.run_id = ? AND r.project_id = ?`

func scanEvents(rows *sql.Rows, runID int64) ([]Event, error) {
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var detail string
		var created int64
		if err := rows.Scan(&e.ID, &e.RunID, &e.Step, &e.Kind, &detail, &created); err != nil {
			return nil, fmt.Errorf("store: events of run %d: %w", runID, err)
		}
		e.Detail, e.Created = json.RawMessage(detail), time.UnixMilli(created)
		out = append(out, e)
	}
	return out, rows.Err()
}

// RunView is what a dashboard page of a run shows, read at one moment.
type RunView struct {
	Run     Run
	Metrics []runlog.Record // thinned to about ViewMetrics of each kind, in step order
	Events  []Event         // the newest, newest first
	Count   int             // metric records stored in all
}

// View reads a project's run with its metrics, thinned, and its newest
// events, in one read transaction.
//
// A run of at most maxMetrics records has them all. A longer one is
// thinned evenly by step, keeping the first and the last: its step range
// is cut into maxMetrics equal buckets (the width rounded up), and the
// first record of each bucket is kept (when the steps are consecutive,
// every width-th row, as thinning evenly by row gives), with the last
// record. Rows with a validation loss, which are usually sparse, are
// thinned separately so they survive: all of them when there are at most
// maxMetrics, else likewise evenly over their own steps, first and last
// kept.
//
// Evenly by step is what the dashboard's charts can show, their x axis
// being linear in steps: a stretch of steps that logged densely gets no
// more points than the pixels it spans, a gap none.
//
// Each kept record is found by one index seek from its bucket's start
// (rows with a validation loss by the partial index run_metrics_val), so
// the cost does not grow with the run; numbering every row of the run
// with window functions, as View did, took 3-4 s for 300,000 records
// (BenchmarkView). The count of the run's records is the one kept with
// the run (migration 7); only while it is not known exact (see
// countMetrics) are they counted, which reads them all (about 40 ms per
// 300,000 on SQLite).
func (s *Store) View(ctx context.Context, projectID, runID int64, maxMetrics, maxEvents int) (RunView, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var v RunView
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == dialectPostgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.r.BeginTx(ctx, opts)
	if err != nil {
		return v, fmt.Errorf("store: view of run %d: %w", runID, s.noteDamage(err))
	}
	defer tx.Rollback()
	var count, countVersion sql.NullInt64
	v.Run, err = scanRun(scanMore{tx.QueryRowContext(ctx, s.q(viewRunSQL), runID, projectID), []any{&count, &countVersion}})
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("store: run %d: %w", runID, ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("store: view of run %d: %w", runID, s.noteDamage(err))
	}
	if count.Valid && countVersion.Valid && countVersion.Int64 == v.Run.Version {
		v.Count = int(count.Int64)
	} else if err := tx.QueryRowContext(ctx, s.q(countMetricsSQL), runID).Scan(&v.Count); err != nil {
		return v, fmt.Errorf("store: view of run %d: %w", runID, s.noteDamage(err))
	}
	var nval int
	var first, last, vfirst, vlast sql.NullInt64
	vals := s.valMetrics()
	if err := tx.QueryRowContext(ctx, s.q(strings.ReplaceAll(viewRangeSQL, "{{vals}}", vals)), runID, runID, runID, runID, runID).
		Scan(&first, &last, &nval, &vfirst, &vlast); err != nil {
		return v, fmt.Errorf("store: view of run %d: %w", runID, s.noteDamage(err))
	}
	maxMetrics = max(maxMetrics, 2)
	var query string
	var args []any
	if v.Count <= maxMetrics {
		query, args = "SELECT "+recordCols+" FROM run_metrics WHERE run_id = ? ORDER BY step", []any{runID}
	} else {
		// The steps kept: the first of each bucket, the last, and the
		// rows with a validation loss, all or thinned alike.
		width, n := buckets(first.Int64, last.Int64, maxMetrics)
		with := `WITH RECURSIVE b(i, lo) AS (SELECT 0, CAST(? AS BIGINT)
			UNION ALL SELECT i + 1, lo + CAST(? AS BIGINT) FROM b WHERE i + 1 < CAST(? AS BIGINT))`
		withArgs := []any{first.Int64, width, n}
		steps := `SELECT (SELECT m.step FROM run_metrics m WHERE m.run_id = ? AND m.step >= b.lo
			ORDER BY m.step LIMIT 1) FROM b UNION ALL SELECT CAST(? AS BIGINT)`
		stepArgs := []any{runID, last.Int64}
		switch {
		case nval > maxMetrics:
			vwidth, vn := buckets(vfirst.Int64, vlast.Int64, maxMetrics)
			with += `, vb(i, lo) AS (SELECT 0, CAST(? AS BIGINT)
			UNION ALL SELECT i + 1, lo + CAST(? AS BIGINT) FROM vb WHERE i + 1 < CAST(? AS BIGINT))`
			withArgs = append(withArgs, vfirst.Int64, vwidth, vn)
			steps += ` UNION ALL SELECT (SELECT m.step FROM ` + vals + `
			WHERE m.run_id = ? AND m.step >= vb.lo AND m.val_loss IS NOT NULL
			ORDER BY m.step LIMIT 1) FROM vb UNION ALL SELECT CAST(? AS BIGINT)`
			stepArgs = append(stepArgs, runID, vlast.Int64)
		case nval > 0:
			steps += ` UNION ALL SELECT m.step FROM ` + vals + ` WHERE m.run_id = ? AND m.val_loss IS NOT NULL`
			stepArgs = append(stepArgs, runID)
		}
		query = with + ` SELECT ` + recordCols + ` FROM run_metrics WHERE run_id = ? AND step IN (` + steps + `) ORDER BY step`
		args = append(append(withArgs, runID), stepArgs...)
	}
	rows, err := tx.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return v, fmt.Errorf("store: view of run %d: %w", runID, s.noteDamage(err))
	}
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			rows.Close()
			return v, fmt.Errorf("store: view of run %d: %w", runID, s.noteDamage(err))
		}
		v.Metrics = append(v.Metrics, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return v, fmt.Errorf("store: view of run %d: %w", runID, s.noteDamage(err))
	}
	erows, err := tx.QueryContext(ctx, s.q(eventsSQL+" ORDER BY e.id DESC LIMIT ?"), runID, projectID, maxEvents)
	if err != nil {
		return v, fmt.Errorf("store: view of run %d: %w", runID, s.noteDamage(err))
	}
	v.Events, err = scanEvents(erows, runID)
	return v, err
}

// viewRunSQL reads a run with its metric count and the version at which
// the count was exact (migration 7).
const viewRunSQL = "SELECT " + runCols + ", metric_count, metric_count_version FROM runs WHERE id = ? AND project_id = ?"

// scanMore scans a row of a run's columns (scanRun) and more.
type scanMore struct {
	row  *sql.Row
	more []any
}

func (m scanMore) Scan(dest ...any) error { return m.row.Scan(append(dest, m.more...)...) }

// countMetricsSQL counts a run's metric records.
const countMetricsSQL = "SELECT COUNT(*) FROM run_metrics WHERE run_id = ?"

// viewRangeSQL reads what View thins: a run's first and last steps, and
// how many rows have a validation loss with their first and last steps
// (the partial index run_metrics_val, {{vals}} is valMetrics). Each MIN
// and MAX is one index seek.
const viewRangeSQL = `SELECT
	(SELECT MIN(step) FROM run_metrics WHERE run_id = ?),
	(SELECT MAX(step) FROM run_metrics WHERE run_id = ?),
	(SELECT COUNT(*) FROM {{vals}} WHERE m.run_id = ? AND m.val_loss IS NOT NULL),
	(SELECT MIN(m.step) FROM {{vals}} WHERE m.run_id = ? AND m.val_loss IS NOT NULL),
	(SELECT MAX(m.step) FROM {{vals}} WHERE m.run_id = ? AND m.val_loss IS NOT NULL)`

// valMetrics is run_metrics as m, read by its partial index of the rows
// with a validation loss. SQLite, without statistics, takes the primary
// key for (run_id = ?) and reads every row of the run to find the few
// with one, so it is told; PostgreSQL chooses the index by itself.
func (s *Store) valMetrics() string {
	if s.dialect == dialectSQLite {
		return "run_metrics AS m INDEXED BY run_metrics_val"
	}
	return "run_metrics AS m"
}

// buckets cuts the steps first..last (first <= last) into at most n
// buckets of equal width, the width rounded up so that n cover them:
// bucket i starts at first + i*width, and count of them start at or
// before last (none past it, so no start overflows).
func buckets(first, last int64, n int) (width, count int64) {
	span := uint64(last) - uint64(first) // last - first, exact even where int64 would overflow
	w := span/uint64(n) + 1              // ceil((span+1)/n)
	if w > math.MaxInt64 {
		return math.MaxInt64, 1
	}
	return int64(w), int64(span/w) + 1
}

// countMetrics counts the metric records of every run whose kept count
// (migration 7) is not known exact: runs stored before schema version 7,
// and runs to which an older lrkit sharing the database stored metrics
// since, without advancing the count (its version then lags the run's).
// Open calls it; it reads only the runs table when every count is exact.
//
// Each run is counted in a transaction of its own that first locks its
// row (on PostgreSQL; SQLite has one writer at a time): every
// transaction that stores a run's metrics locks the run's row before it
// stores them, so none can store the run's metrics between the count and
// its UPDATE, and the count (a statement after the lock, which in READ
// COMMITTED sees every commit before it) misses none. Other runs'
// metrics are stored meanwhile.
func (s *Store) countMetrics(ctx context.Context) error {
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM runs
		WHERE metric_count IS NULL OR metric_count_version IS NULL OR metric_count_version <> version`)
	if err != nil {
		return fmt.Errorf("store: metric counts: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("store: metric counts: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: metric counts: %w", err)
	}
	lock := ""
	if s.dialect == dialectPostgres {
		lock = " FOR UPDATE"
	}
	for _, id := range ids {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var version int64
			var count, countVersion sql.NullInt64
			err := tx.QueryRowContext(ctx, s.q("SELECT version, metric_count, metric_count_version FROM runs WHERE id = ?"+lock), id).
				Scan(&version, &count, &countVersion)
			if errors.Is(err, sql.ErrNoRows) || err == nil && count.Valid && countVersion.Valid && countVersion.Int64 == version {
				return nil // deleted, or counted by another process meanwhile
			}
			if err != nil {
				return err
			}
			var n int64
			if err := tx.QueryRowContext(ctx, s.q(countMetricsSQL), id).Scan(&n); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, s.q("UPDATE runs SET metric_count = ?, metric_count_version = ? WHERE id = ?"), n, version, id)
			return err
		})
		if err != nil {
			return fmt.Errorf("store: metric count of run %d: %w", id, err)
		}
	}
	return nil
}

// Tokens lists a project's live tokens (never their text, which is not
// stored), oldest first.
func (s *Store) Tokens(ctx context.Context, projectID int64) ([]Token, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id, project_id, name, created_ms FROM api_tokens
		WHERE project_id = ? AND revoked_ms IS NULL ORDER BY id`), projectID)
	if err != nil {
		return nil, fmt.Errorf("store: tokens of project %d: %w", projectID, err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var t Token
		var created int64
		if err := rows.Scan(&t.ID, &t.ProjectID, &t.Name, &created); err != nil {
			return nil, fmt.Errorf("store: tokens of project %d: %w", projectID, err)
		}
		t.Created = time.UnixMilli(created)
		out = append(out, t)
	}
	return out, rows.Err()
}
