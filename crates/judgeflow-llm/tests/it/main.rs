//! The client against the stand-in server (`judgeflow-test`) over real HTTP on 127.0.0.1.
//! Retry tests use `RetryPolicy::without_delays` unless they measure a wait on purpose.

mod cache;
mod chat;
mod limits;
mod retry;
mod secrets;

use std::time::Duration;

use judgeflow_llm::{EndpointConfig, LlmClient, RetryPolicy};
use judgeflow_test::MockLlm;

/// An endpoint on `mock` that retries instantly, up to `attempts` in all.
fn endpoint(mock: &MockLlm, attempts: u32) -> EndpointConfig {
    let mut config = EndpointConfig::new(mock.base_url(), "mock-target");
    config.retry = RetryPolicy::without_delays(attempts);
    config.timeout = Duration::from_secs(5);
    config
}

fn client(config: EndpointConfig) -> LlmClient {
    LlmClient::new(config).expect("a valid endpoint")
}
