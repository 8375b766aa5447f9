use std::time::{Duration, Instant};

use judgeflow_llm::{ChatParams, ChatRequest, LlmError, RetryPolicy};
use judgeflow_test::{Fault, FaultRule, MockLlm, MockLlmConfig, RetryAfter};
use rstest::rstest;
use serde_json::json;

use crate::{client, endpoint};

fn faulty(rule: FaultRule) -> MockLlmConfig {
    MockLlmConfig::default().fault(rule)
}

/// The one test that waits for real: a 429 asking for one second is retried no sooner, even
/// with a policy whose own backoff is zero.
#[tokio::test]
async fn a_429_is_retried_after_its_retry_after() {
    let rate_limit = Fault::RateLimit {
        retry_after: RetryAfter::Seconds(1),
    };
    let mock = MockLlm::start_with(faulty(FaultRule::first(1, rate_limit))).await;
    let mut config = endpoint(&mock, 3);
    config.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
        ..RetryPolicy::default()
    };
    let client = client(config);

    let started = Instant::now();
    let response = client.chat(&ChatRequest::user("hi")).await.unwrap();

    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(response.attempts, 2);
    assert!(response.elapsed >= Duration::from_secs(1));
    assert_eq!(client.stats().rate_limited, 1);
}

#[rstest]
#[case::seconds(RetryAfter::Seconds(0))]
#[case::http_date(RetryAfter::HttpDate(0))]
#[case::milliseconds(RetryAfter::Millis(30))]
#[case::no_header(RetryAfter::None)]
#[tokio::test]
async fn a_429_is_retried_whatever_its_wait_header(#[case] retry_after: RetryAfter) {
    let mock = MockLlm::start_with(faulty(FaultRule::first(
        2,
        Fault::RateLimit { retry_after },
    )))
    .await;
    let response = client(endpoint(&mock, 3))
        .chat(&ChatRequest::user("hi"))
        .await
        .unwrap();
    assert_eq!(response.attempts, 3);
    assert_eq!(mock.counters().rate_limited, 2);
}

#[tokio::test]
async fn a_500_is_retried_until_it_succeeds() {
    let fault = Fault::ServerError { status: 500 };
    let mock = MockLlm::start_with(faulty(FaultRule::first(2, fault))).await;
    let response = client(endpoint(&mock, 4))
        .chat(&ChatRequest::user("hi"))
        .await
        .unwrap();
    assert_eq!((response.content.as_str(), response.attempts), ("hi", 3));
    assert_eq!(mock.counters().calls, 3);
}

#[tokio::test]
async fn exhausted_retries_report_the_attempts_and_the_last_error() {
    let fault = Fault::ServerError { status: 503 };
    let mock = MockLlm::start_with(faulty(FaultRule::always(fault))).await;
    let client = client(endpoint(&mock, 3));

    let error = client.chat(&ChatRequest::user("hi")).await.unwrap_err();

    let LlmError::RetriesExhausted { attempts, last } = &error else {
        panic!("expected exhausted retries, got {error:?}");
    };
    assert_eq!(*attempts, 3);
    assert!(
        matches!(**last, LlmError::Server { status: 503, .. }),
        "{last:?}"
    );
    assert_eq!((error.attempts(), error.status()), (Some(3), Some(503)));
    assert!(!error.is_retryable());
    assert_eq!(mock.counters().calls, 3);
    let stats = client.stats();
    assert_eq!((stats.attempts, stats.retries, stats.failures), (3, 2, 1));
}

#[tokio::test]
async fn a_timeout_is_retried_then_reported() {
    let hang = Fault::Hang(Duration::from_secs(3));
    let mock = MockLlm::start_with(faulty(FaultRule::first(1, hang))).await;
    let mut config = endpoint(&mock, 2);
    config.timeout = Duration::from_millis(200);

    // One hang, then an answer.
    let response = client(config.clone())
        .chat(&ChatRequest::user("hi"))
        .await
        .unwrap();
    assert_eq!(response.attempts, 2);

    // Hanging every time: the budget runs out on timeouts.
    mock.clear_faults();
    mock.add_fault(FaultRule::always(Fault::Hang(Duration::from_secs(3))));
    let started = Instant::now();
    let error = client(config)
        .chat(&ChatRequest::user("hi"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, LlmError::RetriesExhausted { attempts: 2, last } if matches!(**last, LlmError::Timeout(_))),
        "{error:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "timeouts were not enforced"
    );
}

#[tokio::test]
async fn a_400_is_not_retried() {
    let mock = MockLlm::start().await;
    // The stand-in refuses streaming with a 400, as a real server refuses a bad parameter.
    let request = ChatRequest::user("hi").with_params(ChatParams {
        extra: [("stream".to_owned(), json!(true))].into_iter().collect(),
        ..ChatParams::default()
    });
    let error = client(endpoint(&mock, 5)).chat(&request).await.unwrap_err();
    let LlmError::Rejected { status, message } = &error else {
        panic!("expected a rejection, got {error:?}");
    };
    assert_eq!(*status, 400);
    assert!(message.contains("does not stream"), "{message}");
    assert_eq!(mock.counters().bad_requests, 1);
}

#[tokio::test]
async fn a_refused_connection_is_retried_as_a_connection_error() {
    // A port that was just free: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = judgeflow_llm::EndpointConfig::new(format!("http://127.0.0.1:{port}/v1"), "m");
    config.retry = RetryPolicy::without_delays(2);
    let error = client(config)
        .chat(&ChatRequest::user("hi"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, LlmError::RetriesExhausted { attempts: 2, last } if matches!(**last, LlmError::Connection(_))),
        "{error:?}"
    );
}
