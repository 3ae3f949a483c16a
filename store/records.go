package store

import (
	"context"
	"database/sql"
	"math"
	"strings"

	"github.com/lrkit/lrkit/runlog"
)

// recordCols are the columns of a stored runlog.Record, after the owner
// column (trial_id or run_id).
const recordCols = "step, present, lr, loss, grad_norm, grad_norm_l1, param_norm, update_norm, effective_lr, val_loss, val_metric, examples_seen, wall_seconds"

const nRecordCols = 13

// floatFields are the float fields of a Record in recordCols order.
var floatFields = [...]runlog.Field{
	runlog.FieldLR, runlog.FieldLoss, runlog.FieldGradNorm, runlog.FieldGradNormL1,
	runlog.FieldParamNorm, runlog.FieldUpdateNorm, runlog.FieldEffectiveLR,
	runlog.FieldValLoss, runlog.FieldValMetric,
}

// recordArgs appends the column values of r. An absent value is NULL; so
// is NaN (SQLite turns NaN into NULL anyway), which the present bit tells
// apart from absent when reading.
func recordArgs(args []any, owner int64, r runlog.Record) []any {
	args = append(args, owner, r.Step, int64(r.Present))
	for _, f := range floatFields {
		v, ok := r.Value(f)
		if !ok || math.IsNaN(v) {
			args = append(args, nil)
		} else {
			args = append(args, v)
		}
	}
	if r.Has(runlog.FieldExamplesSeen) {
		args = append(args, r.ExamplesSeen)
	} else {
		args = append(args, nil)
	}
	if v, ok := r.Value(runlog.FieldWallSeconds); ok && !math.IsNaN(v) {
		args = append(args, v)
	} else {
		args = append(args, nil)
	}
	return args
}

// scanRecord reads one row of recordCols.
func scanRecord(rows *sql.Rows) (runlog.Record, error) {
	var (
		r       runlog.Record
		present int64
		fl      [len(floatFields)]sql.NullFloat64
		seen    sql.NullInt64
		wall    sql.NullFloat64
	)
	dest := []any{&r.Step, &present}
	for i := range fl {
		dest = append(dest, &fl[i])
	}
	dest = append(dest, &seen, &wall)
	if err := rows.Scan(dest...); err != nil {
		return r, err
	}
	r.Present = runlog.Field(present) & runlog.AllFields
	for i, f := range floatFields {
		if r.Present&f != 0 {
			v := math.NaN()
			if fl[i].Valid {
				v = fl[i].Float64
			}
			r.Set(f, v)
		}
	}
	if r.Present&runlog.FieldExamplesSeen != 0 {
		r.ExamplesSeen = seen.Int64
	}
	if r.Present&runlog.FieldWallSeconds != 0 {
		r.WallSeconds = math.NaN()
		if wall.Valid {
			r.WallSeconds = wall.Float64
		}
	}
	return r, nil
}

// recordChunks are the row counts of the multi-row INSERT statements that
// store records: a batch is cut greedily into chunks of these sizes, so a
// few prepared statements serve every batch (the Python client's batches
// of 64 and ten-record batches take one statement each; 14 values a row
// stays well under both databases' parameter limits).
var recordChunks = [...]int{256, 64, 16, 10, 4, 1}

// metricsInsertSQL holds the INSERT of n run metrics for each chunk size
// n, written once. It returns the steps it stored (a step stored before is
// kept, and left out).
var metricsInsertSQL = func() map[int]string {
	m := map[int]string{}
	for _, n := range recordChunks {
		m[n] = recordInsertSQL("run_metrics", "run_id", n, metricsConflict) + " RETURNING step"
	}
	return m
}()

// recordInsertSQL is the INSERT of n records into table.
func recordInsertSQL(table, ownerCol string, n int, onConflict string) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", nRecordCols+1), ", ") + ")"
	return "INSERT INTO " + table + " (" + ownerCol + ", " + recordCols + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(one+", ", n), ", ") + " " + onConflict
}

// insertMetrics inserts recs into run_metrics for the run and returns the
// records stored: a step stored before is kept, and so is the first of
// steps repeated in recs.
func (s *Store) insertMetrics(ctx context.Context, tx *sql.Tx, runID int64, recs []runlog.Record) ([]runlog.Record, error) {
	all := recs
	stored := make(map[int64]bool, len(recs))
	args := make([]any, 0, min(len(recs), recordChunks[0])*(nRecordCols+1))
	for len(recs) > 0 {
		n := recordChunks[len(recordChunks)-1]
		for _, c := range recordChunks {
			if c <= len(recs) {
				n = c
				break
			}
		}
		args = args[:0]
		for _, r := range recs[:n] {
			args = recordArgs(args, runID, r)
		}
		recs = recs[n:]
		rows, err := s.txQuery(ctx, tx, metricsInsertSQL[n], args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var st int64
			if err := rows.Scan(&st); err != nil {
				rows.Close()
				return nil, err
			}
			stored[st] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	fresh := make([]runlog.Record, 0, len(stored))
	for _, r := range all {
		if stored[r.Step] {
			delete(stored, r.Step)
			fresh = append(fresh, r)
		}
	}
	return fresh, nil
}

// metricsConflict ends the INSERT of run metrics: a step stored before
// is kept.
const metricsConflict = "ON CONFLICT (run_id, step) DO NOTHING"
