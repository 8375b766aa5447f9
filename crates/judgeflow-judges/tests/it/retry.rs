//! Malformed answers (one corrective retry, bypassing the cache) and client retries underneath.

use std::sync::Arc;

use judgeflow_judges::{Judge, JudgeError, JudgeKind};
use judgeflow_llm::MemoryCache;
use judgeflow_test::{Fault, FaultRule, MockLlm, RetryAfter};
use serde_json::{Value, json};

use crate::{Row, client};

fn row() -> Row {
    Row::new("Capital of France?", "Paris").expecting(json!({"expected_response": "Paris"}))
}

#[tokio::test]
async fn a_malformed_first_answer_is_asked_again_once() {
    let mock = MockLlm::start().await;
    mock.state()
        .add_fault(FaultRule::first(1, Fault::MalformedJudge));
    let verdict = Judge::new(JudgeKind::Correctness, client(&mock, "judge"))
        .judge(&row().input())
        .await
        .unwrap();
    assert_eq!(verdict.value, Value::Bool(true));
    assert_eq!(verdict.calls, 2);
    assert_eq!(mock.state().counters().judge_calls, 2);
    // The retry shows the model its answer and says what was wrong with it.
    let retry = &mock.state().requests()[1]["messages"];
    assert_eq!(retry[2]["role"], "assistant");
    assert!(retry[3]["content"].as_str().unwrap().contains("not JSON"));
    // Tokens of both calls are reported: the retry's prompt alone repeats the first one's.
    let first = mock.state().requests()[0]["messages"][1]["content"]
        .as_str()
        .unwrap()
        .len() as u64;
    assert!(verdict.usage.unwrap().prompt_tokens > 2 * first / 4);
}

#[tokio::test]
async fn malformed_twice_is_an_error_with_the_raw_answer() {
    let mock = MockLlm::start().await;
    mock.state()
        .add_fault(FaultRule::first(2, Fault::MalformedJudge));
    let error = Judge::new(JudgeKind::Correctness, client(&mock, "judge"))
        .judge(&row().input())
        .await
        .unwrap_err();
    let JudgeError::Malformed { raw, reason } = &error else {
        panic!("expected Malformed, got {error:?}");
    };
    assert!(raw.starts_with("Verdict: yes"), "{raw}");
    assert!(reason.contains("not JSON"), "{reason}");
    assert_eq!(mock.state().counters().judge_calls, 2);
}

#[tokio::test]
async fn the_retry_refreshes_the_cache_so_a_bad_answer_is_not_replayed() {
    let mock = MockLlm::start().await;
    mock.state()
        .add_fault(FaultRule::first(1, Fault::MalformedJudge));
    let cache = Arc::new(MemoryCache::new());
    let judge = Judge::new(
        JudgeKind::Correctness,
        client(&mock, "judge").with_cache(cache, None),
    );
    judge.judge(&row().input()).await.unwrap();
    assert_eq!(mock.state().counters().judge_calls, 2);

    // Again: the first call is the cached bad answer, and the retry goes to the endpoint.
    let verdict = judge.judge(&row().input()).await.unwrap();
    assert_eq!(verdict.value, Value::Bool(true));
    assert_eq!(mock.state().counters().judge_calls, 3);
    assert!(!verdict.cached);
}

#[tokio::test]
async fn a_good_answer_comes_from_the_cache() {
    let mock = MockLlm::start().await;
    let cache = Arc::new(MemoryCache::new());
    let judge = Judge::new(
        JudgeKind::Correctness,
        client(&mock, "judge").with_cache(cache, None),
    );
    judge.judge(&row().input()).await.unwrap();
    let verdict = judge.judge(&row().input()).await.unwrap();
    assert!(verdict.cached);
    assert_eq!(verdict.attempts, 0);
    assert_eq!(mock.state().counters().judge_calls, 1);
}

#[tokio::test]
async fn a_429_is_retried_by_the_client_underneath() {
    let mock = MockLlm::start().await;
    mock.state().add_fault(FaultRule::first(
        1,
        Fault::RateLimit {
            retry_after: RetryAfter::Seconds(1),
        },
    ));
    let verdict = Judge::new(JudgeKind::Correctness, client(&mock, "judge"))
        .judge(&row().input())
        .await
        .unwrap();
    assert_eq!(verdict.value, Value::Bool(true));
    assert_eq!((verdict.attempts, verdict.calls), (2, 1));
    assert_eq!(mock.state().counters().rate_limited, 1);
}

#[tokio::test]
async fn a_call_that_keeps_failing_is_an_llm_error() {
    let mock = MockLlm::start().await;
    mock.state()
        .add_fault(FaultRule::always(Fault::ServerError { status: 500 }));
    let error = Judge::new(JudgeKind::Correctness, client(&mock, "judge"))
        .judge(&row().input())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, JudgeError::Llm(e) if e.status() == Some(500)),
        "{error}"
    );
}
