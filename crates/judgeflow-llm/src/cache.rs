//! The content-addressed call cache: a key over everything that determines an answer, the
//! [`CallCache`] trait a persistent store implements, and an in-memory implementation.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::CacheError;
use crate::types::ChatResponse;

/// Bumped when what goes into a key changes, so old entries stop matching instead of answering
/// a question they were not asked.
const KEY_VERSION: &str = "judgeflow-llm/chat/v1";

/// Lowercase hex SHA-256 of the canonical JSON of a call.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CacheKey(String);

impl CacheKey {
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key for sending `body` (the complete chat-completion request JSON: model, messages,
/// parameters, `response_format`) to `base_url`. The API key, headers and timeouts are left
/// out: they change who asks and how, not the answer.
#[must_use]
pub fn cache_key(base_url: &str, body: &Value) -> CacheKey {
    let document = serde_json::json!({
        "version": KEY_VERSION,
        "base_url": base_url.trim_end_matches('/'),
        "request": body,
    });
    let mut canonical = String::new();
    write_canonical(&document, &mut canonical);
    let digest = Sha256::digest(canonical.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        write!(hex, "{byte:02x}").expect("writing to a String cannot fail");
    }
    CacheKey(hex)
}

/// Compact JSON with object keys sorted, written by hand rather than trusting `serde_json`'s map
/// order: any crate in the build enabling `preserve_order` would silently change every key.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Where parsed chat responses are kept by key. The store implements it so re-running a suite
/// costs nothing; [`MemoryCache`] serves tests and single runs.
#[async_trait]
pub trait CallCache: Send + Sync {
    /// The live entry for `key`, if any (an expired one counts as absent).
    async fn get(&self, key: &CacheKey) -> Result<Option<ChatResponse>, CacheError>;
    /// Stores `response` under `key`, replacing any entry; `None` keeps it until removed.
    async fn put(
        &self,
        key: &CacheKey,
        response: &ChatResponse,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError>;
}

/// A [`CallCache`] in a map, for tests and runs without a store.
#[derive(Debug, Default)]
pub struct MemoryCache {
    entries: Mutex<HashMap<CacheKey, (ChatResponse, Option<Instant>)>>,
}

impl MemoryCache {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Entries held, expired ones included until they are next read.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl CallCache for MemoryCache {
    async fn get(&self, key: &CacheKey) -> Result<Option<ChatResponse>, CacheError> {
        let mut entries = self.entries.lock().unwrap();
        match entries.get(key) {
            Some((_, Some(expires))) if *expires <= Instant::now() => {
                entries.remove(key);
                Ok(None)
            }
            Some((response, _)) => Ok(Some(response.clone())),
            None => Ok(None),
        }
    }

    async fn put(
        &self,
        key: &CacheKey,
        response: &ChatResponse,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        let expires = ttl.map(|ttl| Instant::now() + ttl);
        self.entries
            .lock()
            .unwrap()
            .insert(key.clone(), (response.clone(), expires));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn key_ignores_object_key_order_and_a_trailing_slash() {
        let a = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "seed": 1});
        let b = json!({"seed": 1, "messages": [{"content": "hi", "role": "user"}], "model": "m"});
        assert_eq!(cache_key("http://x/v1", &a), cache_key("http://x/v1/", &b));
        assert_eq!(cache_key("http://x/v1", &a).as_str().len(), 64);
    }

    #[test]
    fn key_changes_with_anything_that_changes_the_answer() {
        let base = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        let key = cache_key("http://x/v1", &base);
        let variants = [
            json!({"model": "n", "messages": [{"role": "user", "content": "hi"}]}),
            json!({"model": "m", "messages": [{"role": "user", "content": "hi!"}]}),
            json!({"model": "m", "messages": [{"role": "system", "content": "hi"}]}),
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.0}),
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}],
                   "response_format": {"type": "json_object"}}),
        ];
        for variant in variants {
            assert_ne!(cache_key("http://x/v1", &variant), key, "{variant}");
        }
        assert_ne!(cache_key("http://y/v1", &base), key);
    }

    #[test]
    fn canonical_json_escapes_keys_and_sorts_nested_objects() {
        let mut out = String::new();
        write_canonical(
            &json!({"b": {"z": 1, "a": [true, null]}, "a\"q": "x"}),
            &mut out,
        );
        assert_eq!(out, r#"{"a\"q":"x","b":{"a":[true,null],"z":1}}"#);
    }
}
