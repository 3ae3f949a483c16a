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

// The statements of the hot paths (see Store.prepare).
const (
	lookupTokenSQL = `SELECT id, project_id, name, created_ms FROM api_tokens
		WHERE token_hash = ? AND revoked_ms IS NULL`
	getRunSQL  = "SELECT " + runCols + " FROM runs WHERE id = ? AND project_id = ?"
	saveRunSQL = `UPDATE runs SET spec = ?, budget = ?, status = ?, controller_state = ?,
		last_step = ?, version = version + 1, updated_ms = ? WHERE id = ? AND version = ?`
	insertBatchSQL = `INSERT INTO run_batches (run_id, batch_id, records, received_ms)
		VALUES (?, ?, ?, ?) ON CONFLICT (run_id, batch_id) DO NOTHING`
	freshStepsSQL = "SELECT step FROM run_metrics WHERE run_id = ? AND step BETWEEN ? AND ?"
)

// CreateProject stores a new project; ErrExists if the name is taken.
func (s *Store) CreateProject(ctx context.Context, name string) (Project, error) {
	p := Project{Name: name, Created: time.UnixMilli(s.ms())}
	err := s.w.QueryRowContext(ctx, s.q("INSERT INTO projects (name, created_ms) VALUES (?, ?) RETURNING id"),
		name, p.Created.UnixMilli()).Scan(&p.ID)
	if isUniqueViolation(err) {
		return Project{}, fmt.Errorf("store: project %q: %w", name, ErrExists)
	}
	if err != nil {
		return Project{}, fmt.Errorf("store: create project %q: %w", name, err)
	}
	return p, nil
}

// ProjectByName returns the project called name.
func (s *Store) ProjectByName(ctx context.Context, name string) (Project, error) {
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
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", Token{}, fmt.Errorf("store: token: %w", err)
	}
	text := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	t := Token{ProjectID: projectID, Name: name, Created: time.UnixMilli(s.ms())}
	err := s.w.QueryRowContext(ctx, s.q(`INSERT INTO api_tokens (project_id, token_hash, name, created_ms)
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
	var t Token
	var created int64
	err := s.readRow(ctx, lookupTokenSQL, HashToken(token)).Scan(&t.ID, &t.ProjectID, &t.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("store: token: %w", ErrNotFound)
	}
	if err != nil {
		return Token{}, fmt.Errorf("store: token: %w", err)
	}
	t.Created = time.UnixMilli(created)
	return t, nil
}

// RevokeToken revokes a project's token; it no longer looks up.
func (s *Store) RevokeToken(ctx context.Context, projectID, tokenID int64) error {
	res, err := s.w.ExecContext(ctx, s.q("UPDATE api_tokens SET revoked_ms = ? WHERE id = ? AND project_id = ? AND revoked_ms IS NULL"),
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
	now := s.ms()
	r := Run{ProjectID: projectID, Name: name, Spec: spec, Budget: budget, Status: RunRunning,
		ControllerState: state, Version: 1, LastStep: -1, Created: time.UnixMilli(now), Updated: time.UnixMilli(now)}
	err := s.w.QueryRowContext(ctx, s.q(`INSERT INTO runs (project_id, name, spec, budget, controller_state, created_ms, updated_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`), projectID, name, spec, budget, string(state), now, now).Scan(&r.ID)
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
	r, err := scanRun(s.readRow(ctx, getRunSQL, runID, projectID))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, fmt.Errorf("store: run %d: %w", runID, ErrNotFound)
	}
	if err != nil {
		return Run{}, fmt.Errorf("store: run %d: %w", runID, err)
	}
	return r, nil
}

// ListRuns lists a project's runs, oldest first.
func (s *Store) ListRuns(ctx context.Context, projectID int64) ([]Run, error) {
	rows, err := s.r.QueryContext(ctx, s.q("SELECT "+runCols+" FROM runs WHERE project_id = ? ORDER BY id"), projectID)
	if err != nil {
		return nil, fmt.Errorf("store: runs of project %d: %w", projectID, err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("store: runs of project %d: %w", projectID, err)
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

// saveRun writes the mutable fields of r if its version is still
// expectVersion, and increments the version.
func (s *Store) saveRun(ctx context.Context, tx *sql.Tx, r *Run, expectVersion int64) error {
	if r.Status != RunRunning && r.Status != RunPaused && r.Status != RunDone && r.Status != RunFailed {
		return fmt.Errorf("unknown run status %q", r.Status)
	}
	now := s.ms()
	res, err := s.txExec(ctx, tx, saveRunSQL,
		r.Spec, r.Budget, string(r.Status), string(r.ControllerState), r.LastStep, now, r.ID, expectVersion)
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
	r.Version = expectVersion + 1
	r.Updated = time.UnixMilli(now)
	return nil
}

// UpdateRun changes a run in one transaction: it locks and reads the run,
// calls fn to change it (its spec, budget, status or controller state),
// and writes it back with its version incremented. Concurrent UpdateRuns
// of one run, from goroutines or from server replicas sharing PostgreSQL,
// apply one after the other, each seeing the last one's result. fn must
// not call the Store. If fn returns an error nothing is written.
func (s *Store) UpdateRun(ctx context.Context, projectID, runID int64, fn func(*Run) error) (Run, error) {
	var out Run
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := s.lockRun(ctx, tx, projectID, runID)
		if err != nil {
			return err
		}
		v := r.Version
		if err := fn(&r); err != nil {
			return err
		}
		r.ID, r.ProjectID, r.Version = runID, projectID, v
		if err := s.saveRun(ctx, tx, &r, v); err != nil {
			return err
		}
		out = r
		return nil
	})
	if err != nil {
		return Run{}, fmt.Errorf("store: update run %d: %w", runID, err)
	}
	return out, nil
}

// CompareAndSwapState replaces a run's controller state if its version is
// still version, and returns the new version; ErrConflict if another
// update came first (read the run again and retry).
func (s *Store) CompareAndSwapState(ctx context.Context, projectID, runID, version int64, state []byte) (int64, error) {
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE runs SET controller_state = ?, version = version + 1, updated_ms = ?
		WHERE id = ? AND project_id = ? AND version = ?`), string(state), s.ms(), runID, projectID, version)
	if err != nil {
		return 0, fmt.Errorf("store: swap state of run %d: %w", runID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: swap state of run %d: %w", runID, err)
	}
	if n == 0 {
		if _, err := s.GetRun(ctx, projectID, runID); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("store: swap state of run %d at version %d: %w", runID, version, ErrConflict)
	}
	return version + 1, nil
}

// AppendResult says what AppendMetrics stored.
type AppendResult struct {
	Duplicate bool // the batch ID was seen before: nothing was stored
	Inserted  int  // new steps stored
	Skipped   int  // steps already stored by an earlier batch, left as they were
	Run       Run  // the run after the update
}

// AppendMetrics stores a batch of a run's metrics, idempotently: a batch
// ID already stored for the run (a client retrying after a lost reply)
// stores nothing and reports Duplicate, and a step already stored is not
// stored again. If update is not nil it is called, in the same
// transaction, with the locked run and the newly stored records (in the
// batch's order), to advance the controller state; the metrics and the
// state commit together or not at all. update must not call the Store.
func (s *Store) AppendMetrics(ctx context.Context, projectID, runID int64, batchID string, recs []runlog.Record,
	update func(r *Run, fresh []runlog.Record) error) (AppendResult, error) {
	if batchID == "" {
		return AppendResult{}, fmt.Errorf("store: metrics of run %d: empty batch ID", runID)
	}
	var out AppendResult
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = AppendResult{}
		r, err := s.lockRun(ctx, tx, projectID, runID)
		if err != nil {
			return err
		}
		res, err := s.txExec(ctx, tx, insertBatchSQL, runID, batchID, len(recs), s.ms())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			out.Duplicate, out.Skipped, out.Run = true, len(recs), r
			return nil
		}
		fresh, err := s.freshRecords(ctx, tx, runID, recs)
		if err != nil {
			return err
		}
		n, err := s.insertRecords(ctx, tx, "run_metrics", "run_id", runID, fresh, metricsConflict)
		if err != nil {
			return err
		}
		if int(n) != len(fresh) {
			return fmt.Errorf("stored %d of %d new steps", n, len(fresh))
		}
		out.Inserted, out.Skipped = len(fresh), len(recs)-len(fresh)
		v := r.Version
		for _, rec := range fresh {
			r.LastStep = max(r.LastStep, rec.Step)
		}
		if update != nil {
			if err := update(&r, fresh); err != nil {
				return err
			}
		}
		r.ID, r.ProjectID = runID, projectID
		if err := s.saveRun(ctx, tx, &r, v); err != nil {
			return err
		}
		out.Run = r
		return nil
	})
	if err != nil {
		return AppendResult{}, fmt.Errorf("store: metrics batch %q of run %d: %w", batchID, runID, err)
	}
	return out, nil
}

// freshRecords returns the records of recs whose steps are not stored yet
// for the run, and not repeated earlier in recs.
func (s *Store) freshRecords(ctx context.Context, tx *sql.Tx, runID int64, recs []runlog.Record) ([]runlog.Record, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	lo, hi := recs[0].Step, recs[0].Step
	for _, r := range recs {
		lo, hi = min(lo, r.Step), max(hi, r.Step)
	}
	rows, err := s.txQuery(ctx, tx, freshStepsSQL, runID, lo, hi)
	if err != nil {
		return nil, err
	}
	seen := map[int64]bool{}
	for rows.Next() {
		var st int64
		if err := rows.Scan(&st); err != nil {
			rows.Close()
			return nil, err
		}
		seen[st] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	fresh := make([]runlog.Record, 0, len(recs))
	for _, r := range recs {
		if !seen[r.Step] {
			seen[r.Step] = true
			fresh = append(fresh, r)
		}
	}
	return fresh, nil
}

// Metrics returns a run's metrics with steps from fromStep on, in step
// order, at most limit of them (limit <= 0: all).
func (s *Store) Metrics(ctx context.Context, projectID, runID, fromStep int64, limit int) ([]runlog.Record, error) {
	if _, err := s.GetRun(ctx, projectID, runID); err != nil {
		return nil, err
	}
	query := "SELECT " + recordCols + " FROM run_metrics WHERE run_id = ? AND step >= ? ORDER BY step"
	args := []any{runID, fromStep}
	if limit > 0 {
		query += " LIMIT ?"
		args = append(args, limit)
	}
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: metrics of run %d: %w", runID, err)
	}
	defer rows.Close()
	var out []runlog.Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("store: metrics of run %d: %w", runID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// AddEvent records an event of a project's run and returns it with its
// ID; detail nil means {}.
func (s *Store) AddEvent(ctx context.Context, projectID, runID, step int64, kind string, detail json.RawMessage) (Event, error) {
	if len(detail) == 0 {
		detail = json.RawMessage("{}")
	}
	if !json.Valid(detail) {
		return Event{}, fmt.Errorf("store: event %q of run %d: detail is not valid JSON", kind, runID)
	}
	e := Event{RunID: runID, Step: step, Kind: kind, Detail: detail, Created: time.UnixMilli(s.ms())}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, s.q("SELECT 1 FROM runs WHERE id = ? AND project_id = ?"), runID, projectID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, s.q(`INSERT INTO run_events (run_id, step, kind, detail, created_ms)
			VALUES (?, ?, ?, ?, ?) RETURNING id`), runID, step, kind, string(detail), e.Created.UnixMilli()).Scan(&e.ID)
	})
	if err != nil {
		return Event{}, fmt.Errorf("store: event %q of run %d: %w", kind, runID, err)
	}
	return e, nil
}

// Events returns a project's run's events with IDs above afterID, oldest
// first (afterID 0: all), so a dashboard can poll for new ones.
func (s *Store) Events(ctx context.Context, projectID, runID, afterID int64) ([]Event, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT e.id, e.run_id, e.step, e.kind, e.detail, e.created_ms
		FROM run_events e JOIN runs r ON r.id = e.run_id
		WHERE e.run_id = ? AND r.project_id = ? AND e.id > ? ORDER BY e.id`), runID, projectID, afterID)
	if err != nil {
		return nil, fmt.Errorf("store: events of run %d: %w", runID, err)
	}
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

// RunByName returns a project's run called name, so that a restarted
// training job can find its run again.
func (s *Store) RunByName(ctx context.Context, projectID int64, name string) (Run, error) {
	r, err := scanRun(s.r.QueryRowContext(ctx, s.q("SELECT "+runCols+" FROM runs WHERE project_id = ? AND name = ?"), projectID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, fmt.Errorf("store: run %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return Run{}, fmt.Errorf("store: run %q: %w", name, err)
	}
	return r, nil
}

// Projects lists the projects, oldest first.
func (s *Store) Projects(ctx context.Context) ([]Project, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT id, name, created_ms FROM projects ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("store: projects: %w", err)
	}
	defer rows.Close()
	var out []Project
	for rows.Next() {
		var p Project
		var created int64
		if err := rows.Scan(&p.ID, &p.Name, &created); err != nil {
			return nil, fmt.Errorf("store: projects: %w", err)
		}
		p.Created = time.UnixMilli(created)
		out = append(out, p)
	}
	return out, rows.Err()
}

// Tokens lists a project's live tokens (never their text, which is not
// stored), oldest first.
func (s *Store) Tokens(ctx context.Context, projectID int64) ([]Token, error) {
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
