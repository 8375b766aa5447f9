//! The OpenAI-compatible chat client that evaluation targets and LLM judges call.
//!
//! An [`LlmClient`] is built from an [`EndpointConfig`] (base URL, model, key, default parameters,
//! timeout, [`RetryPolicy`], [`Limits`]) and shared by every task calling that endpoint. Each
//! [`LlmClient::chat`] call:
//! 1. builds the request body (endpoint defaults under the request's parameters) and, with a
//!    [`CallCache`] attached, answers from it by the body's content-addressed [`CacheKey`];
//! 2. waits out any endpoint-wide `Retry-After` pause, takes a slot of the adaptive concurrency
//!    limit (halved on 429, regrown by one per limit's worth of successes) and draws from the
//!    requests- and tokens-per-minute buckets (tokens estimated, then corrected by the usage);
//! 3. sends one attempt with the per-call timeout, retrying 429, 5xx, timeouts and connection
//!    errors with jittered exponential backoff floored by `Retry-After`; other 4xx end the call;
//! 4. returns a [`ChatResponse`] with content, finish reason, usage, latency, attempts and the
//!    raw JSON, or a typed [`LlmError`].
//!
//! Configuration arrives as plain structs: this crate reads no environment variables.

mod cache;
mod client;
mod config;
mod error;
mod limiter;
mod retry;
mod types;

pub use cache::{CacheKey, CallCache, MemoryCache, cache_key};
pub use client::{ClientStats, LlmClient};
pub use config::{ApiKey, AuthStyle, EndpointConfig, Limits, RetryPolicy};
pub use error::{CacheError, LlmError};
pub use retry::retry_after;
pub use types::{
    CacheMode, ChatParams, ChatRequest, ChatResponse, JsonSchemaFormat, Message, ResponseFormat,
    Role, Usage,
};
