//! [`LlmClient`]: one endpoint's shared runtime (limits, pause, counters) and the call loop.

use std::error::Error as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{StatusCode, Url};
use serde_json::{Map, Value};

use crate::cache::{CacheKey, CallCache, cache_key};
use crate::config::{AuthStyle, EndpointConfig};
use crate::error::LlmError;
use crate::limiter::{AdaptiveConcurrency, TokenBucket};
use crate::retry::retry_after;
use crate::types::{CacheMode, ChatRequest, ChatResponse, Usage};

/// A client for one OpenAI-compatible chat endpoint. Cheap to clone; clones share the
/// endpoint's concurrency limit, rate buckets and counters, so give every task that calls this
/// endpoint a clone of one client rather than a client of its own.
#[derive(Clone)]
pub struct LlmClient {
    endpoint: Arc<Endpoint>,
    cache: Option<(Arc<dyn CallCache>, Option<Duration>)>,
}

struct Endpoint {
    config: EndpointConfig,
    url: Url,
    headers: HeaderMap,
    http: reqwest::Client,
    concurrency: AdaptiveConcurrency,
    requests: Option<TokenBucket>,
    tokens: Option<TokenBucket>,
    /// Until when a `Retry-After` told the whole endpoint to wait. Every caller honours it, not
    /// only the one that got the 429: the others would just collect 429s of their own.
    paused_until: Mutex<Option<tokio::time::Instant>>,
    stats: Counters,
}

#[derive(Default)]
struct Counters {
    calls: AtomicU64,
    attempts: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
    failures: AtomicU64,
    cache_hits: AtomicU64,
}

/// What a client has done so far, over all its clones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientStats {
    /// Calls to [`LlmClient::chat`], cache hits included.
    pub calls: u64,
    /// HTTP attempts sent.
    pub attempts: u64,
    pub retries: u64,
    /// 429 responses received.
    pub rate_limited: u64,
    /// Calls that ended in an error.
    pub failures: u64,
    pub cache_hits: u64,
    /// The adaptive concurrency limit now.
    pub concurrency_limit: usize,
    pub in_flight: usize,
}

impl LlmClient {
    /// A client with its own connection pool.
    pub fn new(config: EndpointConfig) -> Result<Self, LlmError> {
        // No client-wide timeout: the per-attempt one is set on each request.
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| LlmError::Config(error_chain(&e)))?;
        Self::with_http_client(config, http)
    }

    /// A client over an existing `reqwest::Client`, to share one connection pool between endpoints.
    pub fn with_http_client(
        config: EndpointConfig,
        http: reqwest::Client,
    ) -> Result<Self, LlmError> {
        let url = chat_url(&config)?;
        let headers = request_headers(&config)?;
        let limits = &config.limits;
        let endpoint = Endpoint {
            url,
            headers,
            http,
            concurrency: AdaptiveConcurrency::new(
                limits.min_concurrency,
                limits.max_concurrency,
                limits.adaptive,
            ),
            requests: limits.requests_per_minute.map(TokenBucket::per_minute),
            tokens: limits.tokens_per_minute.map(TokenBucket::per_minute),
            paused_until: Mutex::new(None),
            stats: Counters::default(),
            config,
        };
        Ok(Self {
            endpoint: Arc::new(endpoint),
            cache: None,
        })
    }

    /// This client (sharing the endpoint runtime) with a cache consulted on every call whose
    /// [`CacheMode`] allows it; new entries live for `ttl` (`None`: until removed).
    #[must_use]
    pub fn with_cache(mut self, cache: Arc<dyn CallCache>, ttl: Option<Duration>) -> Self {
        self.cache = Some((cache, ttl));
        self
    }

    #[must_use]
    pub fn config(&self) -> &EndpointConfig {
        &self.endpoint.config
    }

    #[must_use]
    pub fn stats(&self) -> ClientStats {
        let counters = &self.endpoint.stats;
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        ClientStats {
            calls: load(&counters.calls),
            attempts: load(&counters.attempts),
            retries: load(&counters.retries),
            rate_limited: load(&counters.rate_limited),
            failures: load(&counters.failures),
            cache_hits: load(&counters.cache_hits),
            concurrency_limit: self.endpoint.concurrency.limit(),
            in_flight: self.endpoint.concurrency.in_flight(),
        }
    }

    /// The JSON body `request` is sent as: the endpoint's model and default parameters merged
    /// with the request's.
    #[must_use]
    pub fn request_body(&self, request: &ChatRequest) -> Value {
        let config = &self.endpoint.config;
        let mut body = Map::new();
        body.insert("model".into(), Value::String(config.model.clone()));
        body.insert(
            "messages".into(),
            serde_json::to_value(&request.messages).expect("messages serialize"),
        );
        if let Value::Object(params) = serde_json::to_value(request.params.over(&config.defaults))
            .expect("parameters serialize")
        {
            body.extend(params);
        }
        if let Some(format) = &request.response_format {
            body.insert(
                "response_format".into(),
                serde_json::to_value(format).expect("response_format serializes"),
            );
        }
        Value::Object(body)
    }

    /// The cache key of `request` on this endpoint.
    #[must_use]
    pub fn cache_key(&self, request: &ChatRequest) -> CacheKey {
        cache_key(&self.endpoint.config.base_url, &self.request_body(request))
    }

    /// Sends one chat call: from the cache if allowed and present, else through the endpoint's
    /// limits with retries. Cancel-safe: dropping the future releases its concurrency slot.
    pub async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let started = Instant::now();
        let endpoint = &*self.endpoint;
        endpoint.stats.calls.fetch_add(1, Ordering::Relaxed);
        let body = self.request_body(request);

        let cache = match (&self.cache, request.cache) {
            (Some(cache), CacheMode::Use | CacheMode::Refresh) => {
                Some((cache, cache_key(&endpoint.config.base_url, &body)))
            }
            _ => None,
        };
        if let (Some(((cache, _), key)), CacheMode::Use) = (&cache, request.cache) {
            match cache.get(key).await {
                Ok(Some(mut hit)) => {
                    endpoint.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
                    hit.cached = true;
                    hit.attempts = 0;
                    hit.elapsed = started.elapsed();
                    return Ok(hit);
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%error, "call cache read failed; calling the endpoint");
                }
            }
        }

        let estimate = estimate_tokens(
            request,
            &body,
            endpoint.config.limits.assumed_completion_tokens,
        );
        let body = Bytes::from(serde_json::to_vec(&body).expect("request body serializes"));
        let result = self.call_with_retries(body, estimate).await;
        let mut response = match result {
            Ok(response) => response,
            Err(error) => {
                endpoint.stats.failures.fetch_add(1, Ordering::Relaxed);
                return Err(error);
            }
        };
        response.elapsed = started.elapsed();

        if let Some(((cache, ttl), key)) = cache {
            if let Err(error) = cache.put(&key, &response, *ttl).await {
                tracing::warn!(%error, "call cache write failed");
            }
        }
        Ok(response)
    }

    async fn call_with_retries(
        &self,
        body: Bytes,
        estimate: f64,
    ) -> Result<ChatResponse, LlmError> {
        let endpoint = &*self.endpoint;
        let policy = &endpoint.config.retry;
        let mut attempt = 0;
        loop {
            attempt += 1;
            endpoint.wait_out_pause().await;
            // The slot first, then the buckets: drawn just before sending, the buckets pace the
            // sends themselves. Drawn before queueing for a slot, their tokens would be spent
            // early and the sends would bunch up as slots free.
            let permit = endpoint.concurrency.acquire().await;
            if let Some(bucket) = &endpoint.requests {
                bucket.acquire(1.0).await;
            }
            if let Some(bucket) = &endpoint.tokens {
                bucket.acquire(estimate).await;
            }
            endpoint.stats.attempts.fetch_add(1, Ordering::Relaxed);
            let sent = Instant::now();
            let outcome = endpoint.send(body.clone()).await;
            let latency = sent.elapsed();

            let error = match outcome {
                Ok(mut response) => {
                    permit.succeeded();
                    if let (Some(bucket), Some(usage)) = (&endpoint.tokens, response.usage) {
                        bucket.adjust(estimate - usage.total_tokens as f64);
                    }
                    response.latency = latency;
                    response.attempts = attempt;
                    return Ok(response);
                }
                Err(error) => error,
            };
            if matches!(error, LlmError::RateLimited { .. }) {
                endpoint.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                permit.overloaded();
            }
            drop(permit);
            // A rejected request spent no tokens; a timed-out one may still be generating.
            if let (Some(bucket), false) = (&endpoint.tokens, matches!(error, LlmError::Timeout(_)))
            {
                bucket.adjust(estimate);
            }
            if !error.is_retryable() {
                return Err(error);
            }
            if attempt >= policy.max_attempts {
                return Err(LlmError::RetriesExhausted {
                    attempts: attempt,
                    last: Box::new(error),
                });
            }
            let server_wait = error.retry_after();
            if let (Some(wait), true) = (server_wait, policy.honor_retry_after) {
                endpoint.pause_for(wait.min(policy.max_retry_after));
            }
            let delay = policy.delay(attempt, server_wait);
            endpoint.stats.retries.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%error, attempt, ?delay, model = %endpoint.config.model, "chat attempt failed; retrying");
            tokio::time::sleep(delay).await;
        }
    }
}

impl Endpoint {
    async fn wait_out_pause(&self) {
        loop {
            let until = *self.paused_until.lock().unwrap();
            match until {
                Some(until) if until > tokio::time::Instant::now() => {
                    tokio::time::sleep_until(until).await;
                }
                _ => return,
            }
        }
    }

    fn pause_for(&self, wait: Duration) {
        let until = tokio::time::Instant::now() + wait;
        let mut paused = self.paused_until.lock().unwrap();
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }

    /// One HTTP attempt, its outcome classified.
    async fn send(&self, body: Bytes) -> Result<ChatResponse, LlmError> {
        let timeout = self.config.timeout;
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                LlmError::Timeout(timeout)
            } else if e.is_builder() {
                LlmError::Config(error_chain(&e))
            } else {
                LlmError::Connection(error_chain(&e))
            }
        };
        let response = self
            .http
            .post(self.url.clone())
            .headers(self.headers.clone())
            .timeout(timeout)
            .body(body)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let wait = retry_after(response.headers(), SystemTime::now());
        let bytes = response.bytes().await.map_err(transport)?;
        if !status.is_success() {
            return Err(status_error(status, wait, &bytes));
        }
        parse_completion(&bytes, &self.config.model)
    }
}

fn chat_url(config: &EndpointConfig) -> Result<Url, LlmError> {
    let joined = format!("{}/chat/completions", config.base_url.trim_end_matches('/'));
    let mut url = Url::parse(&joined)
        .map_err(|e| LlmError::Config(format!("base URL {:?}: {e}", config.base_url)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(LlmError::Config(format!(
            "base URL {:?}: only http and https are supported",
            config.base_url
        )));
    }
    if let Some(version) = &config.api_version {
        url.query_pairs_mut().append_pair("api-version", version);
    }
    Ok(url)
}

fn request_headers(config: &EndpointConfig) -> Result<HeaderMap, LlmError> {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in &config.headers {
        let name = HeaderName::try_from(name.as_str())
            .map_err(|e| LlmError::Config(format!("header name {name:?}: {e}")))?;
        // The value may be a credential: name it, never quote it.
        let mut value = HeaderValue::try_from(value.as_str()).map_err(|_| {
            LlmError::Config(format!("header {name}: value is not valid in a header"))
        })?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    if let Some(key) = &config.api_key {
        let (name, text) = match config.auth {
            AuthStyle::Bearer => (AUTHORIZATION, format!("Bearer {}", key.expose())),
            AuthStyle::AzureApiKey => (HeaderName::from_static("api-key"), key.expose().to_owned()),
        };
        let mut value = HeaderValue::try_from(text)
            .map_err(|_| LlmError::Config("API key is not valid in a header".into()))?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    Ok(headers)
}

/// Tokens this call may use, for the tokens-per-minute bucket before the real count is known:
/// about four characters per prompt token, plus the completion allowance.
fn estimate_tokens(request: &ChatRequest, body: &Value, assumed_completion: u32) -> f64 {
    let prompt: usize = request
        .messages
        .iter()
        .map(|m| m.content.chars().count().div_ceil(4) + 4)
        .sum();
    let completion = body
        .get("max_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(u64::from(assumed_completion));
    prompt as f64 + completion as f64
}

fn status_error(status: StatusCode, retry_after: Option<Duration>, body: &[u8]) -> LlmError {
    let message = error_message(body);
    let status_code = status.as_u16();
    if status == StatusCode::TOO_MANY_REQUESTS {
        LlmError::RateLimited {
            status: status_code,
            retry_after,
            message,
        }
    } else if status.is_server_error() {
        LlmError::Server {
            status: status_code,
            retry_after,
            message,
        }
    } else {
        LlmError::Rejected {
            status: status_code,
            message,
        }
    }
}

/// The human part of an error body: OpenAI's `{"error": {"message": …}}`, the `{"message"}` or
/// `{"detail"}` other servers send, else the start of the body as text.
fn error_message(body: &[u8]) -> String {
    const MAX_CHARS: usize = 500;
    if let Ok(json) = serde_json::from_slice::<Value>(body) {
        let found = json
            .pointer("/error/message")
            .or_else(|| json.get("error").filter(|e| e.is_string()))
            .or_else(|| json.get("message"))
            .or_else(|| json.get("detail"))
            .and_then(Value::as_str);
        if let Some(message) = found {
            return message.chars().take(MAX_CHARS).collect();
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        "(empty body)".to_owned()
    } else {
        text.chars().take(MAX_CHARS).collect()
    }
}

fn parse_completion(bytes: &[u8], requested_model: &str) -> Result<ChatResponse, LlmError> {
    let raw: Value = serde_json::from_slice(bytes).map_err(|e| {
        LlmError::InvalidResponse(format!("body is not JSON ({e}): {}", error_message(bytes)))
    })?;
    let choice = raw
        .pointer("/choices/0")
        .ok_or_else(|| LlmError::InvalidResponse("no choices in the completion".into()))?;
    let content = match choice.pointer("/message/content") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => {
            return Err(LlmError::InvalidResponse(format!(
                "message content is not a string: {other}"
            )));
        }
    };
    let finish_reason = choice
        .get("finish_reason")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let usage = raw
        .get("usage")
        .filter(|u| !u.is_null())
        .map(|u| serde_json::from_value::<Usage>(u.clone()))
        .transpose()
        .map_err(|e| LlmError::InvalidResponse(format!("usage: {e}")))?;
    let model = raw
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or(requested_model)
        .to_owned();
    Ok(ChatResponse {
        content,
        finish_reason,
        usage,
        model,
        latency: Duration::ZERO,
        elapsed: Duration::ZERO,
        attempts: 0,
        cached: false,
        raw,
    })
}

/// An error with its causes: reqwest's own message ("error sending request") hides the reason
/// (refused, reset, DNS) in the source chain.
fn error_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::types::{ChatParams, Message, ResponseFormat};

    #[test]
    fn body_merges_endpoint_defaults_under_request_parameters() {
        let mut config = EndpointConfig::new("http://localhost:1/v1", "m");
        config.defaults = ChatParams {
            temperature: Some(0.0),
            max_tokens: Some(100),
            extra: Map::from_iter([("logprobs".to_owned(), json!(true))]),
            ..ChatParams::default()
        };
        let client = LlmClient::new(config).unwrap();
        let request = ChatRequest::new(vec![Message::system("s"), Message::user("u")])
            .with_params(ChatParams {
                max_tokens: Some(5),
                seed: Some(7),
                ..ChatParams::default()
            })
            .with_response_format(ResponseFormat::JsonObject);
        assert_eq!(
            client.request_body(&request),
            json!({
                "model": "m",
                "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
                "temperature": 0.0,
                "max_tokens": 5,
                "seed": 7,
                "logprobs": true,
                "response_format": {"type": "json_object"},
            })
        );
    }

    #[test]
    fn azure_url_and_header() {
        let config = EndpointConfig::azure(
            "https://r.openai.azure.com/",
            "gpt4o",
            "2024-10-21",
            "secret".into(),
        );
        assert_eq!(
            chat_url(&config).unwrap().as_str(),
            "https://r.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21"
        );
        let headers = request_headers(&config).unwrap();
        assert_eq!(headers["api-key"], "secret");
        assert!(headers.get(AUTHORIZATION).is_none());
    }

    #[test]
    fn a_base_url_that_is_not_http_is_a_config_error() {
        let error = LlmClient::new(EndpointConfig::new("ftp://x", "m"))
            .err()
            .unwrap();
        assert!(matches!(error, LlmError::Config(_)), "{error}");
    }

    #[test]
    fn error_bodies_yield_their_message() {
        assert_eq!(
            error_message(br#"{"error":{"message":"bad model"}}"#),
            "bad model"
        );
        assert_eq!(error_message(br#"{"detail":"nope"}"#), "nope");
        assert_eq!(error_message(b"<html>502</html>"), "<html>502</html>");
        assert_eq!(error_message(b""), "(empty body)");
    }

    #[test]
    fn a_completion_without_choices_is_invalid() {
        let error = parse_completion(br#"{"choices":[]}"#, "m").unwrap_err();
        assert!(matches!(error, LlmError::InvalidResponse(_)));
        let ok = parse_completion(
            br#"{"choices":[{"message":{"content":null},"finish_reason":"stop"}]}"#,
            "m",
        )
        .unwrap();
        assert_eq!(
            (ok.content.as_str(), ok.model.as_str(), ok.usage),
            ("", "m", None)
        );
    }
}
