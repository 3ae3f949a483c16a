package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Study is a benchmark study: its name and the YAML spec it was run from.
type Study struct {
	ID      int64
	Name    string
	Spec    string
	Created time.Time
}

// TrialStatus is where a trial stands.
type TrialStatus string

// The trial statuses.
const (
	TrialPending TrialStatus = "pending"
	TrialRunning TrialStatus = "running"
	TrialDone    TrialStatus = "done"
	TrialFailed  TrialStatus = "failed"
)

// TrialSpec is what a trial is: its key (unique within the study), the
// workload, the schedule or controller spec, hyperparameters (a JSON
// object), seed and step budget.
type TrialSpec struct {
	Key      string
	Workload string
	Schedule string
	HParams  json.RawMessage // nil means {}
	Seed     int64
	Budget   int64
}

// Trial is a stored trial.
type Trial struct {
	ID      int64
	StudyID int64
	TrialSpec
	Status   TrialStatus
	Worker   string
	Attempts int
	Result   json.RawMessage // nil until finished
	Error    string          // last failure, if any
	Created  time.Time
	Started  time.Time // zero if never started
	Finished time.Time // zero if not finished
}

// createStudy stores a new study; ErrExists if the name is taken.
func (s *Store) createStudy(ctx context.Context, name, spec string) (Study, error) {
	st := Study{Name: name, Spec: spec, Created: time.UnixMilli(s.ms())}
	var err error
	st.ID, err = s.insertID(ctx, s.q("INSERT INTO studies (name, spec, created_ms) VALUES (?, ?, ?) RETURNING id"),
		name, spec, st.Created.UnixMilli())
	if isUniqueViolation(err) {
		return Study{}, fmt.Errorf("store: study %q: %w", name, ErrExists)
	}
	if err != nil {
		return Study{}, fmt.Errorf("store: create study %q: %w", name, err)
	}
	return st, nil
}

// EnsureStudy returns the study called name, creating it with spec if it
// does not exist; created says which. A resumed study keeps its stored
// spec: compare it with spec to detect a changed study file.
func (s *Store) EnsureStudy(ctx context.Context, name, spec string) (st Study, created bool, err error) {
	st, err = s.createStudy(ctx, name, spec)
	if err == nil {
		return st, true, nil
	}
	if !errors.Is(err, ErrExists) {
		return Study{}, false, err
	}
	st, err = s.StudyByName(ctx, name)
	return st, false, err
}

// UpdateStudySpec replaces a study's stored spec, for a study that grew
// (new schedules or workloads); its trials are kept.
func (s *Store) UpdateStudySpec(ctx context.Context, studyID int64, spec string) error {
	res, err := s.writeExec(ctx, s.q("UPDATE studies SET spec = ? WHERE id = ?"), spec, studyID)
	if err != nil {
		return fmt.Errorf("store: update spec of study %d: %w", studyID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("store: update spec of study %d: %w", studyID, ErrNotFound)
	}
	return nil
}

// StudyByName returns the study called name.
func (s *Store) StudyByName(ctx context.Context, name string) (Study, error) {
	var st Study
	var created int64
	err := s.r.QueryRowContext(ctx, s.q("SELECT id, name, spec, created_ms FROM studies WHERE name = ?"), name).
		Scan(&st.ID, &st.Name, &st.Spec, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Study{}, fmt.Errorf("store: study %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return Study{}, fmt.Errorf("store: study %q: %w", name, err)
	}
	st.Created = time.UnixMilli(created)
	return st, nil
}

// AddTrials adds the trials of a study that are not there yet (by key)
// and returns how many were new. Adding the same specs again, as a resumed
// study does, changes nothing.
func (s *Store) AddTrials(ctx context.Context, studyID int64, specs []TrialSpec) (int, error) {
	added := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, s.q(`INSERT INTO trials
			(study_id, trial_key, workload, schedule, hparams, seed, budget, created_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (study_id, trial_key) DO NOTHING`))
		if err != nil {
			return err
		}
		defer stmt.Close()
		now := s.ms()
		for _, sp := range specs {
			if sp.Key == "" {
				return errors.New("trial with an empty key")
			}
			hp := string(sp.HParams)
			if hp == "" {
				hp = "{}"
			}
			if !json.Valid([]byte(hp)) {
				return fmt.Errorf("trial %q: hyperparameters are not valid JSON", sp.Key)
			}
			res, err := stmt.ExecContext(ctx, studyID, sp.Key, sp.Workload, sp.Schedule, hp, sp.Seed, sp.Budget, now)
			if err != nil {
				return fmt.Errorf("trial %q: %w", sp.Key, err)
			}
			n, _ := res.RowsAffected()
			added += int(n)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: add trials to study %d: %w", studyID, err)
	}
	return added, nil
}

const trialCols = `id, study_id, trial_key, workload, schedule, hparams, seed, budget, status, worker,
	attempts, result, error, created_ms, started_ms, finished_ms`

func scanTrial(sc interface{ Scan(...any) error }) (Trial, error) {
	var (
		t                 Trial
		hp                string
		status            string
		result            sql.NullString
		created           int64
		started, finished sql.NullInt64
	)
	err := sc.Scan(&t.ID, &t.StudyID, &t.Key, &t.Workload, &t.Schedule, &hp, &t.Seed, &t.Budget, &status,
		&t.Worker, &t.Attempts, &result, &t.Error, &created, &started, &finished)
	if err != nil {
		return Trial{}, err
	}
	t.HParams = json.RawMessage(hp)
	t.Status = TrialStatus(status)
	if result.Valid {
		t.Result = json.RawMessage(result.String)
	}
	t.Created = time.UnixMilli(created)
	t.Started, t.Finished = fromMS(started), fromMS(finished)
	return t, nil
}

// Trials lists a study's trials in the order they were added; with
// statuses given, only trials in one of them.
func (s *Store) Trials(ctx context.Context, studyID int64, statuses ...TrialStatus) ([]Trial, error) {
	query := "SELECT " + trialCols + " FROM trials WHERE study_id = ?"
	args := []any{studyID}
	if len(statuses) > 0 {
		query += " AND status IN ("
		for i, st := range statuses {
			if i > 0 {
				query += ", "
			}
			query += "?"
			args = append(args, string(st))
		}
		query += ")"
	}
	rows, err := s.r.QueryContext(ctx, s.q(query+" ORDER BY id"), args...)
	if err != nil {
		return nil, fmt.Errorf("store: trials of study %d: %w", studyID, err)
	}
	defer rows.Close()
	var out []Trial
	for rows.Next() {
		t, err := scanTrial(rows)
		if err != nil {
			return nil, fmt.Errorf("store: trials of study %d: %w", studyID, err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// The statements of FinishTrial. A conditional UPDATE is atomic in both
// databases: on PostgreSQL a concurrent second UPDATE waits for the
// first's row lock, then re-checks status <> 'done' and matches nothing.
const (
	finishTrialSQL = `UPDATE trials SET status = 'done', result = ?, worker = ?, error = '',
		finished_ms = ? WHERE study_id = ? AND trial_key = ? AND status <> 'done'`
	trialExistsSQL = "SELECT 1 FROM trials WHERE study_id = ? AND trial_key = ?"
)

// FinishTrial stores the result of a trial and marks it done, atomically
// and exactly once: the first call for a key stores its result and
// returns true; every later call (a redelivered job, a second worker)
// changes nothing and returns false. ErrNotFound if there is no such
// trial.
func (s *Store) FinishTrial(ctx context.Context, studyID int64, key, worker string, result json.RawMessage) (bool, error) {
	if !json.Valid(result) {
		return false, fmt.Errorf("store: finish trial %q: result is not valid JSON", key)
	}
	stored := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.txExec(ctx, tx, finishTrialSQL, string(result), worker, s.ms(), studyID, key)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 1 {
			stored = true
			return nil
		}
		var one int
		err = s.txQueryRow(ctx, tx, trialExistsSQL, studyID, key).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: finish trial %q: %w", key, err)
	}
	return stored, nil
}

// FailTrial records a failed attempt of a trial that has not finished
// (a finished trial keeps its result and status).
func (s *Store) FailTrial(ctx context.Context, studyID int64, key, worker, message string) error {
	_, err := s.writeExec(ctx, s.q(`UPDATE trials SET status = 'failed', worker = ?, error = ?, finished_ms = ?
		WHERE study_id = ? AND trial_key = ? AND status <> 'done'`), worker, message, s.ms(), studyID, key)
	if err != nil {
		return fmt.Errorf("store: fail trial %q: %w", key, err)
	}
	return nil
}

// ResetRunning puts a study's running trials back to pending, for a study
// resumed after an interruption, and returns how many there were.
func (s *Store) ResetRunning(ctx context.Context, studyID int64) (int, error) {
	res, err := s.writeExec(ctx, s.q("UPDATE trials SET status = 'pending' WHERE study_id = ? AND status = 'running'"), studyID)
	if err != nil {
		return 0, fmt.Errorf("store: reset running trials of study %d: %w", studyID, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
