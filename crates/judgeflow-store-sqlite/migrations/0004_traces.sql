-- MLflow 3 traces: the trace info, its tags and metadata, its spans (OTLP JSON, one row per
-- span), links to runs, and assessments. Children cascade with their trace.

CREATE TABLE traces (
    trace_id              TEXT PRIMARY KEY,
    experiment_id         INTEGER NOT NULL REFERENCES experiments (experiment_id),
    client_request_id     TEXT,
    request_time          INTEGER NOT NULL,
    execution_duration    INTEGER,
    state                 TEXT NOT NULL,
    request_preview       TEXT,
    response_preview      TEXT,
    -- 1 once StartTraceV3 has delivered the final info; until then the row holds what the
    -- spans alone tell (first start, last end, the root's status).
    info_finalized        INTEGER NOT NULL DEFAULT 0,
    -- 1 once any span is stored here: the trace then carries spansLocation=TRACKING_STORE.
    has_spans             INTEGER NOT NULL DEFAULT 0
);
-- The default search order (newest first, then id) within an experiment.
CREATE INDEX traces_by_experiment ON traces (experiment_id, request_time DESC, trace_id);

CREATE TABLE trace_tags (
    trace_id TEXT NOT NULL REFERENCES traces (trace_id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (trace_id, key)
) WITHOUT ROWID;
CREATE INDEX trace_tags_by_key_value ON trace_tags (key, value);

CREATE TABLE trace_metadata (
    trace_id TEXT NOT NULL REFERENCES traces (trace_id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (trace_id, key)
) WITHOUT ROWID;
CREATE INDEX trace_metadata_by_key_value ON trace_metadata (key, value);

CREATE TABLE spans (
    trace_id       TEXT NOT NULL REFERENCES traces (trace_id) ON DELETE CASCADE,
    span_id        TEXT NOT NULL,
    parent_span_id TEXT,
    name           TEXT NOT NULL,
    span_type      TEXT,
    status         TEXT NOT NULL,
    start_time_ns  INTEGER NOT NULL,
    end_time_ns    INTEGER,
    content        TEXT NOT NULL,
    UNIQUE (trace_id, span_id)
);
-- Paged span reads walk this index: (start time, span id) after the cursor.
CREATE INDEX spans_by_start ON spans (trace_id, start_time_ns, span_id);

-- Runs a trace belongs to: its source run (metadata mlflow.sourceRun) and link-to-run.
CREATE TABLE trace_runs (
    trace_id TEXT NOT NULL REFERENCES traces (trace_id) ON DELETE CASCADE,
    run_id   TEXT NOT NULL,
    PRIMARY KEY (trace_id, run_id)
) WITHOUT ROWID;
CREATE INDEX trace_runs_by_run ON trace_runs (run_id, trace_id);

CREATE TABLE assessments (
    assessment_id    TEXT PRIMARY KEY,
    trace_id         TEXT NOT NULL REFERENCES traces (trace_id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('feedback', 'expectation')),
    -- The value as JSON: feedback `{"value": …, "error": …}`, expectation `{"value": …}` or
    -- `{"serialized_value": {…}}`. `value_text`/`value_number` are what searches compare.
    payload          TEXT NOT NULL,
    value_text       TEXT,
    value_number     REAL,
    source_type      TEXT NOT NULL,
    source_id        TEXT,
    span_id          TEXT,
    rationale        TEXT,
    metadata         TEXT NOT NULL,
    overrides        TEXT,
    valid            INTEGER NOT NULL DEFAULT 1,
    create_time      INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL
);
CREATE INDEX assessments_by_trace ON assessments (trace_id, create_time, assessment_id);
CREATE INDEX assessments_by_overrides ON assessments (overrides) WHERE overrides IS NOT NULL;
