-- lrkit store, schema version 7. Each run keeps how many metric records
-- it has, so that the dashboard's view of a run (Store.View) need not
-- count them (COUNT(*) reads every row of the run: about 40 ms per
-- 300,000 on SQLite, on every view). metric_count is advanced in the
-- transaction that stores the records, by the UPDATE of the run's row
-- that the transaction makes anyway; it is exact while
-- metric_count_version equals the run's version. Every transaction that
-- stores metrics advances the version, and one of an lrkit before this
-- schema version, which does not know the count, leaves
-- metric_count_version behind: the count is then not trusted (View
-- counts the rows, as before) until Open counts them again. The columns
-- start NULL, not known; Open counts every run's records once.
ALTER TABLE runs ADD COLUMN metric_count BIGINT;

ALTER TABLE runs ADD COLUMN metric_count_version BIGINT;
