use std::time::{Duration, Instant};

use futures::future::join_all;
use judgeflow_llm::{ChatRequest, LlmClient};
use judgeflow_test::{Fault, FaultRule, MockLlm, MockLlmConfig, RetryAfter};

use crate::{client, endpoint};

async fn fire(client: &LlmClient, calls: usize) {
    let results = join_all((0..calls).map(|i| {
        let client = client.clone();
        async move { client.chat(&ChatRequest::user(format!("call {i}"))).await }
    }))
    .await;
    for result in results {
        result.unwrap();
    }
}

#[tokio::test]
async fn concurrency_never_exceeds_the_limit() {
    let mock =
        MockLlm::start_with(MockLlmConfig::default().latency(Duration::from_millis(30))).await;
    let mut config = endpoint(&mock, 1);
    config.limits.max_concurrency = 4;
    let client = client(config);

    fire(&client, 40).await;

    let counters = mock.counters();
    assert_eq!(counters.calls, 40);
    assert!(counters.max_in_flight <= 4, "{counters:?}");
    // And the limit is used, not just respected.
    assert!(counters.max_in_flight >= 3, "{counters:?}");
    assert_eq!(client.stats().in_flight, 0);
}

#[tokio::test]
async fn rate_limits_shrink_the_concurrency_limit() {
    let rate_limit = Fault::RateLimit {
        retry_after: RetryAfter::None,
    };
    let config = MockLlmConfig::default()
        .latency(Duration::from_millis(20))
        .fault(FaultRule::first(8, rate_limit));
    let mock = MockLlm::start_with(config).await;
    let mut config = endpoint(&mock, 10);
    config.limits.max_concurrency = 8;
    let client = client(config);

    fire(&client, 8).await;

    let stats = client.stats();
    assert_eq!(stats.rate_limited, 8);
    assert!(stats.concurrency_limit < 8, "{stats:?}");
    assert!(stats.concurrency_limit >= 1);
}

#[tokio::test]
async fn the_requests_per_minute_bucket_paces_calls() {
    let mock = MockLlm::start().await;
    let mut config = endpoint(&mock, 1);
    config.limits.max_concurrency = 50;
    // 20 per second with a burst of 20: 40 calls need about one second.
    config.limits.requests_per_minute = Some(1_200);
    let client = client(config);

    let started = Instant::now();
    fire(&client, 40).await;
    let elapsed = started.elapsed();

    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(mock.counters().calls, 40);
}

#[tokio::test]
async fn the_tokens_per_minute_bucket_is_corrected_by_reported_usage() {
    let mock = MockLlm::start().await;
    let mut config = endpoint(&mock, 1);
    config.limits.max_concurrency = 1;
    // 100 tokens per second. Each call is estimated at 4 + 1 + 96 = 101 tokens but reports about
    // 6, so with the refund 20 calls take well under the 20 s the estimate alone would cost.
    config.limits.tokens_per_minute = Some(6_000);
    config.defaults.max_tokens = Some(96);
    let client = client(config);

    let started = Instant::now();
    for i in 0..20 {
        client
            .chat(&ChatRequest::user(format!("c{i}")))
            .await
            .unwrap();
    }
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}
