//! The call cache kept in the store: [`judgeflow_llm::CallCache`] over
//! [`judgeflow_store::CallCacheStore`], so a re-run answers repeated calls from the database.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use judgeflow_llm::{CacheError, CacheKey, CallCache, ChatResponse};
use judgeflow_store::{CachedCall, CallCacheStore};

pub struct StoreCallCache {
    store: Arc<dyn CallCacheStore>,
}

impl StoreCallCache {
    pub fn new(store: Arc<dyn CallCacheStore>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl CallCache for StoreCallCache {
    async fn get(&self, key: &CacheKey) -> Result<Option<ChatResponse>, CacheError> {
        let now = judgeflow_domain::now_ms();
        let Some(entry) = self
            .store
            .get_cached_call(key.as_str(), now)
            .await
            .map_err(CacheError::new)?
        else {
            return Ok(None);
        };
        // An entry written by another version that no longer parses is a miss, not an error.
        Ok(serde_json::from_str(&entry.value).ok())
    }

    async fn put(
        &self,
        key: &CacheKey,
        response: &ChatResponse,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        let now = judgeflow_domain::now_ms();
        let value = serde_json::to_string(response).map_err(CacheError::new)?;
        self.store
            .put_cached_call(CachedCall {
                key: key.as_str().to_owned(),
                value,
                created_ms: now,
                expires_ms: ttl.map(|ttl| now + ttl.as_millis() as i64),
            })
            .await
            .map_err(CacheError::new)
    }
}
