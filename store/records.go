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
// few prepared statements serve every batch (13 values a row stays well
// under both databases' parameter limits).
var recordChunks = [...]int{200, 50, 10, 1}

// recordInsertSQL is the INSERT of n records into table.
func recordInsertSQL(table, ownerCol string, n int, onConflict string) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", nRecordCols+1), ", ") + ")"
	return "INSERT INTO " + table + " (" + ownerCol + ", " + recordCols + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(one+", ", n), ", ") + " " + onConflict
}

// insertRecords inserts recs into table (trial_records or run_metrics)
// for owner; onConflict ends each statement. It returns the number of rows
// inserted or changed.
func (s *Store) insertRecords(ctx context.Context, tx *sql.Tx, table, ownerCol string, owner int64, recs []runlog.Record, onConflict string) (int64, error) {
	var total int64
	args := make([]any, 0, recordChunks[0]*(nRecordCols+1))
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
			args = recordArgs(args, owner, r)
		}
		recs = recs[n:]
		res, err := s.txExec(ctx, tx, recordInsertSQL(table, ownerCol, n, onConflict), args...)
		if err != nil {
			return total, err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += k
	}
	return total, nil
}

// metricsConflict ends the INSERT of run metrics: a step stored before
// is kept.
const metricsConflict = "ON CONFLICT (run_id, step) DO NOTHING"
