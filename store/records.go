package store

import (
	"context"
	"database/sql"
	"math"
	"math/bits"
	"strconv"
	"strings"

	"github.com/lrkit/lrkit/runlog"
)

// recordCols are the columns of a stored runlog.Record, after the owner
// column (trial_id or run_id).
const recordCols = "step, present, lr, loss, grad_norm, grad_norm_l1, param_norm, update_norm, effective_lr, val_loss, val_metric, examples_seen, wall_seconds"

// floatFields are the float fields of a Record in recordCols order.
var floatFields = [...]runlog.Field{
	runlog.FieldLR, runlog.FieldLoss, runlog.FieldGradNorm, runlog.FieldGradNormL1,
	runlog.FieldParamNorm, runlog.FieldUpdateNorm, runlog.FieldEffectiveLR,
	runlog.FieldValLoss, runlog.FieldValMetric,
}

// recordValues appends the values of r for the columns of fields cols
// that an INSERT writes after the owner, step and present columns (see
// insertCols), in recordCols order. An absent value is NULL; so is NaN
// (SQLite turns NaN into NULL anyway), which the present bit tells apart
// from absent when reading.
func recordValues(args []any, r runlog.Record, cols runlog.Field) []any {
	for _, f := range floatFields {
		if cols&f == 0 {
			continue
		}
		if v, ok := r.Value(f); ok && !math.IsNaN(v) {
			args = append(args, v)
		} else {
			args = append(args, nil)
		}
	}
	if cols&runlog.FieldExamplesSeen != 0 {
		if r.Has(runlog.FieldExamplesSeen) {
			args = append(args, r.ExamplesSeen)
		} else {
			args = append(args, nil)
		}
	}
	if cols&runlog.FieldWallSeconds != 0 {
		if v, ok := r.Value(runlog.FieldWallSeconds); ok && !math.IsNaN(v) {
			args = append(args, v)
		} else {
			args = append(args, nil)
		}
	}
	return args
}

// storedFields are the fields with a column of their own.
var storedFields = func() runlog.Field {
	var m runlog.Field
	for _, f := range floatFields {
		m |= f
	}
	return m | runlog.FieldExamplesSeen | runlog.FieldWallSeconds
}()

// insertCols returns the column list of an INSERT of the fields cols,
// after the owner column, and how many columns it has.
func insertCols(cols runlog.Field) (string, int) {
	names := strings.Split(recordCols, ", ")
	out := []string{"step", "present"}
	for i, f := range floatFields {
		if cols&f != 0 {
			out = append(out, names[2+i])
		}
	}
	if cols&runlog.FieldExamplesSeen != 0 {
		out = append(out, "examples_seen")
	}
	if cols&runlog.FieldWallSeconds != 0 {
		out = append(out, "wall_seconds")
	}
	return strings.Join(out, ", "), len(out)
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

// metricsInsert returns the INSERT of a chunk of run metrics (see
// insertChunk), written once per shape and prepared before its first use
// (prepareInserts). It binds as few values as it can, since binding is
// most of the Go side of an insert: the run ID once for all rows (?1,
// $1); the present bits as a constant when the chunk's records all report
// the same fields (they usually do); and only the columns of the fields
// the chunk reports (the others stay NULL), so that a batch of losses
// binds 2 values a row instead of 14.
func (s *Store) metricsInsert(k insertKey) string {
	s.lazyMu.Lock()
	defer s.lazyMu.Unlock()
	q, ok := s.inserts[k]
	if !ok {
		names, ncols := insertCols(k.cols)
		var b strings.Builder
		b.WriteString("INSERT INTO run_metrics (run_id, ")
		b.WriteString(names)
		b.WriteString(") VALUES ")
		p := 1 // the last parameter written
		param := func() {
			p++
			if s.dialect == dialectPostgres {
				b.WriteString("$" + strconv.Itoa(p))
			} else {
				b.WriteString("?")
			}
		}
		for i := range k.n {
			if i > 0 {
				b.WriteString(", ")
			}
			if s.dialect == dialectPostgres {
				b.WriteString("($1, ")
			} else {
				b.WriteString("(?1, ")
			}
			param() // step
			b.WriteString(", ")
			if k.present >= 0 {
				b.WriteString(strconv.FormatInt(k.present, 10))
			} else {
				param()
			}
			for range ncols - 2 {
				b.WriteString(", ")
				param()
			}
			b.WriteString(")")
		}
		b.WriteString(" " + metricsConflict)
		q = b.String()
		s.inserts[k] = q
	}
	return q
}

// insertKey is the shape of a metrics INSERT: n rows of the fields cols,
// with the present bits present in every row, or bound per row if
// present is -1.
type insertKey struct {
	cols    runlog.Field
	n       int
	present int64
}

// metricsStmt is one INSERT of a batch's records with its arguments.
type metricsStmt struct {
	query string
	args  []any
}

// metricsStmts cuts recs into INSERT chunks and builds their statements
// and arguments (outside the group transaction: the arguments, boxed
// values included, are built by the caller's goroutine, not the
// committer's).
func (s *Store) metricsStmts(runID int64, recs []runlog.Record) []metricsStmt {
	var out []metricsStmt
	for len(recs) > 0 {
		k := insertChunk(recs)
		args := make([]any, 0, 1+k.n*(2+bits.OnesCount64(uint64(k.cols))))
		args = append(args, runID)
		for _, r := range recs[:k.n] {
			args = append(args, r.Step)
			if k.present < 0 {
				args = append(args, int64(r.Present))
			}
			args = recordValues(args, r, k.cols)
		}
		out = append(out, metricsStmt{query: s.metricsInsert(k), args: args})
		recs = recs[k.n:]
	}
	return out
}

// insertMetrics runs a batch's INSERTs (metricsStmts) and returns how many
// rows they stored: a step stored before is kept, and so is the first of
// steps repeated in the batch.
func (s *Store) insertMetrics(ctx context.Context, tx *sql.Tx, stmts []metricsStmt, pace *pacer) (int, error) {
	var total int64
	for i, st := range stmts {
		if i > 0 {
			pace.pause()
		}
		res, err := s.txExec(ctx, tx, st.query, st.args...)
		if err != nil {
			return int(total), err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return int(total), err
		}
		total += n
	}
	return int(total), nil
}

// insertChunk returns the shape of the next INSERT chunk of recs: the
// largest of recordChunks that fits, the columns it writes, and its
// records' present bits if they are all the same.
func insertChunk(recs []runlog.Record) insertKey {
	n := recordChunks[len(recordChunks)-1]
	for _, c := range recordChunks {
		if c <= len(recs) {
			n = c
			break
		}
	}
	var cols runlog.Field
	present := int64(recs[0].Present)
	for _, r := range recs[:n] {
		cols |= r.Present
		if int64(r.Present) != present {
			present = -1
		}
	}
	return insertKey{cols: cols & storedFields, n: n, present: present}
}

// prepareInserts prepares the INSERTs of stmts, before the batch is
// queued for its group transaction.
func (s *Store) prepareInserts(ctx context.Context, stmts []metricsStmt) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	for _, st := range stmts {
		if err := s.prepareLazy(ctx, st.query); err != nil {
			return err
		}
	}
	return nil
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
	seen := make(map[int64]bool, len(recs))
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

// metricsConflict ends the INSERT of run metrics: a step stored before
// is kept.
const metricsConflict = "ON CONFLICT (run_id, step) DO NOTHING"
