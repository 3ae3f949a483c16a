-- lrkit store, schema version 4 (SQLite only; on PostgreSQL nothing
-- changes). run_metrics loses its foreign key on runs: SQLite checked it
-- for every stored record (a cursor on runs and a seek per row, about 8%
-- of the process's CPU when ingesting 64-record batches), and it can
-- never fail there. A metric row is only written by the group
-- transaction of AppendMetrics, which first reads the run's row in the
-- same transaction (lockRun) and fails the batch with ErrNotFound if it
-- is missing; SQLite has one writer at a time (transactions begin
-- IMMEDIATE), so the run cannot disappear between that read and the
-- insert; and lrkit never deletes runs. The cascade that the foreign key
-- gave a run deleted by hand is kept by a trigger, which costs nothing
-- when metrics are stored. The rows are copied once.
CREATE TABLE run_metrics_v4 (
	run_id BIGINT NOT NULL,
	step BIGINT NOT NULL,
	present INTEGER NOT NULL,
	lr REAL,
	loss REAL,
	grad_norm REAL,
	grad_norm_l1 REAL,
	param_norm REAL,
	update_norm REAL,
	effective_lr REAL,
	val_loss REAL,
	val_metric REAL,
	examples_seen BIGINT,
	wall_seconds REAL,
	PRIMARY KEY (run_id, step)
) WITHOUT ROWID;

INSERT INTO run_metrics_v4 SELECT run_id, step, present, lr, loss, grad_norm, grad_norm_l1, param_norm,
	update_norm, effective_lr, val_loss, val_metric, examples_seen, wall_seconds FROM run_metrics;

DROP TABLE run_metrics;

ALTER TABLE run_metrics_v4 RENAME TO run_metrics;

CREATE TRIGGER run_metrics_cascade AFTER DELETE ON runs BEGIN DELETE FROM run_metrics WHERE run_id = old.id; END;
