-- lrkit store, schema version 1.
-- Tokens in braces are replaced per database: {{id}} is an auto-increment
-- primary key, {{float}} a double, {{bytes}} a byte string. Times are Unix
-- milliseconds. JSON is stored as text. Statements end with ";" at the end
-- of a line.

-- Benchmark side: studies, their trials, the trials' per-step records,
-- and scores computed from them.
CREATE TABLE studies (
	id {{id}},
	name TEXT NOT NULL UNIQUE,
	spec TEXT NOT NULL,
	created_ms BIGINT NOT NULL
);

CREATE TABLE trials (
	id {{id}},
	study_id BIGINT NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
	trial_key TEXT NOT NULL,
	workload TEXT NOT NULL,
	schedule TEXT NOT NULL,
	hparams TEXT NOT NULL DEFAULT '{}',
	seed BIGINT NOT NULL DEFAULT 0,
	budget BIGINT NOT NULL DEFAULT 0,
	status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed')),
	worker TEXT NOT NULL DEFAULT '',
	attempts INTEGER NOT NULL DEFAULT 0,
	result TEXT,
	error TEXT NOT NULL DEFAULT '',
	created_ms BIGINT NOT NULL,
	started_ms BIGINT,
	finished_ms BIGINT,
	UNIQUE (study_id, trial_key)
);

CREATE INDEX trials_status ON trials (study_id, status);

CREATE TABLE trial_records (
	trial_id BIGINT NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
	step BIGINT NOT NULL,
	present INTEGER NOT NULL,
	lr {{float}},
	loss {{float}},
	grad_norm {{float}},
	grad_norm_l1 {{float}},
	param_norm {{float}},
	update_norm {{float}},
	effective_lr {{float}},
	val_loss {{float}},
	val_metric {{float}},
	examples_seen BIGINT,
	wall_seconds {{float}},
	PRIMARY KEY (trial_id, step)
);

CREATE TABLE study_scores (
	study_id BIGINT NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
	score_key TEXT NOT NULL,
	value TEXT NOT NULL,
	updated_ms BIGINT NOT NULL,
	PRIMARY KEY (study_id, score_key)
);

-- Server side: projects, their API tokens (SHA-256 hashes only), runs with
-- their controller state, metrics, and events.
CREATE TABLE projects (
	id {{id}},
	name TEXT NOT NULL UNIQUE,
	created_ms BIGINT NOT NULL
);

CREATE TABLE api_tokens (
	id {{id}},
	project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
	token_hash TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL DEFAULT '',
	created_ms BIGINT NOT NULL,
	revoked_ms BIGINT
);

CREATE TABLE runs (
	id {{id}},
	project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	spec TEXT NOT NULL,
	budget BIGINT NOT NULL,
	status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'paused', 'done', 'failed')),
	controller_state TEXT NOT NULL DEFAULT '',
	version BIGINT NOT NULL DEFAULT 1,
	last_step BIGINT NOT NULL DEFAULT -1,
	created_ms BIGINT NOT NULL,
	updated_ms BIGINT NOT NULL,
	UNIQUE (project_id, name)
);

CREATE TABLE run_batches (
	run_id BIGINT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	batch_id TEXT NOT NULL,
	records INTEGER NOT NULL,
	received_ms BIGINT NOT NULL,
	PRIMARY KEY (run_id, batch_id)
);

CREATE TABLE run_metrics (
	run_id BIGINT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	step BIGINT NOT NULL,
	present INTEGER NOT NULL,
	lr {{float}},
	loss {{float}},
	grad_norm {{float}},
	grad_norm_l1 {{float}},
	param_norm {{float}},
	update_norm {{float}},
	effective_lr {{float}},
	val_loss {{float}},
	val_metric {{float}},
	examples_seen BIGINT,
	wall_seconds {{float}},
	PRIMARY KEY (run_id, step)
);

CREATE TABLE run_events (
	id {{id}},
	run_id BIGINT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	step BIGINT NOT NULL,
	kind TEXT NOT NULL,
	detail TEXT NOT NULL DEFAULT '{}',
	created_ms BIGINT NOT NULL
);

CREATE INDEX run_events_run ON run_events (run_id, id);
