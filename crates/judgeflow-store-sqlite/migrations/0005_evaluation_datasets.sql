-- Evaluation datasets (`mlflow.genai.datasets`): the dataset, its tags, its links to
-- experiments, and its records, one row per record. Children cascade on delete, so deleting
-- a dataset is one statement however many records it holds.

CREATE TABLE evaluation_datasets (
    dataset_id       TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    -- JSON text, NULL until records are first upserted (as the client expects).
    schema           TEXT,
    profile          TEXT,
    digest           TEXT NOT NULL,
    created_time     INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL,
    created_by       TEXT,
    last_updated_by  TEXT,
    -- Kept in step with the records by every upsert and delete, so the profile never needs a
    -- COUNT over a large dataset.
    num_records      INTEGER NOT NULL DEFAULT 0
);
-- The default search order, and the name filters.
CREATE INDEX evaluation_datasets_by_created ON evaluation_datasets (created_time DESC, dataset_id DESC);
CREATE INDEX evaluation_datasets_by_name ON evaluation_datasets (name);

CREATE TABLE evaluation_dataset_tags (
    dataset_id TEXT NOT NULL REFERENCES evaluation_datasets (dataset_id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (dataset_id, key)
) WITHOUT ROWID;
CREATE INDEX evaluation_dataset_tags_by_key_value ON evaluation_dataset_tags (key, value);

CREATE TABLE evaluation_dataset_experiments (
    dataset_id    TEXT NOT NULL REFERENCES evaluation_datasets (dataset_id) ON DELETE CASCADE,
    experiment_id INTEGER NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
    created_time  INTEGER NOT NULL,
    PRIMARY KEY (dataset_id, experiment_id)
) WITHOUT ROWID;
-- Searches by experiment.
CREATE INDEX evaluation_dataset_experiments_by_experiment ON evaluation_dataset_experiments (experiment_id, dataset_id);

CREATE TABLE evaluation_dataset_records (
    dataset_record_id TEXT PRIMARY KEY,
    dataset_id        TEXT NOT NULL REFERENCES evaluation_datasets (dataset_id) ON DELETE CASCADE,
    -- SHA-256 of the sorted-keys JSON of `inputs`: the upsert key within a dataset.
    input_hash        TEXT NOT NULL,
    -- JSON text. `outputs` and `expectations` are NULL when the record has none.
    inputs            TEXT NOT NULL,
    outputs           TEXT,
    expectations      TEXT,
    tags              TEXT NOT NULL,
    source            TEXT,
    source_id         TEXT,
    source_type       TEXT,
    created_time      INTEGER NOT NULL,
    last_update_time  INTEGER NOT NULL,
    created_by        TEXT,
    last_updated_by   TEXT,
    UNIQUE (dataset_id, input_hash)
);
-- Paged reads walk this index from the cursor on: no page reads more rows than it returns.
CREATE INDEX evaluation_dataset_records_page ON evaluation_dataset_records (dataset_id, created_time, dataset_record_id);
