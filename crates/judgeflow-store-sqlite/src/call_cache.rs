//! The call cache table (`0007_call_cache.sql`).

use async_trait::async_trait;
use judgeflow_store::{CachedCall, CallCacheStore, StoreResult};
use rusqlite::params;

use crate::SqliteStore;
use crate::db::{db_err, execute, query_opt};

#[async_trait]
impl CallCacheStore for SqliteStore {
    async fn get_cached_call(&self, key: &str, now_ms: i64) -> StoreResult<Option<CachedCall>> {
        let key = key.to_owned();
        self.read(move |c| {
            query_opt(
                c,
                "SELECT cache_key, value, created_ms, expires_ms FROM call_cache \
                 WHERE cache_key = ? AND (expires_ms IS NULL OR expires_ms > ?)",
                params![key, now_ms],
                |row| {
                    Ok(CachedCall {
                        key: row.get(0).map_err(db_err)?,
                        value: row.get(1).map_err(db_err)?,
                        created_ms: row.get(2).map_err(db_err)?,
                        expires_ms: row.get(3).map_err(db_err)?,
                    })
                },
            )
        })
        .await
    }

    async fn put_cached_call(&self, call: CachedCall) -> StoreResult<()> {
        self.write(move |c| {
            execute(
                c,
                "INSERT INTO call_cache (cache_key, value, created_ms, expires_ms) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (cache_key) DO UPDATE SET value = excluded.value, \
                 created_ms = excluded.created_ms, expires_ms = excluded.expires_ms",
                params![call.key, call.value, call.created_ms, call.expires_ms],
            )
            .map(|_| ())
        })
        .await
    }
}
