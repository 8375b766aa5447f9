-- Model registry: registered models, their versions, tags and aliases.
-- Children reference the model by name with ON UPDATE CASCADE, so a rename is one UPDATE that
-- carries versions, tags and aliases along; ON DELETE CASCADE makes deleting a model a hard
-- delete that frees the name.

CREATE TABLE registered_models (
    name                   TEXT PRIMARY KEY,
    creation_timestamp     INTEGER NOT NULL,
    last_updated_timestamp INTEGER NOT NULL,
    description            TEXT,
    -- The highest version number ever allocated: deleted versions are gone, but their
    -- numbers are never handed out again.
    last_version           INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE registered_model_tags (
    name  TEXT NOT NULL REFERENCES registered_models (name) ON DELETE CASCADE ON UPDATE CASCADE,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (name, key)
) WITHOUT ROWID;
CREATE INDEX registered_model_tags_by_key_value ON registered_model_tags (key, value);

CREATE TABLE model_versions (
    name                   TEXT NOT NULL REFERENCES registered_models (name) ON DELETE CASCADE ON UPDATE CASCADE,
    version                INTEGER NOT NULL,
    creation_timestamp     INTEGER NOT NULL,
    last_updated_timestamp INTEGER NOT NULL,
    description            TEXT,
    user_id                TEXT,
    current_stage          TEXT NOT NULL,
    source                 TEXT NOT NULL,
    -- Where the artifacts really are: the logged model's location for `models:/m-…` sources.
    storage_location       TEXT NOT NULL,
    run_id                 TEXT,
    run_link               TEXT,
    status                 TEXT NOT NULL,
    status_message         TEXT,
    model_id               TEXT,
    PRIMARY KEY (name, version)
);
-- The default search order.
CREATE INDEX model_versions_by_update ON model_versions (last_updated_timestamp DESC, name, version DESC);
CREATE INDEX model_versions_by_run ON model_versions (run_id);

CREATE TABLE model_version_tags (
    name    TEXT NOT NULL,
    version INTEGER NOT NULL,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (name, version, key),
    FOREIGN KEY (name, version) REFERENCES model_versions (name, version) ON DELETE CASCADE ON UPDATE CASCADE
) WITHOUT ROWID;
CREATE INDEX model_version_tags_by_key_value ON model_version_tags (key, value);

CREATE TABLE registered_model_aliases (
    name    TEXT NOT NULL,
    alias   TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (name, alias),
    -- Deleting a version drops the aliases that point at it.
    FOREIGN KEY (name, version) REFERENCES model_versions (name, version) ON DELETE CASCADE ON UPDATE CASCADE
) WITHOUT ROWID;
