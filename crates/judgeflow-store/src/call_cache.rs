//! The storage contract of the evaluation engine's call cache: model and judge answers kept by
//! the content-addressed key of the request that produced them, so re-running a suite costs
//! nothing. The store holds opaque text; what it means (a serialized chat response) is the
//! caller's business.

use async_trait::async_trait;

use crate::StoreResult;

/// One cached answer and when it stops counting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedCall {
    pub key: String,
    /// The serialized answer.
    pub value: String,
    pub created_ms: i64,
    /// `None` keeps the entry until it is replaced.
    pub expires_ms: Option<i64>,
}

#[async_trait]
pub trait CallCacheStore: Send + Sync + 'static {
    /// The entry under `key` unless it expired at or before `now_ms`.
    async fn get_cached_call(&self, key: &str, now_ms: i64) -> StoreResult<Option<CachedCall>>;
    /// Stores `call`, replacing any entry under its key.
    async fn put_cached_call(&self, call: CachedCall) -> StoreResult<()>;
}
