-- Tracking schema: experiments, runs and everything logged to them, logged models.
-- Ids that MLflow exposes as strings are TEXT, except experiment ids, which are numeric by
-- convention and come from an INTEGER key so they sort and allocate naturally.

CREATE TABLE experiments (
    experiment_id     INTEGER PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    artifact_location TEXT NOT NULL,
    lifecycle_stage   TEXT NOT NULL CHECK (lifecycle_stage IN ('active', 'deleted')),
    creation_time     INTEGER NOT NULL,
    last_update_time  INTEGER NOT NULL
);

CREATE TABLE experiment_tags (
    experiment_id INTEGER NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
    key           TEXT NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (experiment_id, key)
) WITHOUT ROWID;

CREATE TABLE runs (
    run_uuid        TEXT PRIMARY KEY,
    experiment_id   INTEGER NOT NULL REFERENCES experiments (experiment_id),
    name            TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    status          TEXT NOT NULL,
    start_time      INTEGER,
    end_time        INTEGER,
    artifact_uri    TEXT NOT NULL,
    lifecycle_stage TEXT NOT NULL CHECK (lifecycle_stage IN ('active', 'deleted')),
    deleted_time    INTEGER
);
-- The default search order (start_time DESC, run_uuid) within experiments and a stage.
CREATE INDEX runs_by_experiment ON runs (experiment_id, lifecycle_stage, start_time DESC, run_uuid);

CREATE TABLE params (
    run_uuid TEXT NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (run_uuid, key)
) WITHOUT ROWID;
CREATE INDEX params_by_key_value ON params (key, value);

CREATE TABLE tags (
    run_uuid TEXT NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (run_uuid, key)
) WITHOUT ROWID;
CREATE INDEX tags_by_key_value ON tags (key, value);

-- Full history. The key orders a metric's history (timestamp, step, value) and makes the
-- re-logging of an identical point a no-op, as in MLflow. NaN is stored as value 0 with
-- is_nan = 1 because SQLite has no NaN.
CREATE TABLE metrics (
    run_uuid       TEXT NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
    key            TEXT NOT NULL,
    timestamp      INTEGER NOT NULL,
    step           INTEGER NOT NULL,
    value          REAL NOT NULL,
    is_nan         INTEGER NOT NULL,
    model_id       TEXT,
    dataset_name   TEXT,
    dataset_digest TEXT,
    PRIMARY KEY (run_uuid, key, timestamp, step, value, is_nan)
) WITHOUT ROWID;

-- One row per (run, key): the point with the greatest (step, timestamp, value). Kept in step
-- with `metrics` inside the same transaction, so search never scans history.
CREATE TABLE latest_metrics (
    run_uuid  TEXT NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
    key       TEXT NOT NULL,
    value     REAL NOT NULL,
    timestamp INTEGER NOT NULL,
    step      INTEGER NOT NULL,
    is_nan    INTEGER NOT NULL,
    PRIMARY KEY (run_uuid, key)
) WITHOUT ROWID;
CREATE INDEX latest_metrics_by_key_value ON latest_metrics (key, value);

CREATE TABLE datasets (
    dataset_id    INTEGER PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiments (experiment_id),
    name          TEXT NOT NULL,
    digest        TEXT NOT NULL,
    source_type   TEXT NOT NULL,
    source        TEXT NOT NULL,
    schema        TEXT,
    profile       TEXT,
    UNIQUE (experiment_id, name, digest)
);

CREATE TABLE run_dataset_inputs (
    run_uuid   TEXT NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
    dataset_id INTEGER NOT NULL REFERENCES datasets (dataset_id),
    -- The input's tags as a JSON array of {key, value}; `context` mirrors mlflow.data.context
    -- so that `datasets.context` filters need no JSON parsing.
    tags       TEXT NOT NULL,
    context    TEXT,
    PRIMARY KEY (run_uuid, dataset_id)
) WITHOUT ROWID;

CREATE TABLE run_model_inputs (
    run_uuid TEXT NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
    model_id TEXT NOT NULL,
    PRIMARY KEY (run_uuid, model_id)
) WITHOUT ROWID;

CREATE TABLE run_model_outputs (
    run_uuid TEXT NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
    model_id TEXT NOT NULL,
    step     INTEGER NOT NULL,
    PRIMARY KEY (run_uuid, model_id, step)
) WITHOUT ROWID;

CREATE TABLE logged_models (
    model_id                  TEXT PRIMARY KEY,
    experiment_id             INTEGER NOT NULL REFERENCES experiments (experiment_id),
    name                      TEXT NOT NULL,
    artifact_location         TEXT NOT NULL,
    creation_timestamp_ms     INTEGER NOT NULL,
    last_updated_timestamp_ms INTEGER NOT NULL,
    status                    TEXT NOT NULL,
    status_message            TEXT,
    model_type                TEXT,
    source_run_id             TEXT,
    lifecycle_stage           TEXT NOT NULL DEFAULT 'active'
);
CREATE INDEX logged_models_by_experiment ON logged_models (experiment_id, creation_timestamp_ms DESC);

CREATE TABLE logged_model_tags (
    model_id TEXT NOT NULL REFERENCES logged_models (model_id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
) WITHOUT ROWID;

CREATE TABLE logged_model_params (
    model_id TEXT NOT NULL REFERENCES logged_models (model_id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
) WITHOUT ROWID;

CREATE TABLE logged_model_metrics (
    model_id       TEXT NOT NULL REFERENCES logged_models (model_id) ON DELETE CASCADE,
    key            TEXT NOT NULL,
    timestamp      INTEGER NOT NULL,
    step           INTEGER NOT NULL,
    value          REAL NOT NULL,
    is_nan         INTEGER NOT NULL,
    run_uuid       TEXT NOT NULL,
    dataset_name   TEXT,
    dataset_digest TEXT,
    PRIMARY KEY (model_id, key, timestamp, step, run_uuid, value, is_nan)
) WITHOUT ROWID;
