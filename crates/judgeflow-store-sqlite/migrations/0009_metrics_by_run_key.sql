-- Metric history keyed by an integer per run instead of the run's 32-character id. Every
-- point's key starts with its run, so each insert compared that text at every level of the
-- B-tree, and stored it again in every row. With an integer in its place, a 1,000-point
-- log-batch spends about a fifth less time in SQLite, and the table takes about half the space.
--
-- `runs.run_key` is a column of its own, not the table's rowid: a rowid that does not alias
-- an INTEGER PRIMARY KEY may change on VACUUM. New runs take the next key when created.
ALTER TABLE runs ADD COLUMN run_key INTEGER;
UPDATE runs SET run_key = rowid;
CREATE UNIQUE INDEX runs_by_key ON runs (run_key);

CREATE TABLE metrics_new (
    run_key        INTEGER NOT NULL,
    key            TEXT NOT NULL,
    timestamp      INTEGER NOT NULL,
    step           INTEGER NOT NULL,
    value          REAL NOT NULL,
    is_nan         INTEGER NOT NULL,
    model_id       TEXT,
    dataset_name   TEXT,
    dataset_digest TEXT,
    PRIMARY KEY (run_key, key, timestamp, step, value, is_nan)
) WITHOUT ROWID;
-- Runs are never deleted (deleting one marks it), so every point has its run.
INSERT INTO metrics_new (run_key, key, timestamp, step, value, is_nan, model_id, dataset_name, dataset_digest)
    SELECT r.run_key, m.key, m.timestamp, m.step, m.value, m.is_nan, m.model_id, m.dataset_name, m.dataset_digest
    FROM metrics m JOIN runs r ON r.run_uuid = m.run_uuid;
DROP TABLE metrics;
ALTER TABLE metrics_new RENAME TO metrics;
