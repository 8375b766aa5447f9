//! Per-endpoint configuration: plain structs the caller fills from its own resolved settings
//! (this crate reads no environment variables).

use std::fmt;
use std::time::Duration;

use crate::types::ChatParams;

/// An API key. `Debug` prints a placeholder and there is no `Display`, so a key cannot reach a
/// log line or an error message by accident; [`ApiKey::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key itself, for building the auth header.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl From<String> for ApiKey {
    fn from(key: String) -> Self {
        Self(key)
    }
}

impl From<&str> for ApiKey {
    fn from(key: &str) -> Self {
        Self(key.to_owned())
    }
}

/// How the API key is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthStyle {
    /// `Authorization: Bearer <key>`: OpenAI, Databricks serving, vLLM, Ollama.
    #[default]
    Bearer,
    /// `api-key: <key>`: Azure OpenAI with a resource key.
    AzureApiKey,
}

/// One OpenAI-compatible chat endpoint: where it is, how to authenticate, what to send by
/// default, and how hard the client may push it.
#[derive(Clone)]
pub struct EndpointConfig {
    /// The API root; calls go to `{base_url}/chat/completions`. For example
    /// `https://api.openai.com/v1`, `http://localhost:11434/v1` (Ollama),
    /// `https://<ws>.cloud.databricks.com/serving-endpoints`, or for Azure
    /// `https://<resource>.openai.azure.com/openai/deployments/<deployment>`.
    pub base_url: String,
    /// The `model` field of every request (Azure ignores it; the deployment is in the URL).
    pub model: String,
    pub api_key: Option<ApiKey>,
    pub auth: AuthStyle,
    /// Sent as the `api-version` query parameter when set (Azure requires it).
    pub api_version: Option<String>,
    /// Extra headers on every request. Their values may be credentials, so `Debug` shows names only.
    pub headers: Vec<(String, String)>,
    /// Parameters every request gets unless it sets them itself.
    pub defaults: ChatParams,
    /// Limit for one HTTP attempt, from sending the request to reading the whole body.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    pub limits: Limits,
}

impl EndpointConfig {
    /// An endpoint with no key and the default timeout, retry policy and limits.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            auth: AuthStyle::Bearer,
            api_version: None,
            headers: Vec::new(),
            defaults: ChatParams::default(),
            timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            limits: Limits::default(),
        }
    }

    /// An Azure OpenAI deployment: `api-key` header and `api-version` query parameter.
    pub fn azure(
        resource_url: &str,
        deployment: &str,
        api_version: impl Into<String>,
        api_key: ApiKey,
    ) -> Self {
        let base = format!(
            "{}/openai/deployments/{deployment}",
            resource_url.trim_end_matches('/')
        );
        Self {
            api_key: Some(api_key),
            auth: AuthStyle::AzureApiKey,
            api_version: Some(api_version.into()),
            ..Self::new(base, deployment)
        }
    }

    #[must_use]
    pub fn with_api_key(mut self, key: impl Into<ApiKey>) -> Self {
        self.api_key = Some(key.into());
        self
    }
}

impl fmt::Debug for EndpointConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("EndpointConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key)
            .field("auth", &self.auth)
            .field("api_version", &self.api_version)
            .field("headers", &header_names)
            .field("defaults", &self.defaults)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("limits", &self.limits)
            .finish()
    }
}

/// When and how long to wait before another attempt.
///
/// Backoff is exponential with full jitter: before retry `n` (1-based) the client sleeps a uniform
/// random time in `[0, min(max_delay, base_delay * 2^(n-1))]`, so callers that failed together do
/// not come back together. A `Retry-After` (or `retry-after-ms`) on a 429/503 is a floor for that
/// sleep, capped at `max_retry_after`, and also pauses every other caller of the endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included: 1 means never retry.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub honor_retry_after: bool,
    /// A server asking for longer is waited for this long, then tried again.
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    /// No sleeping at all, not even for `Retry-After`: the switch tests use to run retries instantly.
    #[must_use]
    pub fn without_delays(max_attempts: u32) -> Self {
        Self {
            max_attempts,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            honor_retry_after: false,
            max_retry_after: Duration::ZERO,
        }
    }
}

impl Default for RetryPolicy {
    /// Six attempts over roughly half a minute at worst: an evaluation run would rather wait out
    /// a rate-limit spike than record an error for the row.
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            honor_retry_after: true,
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// How much load the client puts on the endpoint, shared by every caller of one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The most requests in flight at once, and where the adaptive limit starts.
    pub max_concurrency: usize,
    /// The floor the adaptive limit shrinks to on repeated 429s.
    pub min_concurrency: usize,
    /// Halve the limit on a 429 and regrow it by one per limit's worth of successes (AIMD).
    /// Off, the limit stays at `max_concurrency`.
    pub adaptive: bool,
    pub requests_per_minute: Option<u32>,
    pub tokens_per_minute: Option<u32>,
    /// Completion tokens assumed for the tokens-per-minute estimate when a request sets no
    /// `max_tokens`; the estimate is corrected with the reported usage afterwards.
    pub assumed_completion_tokens: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_concurrency: 8,
            min_concurrency: 1,
            adaptive: true,
            requests_per_minute: None,
            tokens_per_minute: None,
            assumed_completion_tokens: 512,
        }
    }
}
