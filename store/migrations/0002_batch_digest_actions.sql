-- lrkit store, schema version 2.
-- A metrics batch keeps a digest of its records, so that a batch ID sent
-- again with other records is refused instead of being taken for a retry.
-- Batches stored before this migration have an empty digest and are taken
-- for retries as before.
ALTER TABLE run_batches ADD COLUMN digest TEXT NOT NULL DEFAULT '';

-- Idempotency keys of run actions (decay, extend, pause, resume): an
-- action sent again with the same key is applied once; the same key with
-- another request is refused.
CREATE TABLE run_actions (
	run_id BIGINT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	action_key TEXT NOT NULL,
	digest TEXT NOT NULL,
	version BIGINT NOT NULL,
	created_ms BIGINT NOT NULL,
	PRIMARY KEY (run_id, action_key)
);
