-- lrkit store, schema version 6. A partial index of the run_metrics rows
-- with a validation loss, by run and step: the dashboard's view of a run
-- (Store.View) thins them apart from the others, so that they survive,
-- and finds them by this index instead of reading every row of the run
-- (300,000 rows for a run logging a validation loss every 1,000 steps:
-- the index has 300 entries). Rows without a validation loss, nearly all
-- of them, do not enter it, so storing metrics costs about the same.
CREATE INDEX run_metrics_val ON run_metrics (run_id, step) WHERE val_loss IS NOT NULL;
