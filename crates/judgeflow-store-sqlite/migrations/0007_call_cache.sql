-- The evaluation engine's call cache: answers of model and judge calls by the SHA-256 of the
-- request. Expired rows are ignored on read and overwritten on the next put of the same key.

CREATE TABLE call_cache (
    cache_key  TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    -- NULL: never expires.
    expires_ms INTEGER
);
