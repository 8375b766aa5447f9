//! The client's errors, split by what a caller should do about them: retry (rate limits, 5xx,
//! timeouts, broken connections), fix the request or configuration (other 4xx, bad config), or
//! report the endpoint as broken (a success status with a body that is not a chat completion).

use std::time::Duration;

/// Why a chat call failed.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The endpoint configuration cannot produce a request (bad base URL, bad header).
    #[error("invalid endpoint configuration: {0}")]
    Config(String),
    /// HTTP 429: the endpoint asks us to slow down.
    #[error("rate limited (HTTP {status}): {message}")]
    RateLimited {
        status: u16,
        retry_after: Option<Duration>,
        message: String,
    },
    /// HTTP 5xx. A 503 may carry `Retry-After`, which is honoured like a 429's.
    #[error("server error (HTTP {status}): {message}")]
    Server {
        status: u16,
        retry_after: Option<Duration>,
        message: String,
    },
    /// Any other non-success status (400, 401, 404, …): retrying would get the same answer.
    #[error("request rejected (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    /// No complete response within the per-call timeout.
    #[error("no response within {0:?}")]
    Timeout(Duration),
    /// The connection could not be made or broke mid-request.
    #[error("connection failed: {0}")]
    Connection(String),
    /// A success status whose body is not a chat completion we can read.
    #[error("invalid response: {0}")]
    InvalidResponse(String),
    /// Every attempt the retry policy allows failed with a retryable error; `last` is the final one.
    #[error("gave up after {attempts} attempts: {last}")]
    RetriesExhausted {
        attempts: u32,
        #[source]
        last: Box<LlmError>,
    },
}

impl LlmError {
    /// Whether another attempt may succeed. [`LlmError::RetriesExhausted`] is not: the budget is spent.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Server { .. } | Self::Timeout(_) | Self::Connection(_)
        )
    }

    /// The HTTP status behind this error, if there was one (for exhausted retries, the last one's).
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::RateLimited { status, .. }
            | Self::Server { status, .. }
            | Self::Rejected { status, .. } => Some(*status),
            Self::RetriesExhausted { last, .. } => last.status(),
            _ => None,
        }
    }

    /// The wait the server asked for with `Retry-After` / `retry-after-ms`, if any.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } | Self::Server { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// How many HTTP attempts were made, known only when the retry budget ran out. A non-retryable
    /// error ends the call where it happens; earlier retries of that call are in the `debug` log.
    #[must_use]
    pub fn attempts(&self) -> Option<u32> {
        match self {
            Self::RetriesExhausted { attempts, .. } => Some(*attempts),
            _ => None,
        }
    }
}

/// A [`crate::CallCache`] backend failure. The client logs it and calls the endpoint anyway: a
/// cache is an optimisation, and a broken one must not fail an evaluation.
#[derive(Debug, thiserror::Error)]
#[error("call cache: {0}")]
pub struct CacheError(Box<dyn std::error::Error + Send + Sync>);

impl CacheError {
    pub fn new(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(source.into())
    }
}
