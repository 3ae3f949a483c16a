-- lrkit store, schema version 5 (SQLite only; on PostgreSQL nothing
-- changes). run_batches, like run_metrics in versions 3 and 4, becomes a
-- WITHOUT ROWID table keyed by (run_id, batch_id) alone, without its
-- foreign key on runs. Every metrics batch adds a row: as a rowid table
-- with a primary-key index, that was two b-trees to insert into (and two
-- pages more in the WAL of each commit), and a foreign-key check on runs.
-- The foreign key can never fail there, for the reasons given in version
-- 4: a batch row is only written by the group transaction of
-- AppendMetrics after it has read the run's row in the same transaction,
-- SQLite has one writer at a time, and lrkit never deletes runs. The
-- cascade of a run deleted by hand is kept by a trigger. The rows are
-- copied once.
CREATE TABLE run_batches_v5 (
	run_id BIGINT NOT NULL,
	batch_id TEXT NOT NULL,
	records INTEGER NOT NULL,
	received_ms BIGINT NOT NULL,
	digest TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (run_id, batch_id)
) WITHOUT ROWID;

INSERT INTO run_batches_v5 (run_id, batch_id, records, received_ms, digest)
	SELECT run_id, batch_id, records, received_ms, digest FROM run_batches;

DROP TABLE run_batches;

ALTER TABLE run_batches_v5 RENAME TO run_batches;

CREATE TRIGGER run_batches_cascade AFTER DELETE ON runs BEGIN DELETE FROM run_batches WHERE run_id = old.id; END;
