use std::time::{Duration, Instant};

use judgeflow_test::{Fault, FaultRule, MockLlm, MockLlmConfig, RetryAfter};
use serde_json::{Value, json};

async fn post(mock: &MockLlm, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/chat/completions", mock.base_url()))
        .json(body)
        .send()
        .await
        .unwrap()
}

fn target(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "system", "content": "be brief"},
                                         {"role": "user", "content": text}]})
}

#[tokio::test]
async fn target_calls_echo_or_use_the_answer_table_with_usage() {
    let mock = MockLlm::start().await;
    mock.set_answer("What is 2+2?", "4");

    let echoed: Value = post(&mock, &target("t", "hello world"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(echoed["object"], "chat.completion");
    assert_eq!(echoed["model"], "t");
    assert_eq!(echoed["choices"][0]["message"]["content"], "hello world");
    assert_eq!(echoed["choices"][0]["finish_reason"], "stop");
    // "be brief" is 2 tokens, "hello world" 3: ceil(chars / 4).
    assert_eq!(
        echoed["usage"],
        json!({"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8})
    );

    let looked_up: Value = post(&mock, &target("t", "  What is 2+2? "))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(looked_up["choices"][0]["message"]["content"], "4");
}

#[tokio::test]
async fn judge_calls_answer_a_json_verdict() {
    let mock = MockLlm::start().await;
    let judge = |output: &str| {
        json!({"model": "j", "response_format": {"type": "json_schema", "json_schema": {"name": "v", "schema": {}}},
               "messages": [{"role": "user", "content": format!("<expected>Paris</expected><output>{output}</output>")}]})
    };
    for (output, result) in [("It is Paris.", "yes"), ("It is Rome.", "no")] {
        let body: Value = post(&mock, &judge(output)).await.json().await.unwrap();
        let verdict: Value =
            serde_json::from_str(body["choices"][0]["message"]["content"].as_str().unwrap())
                .unwrap();
        assert_eq!(verdict["result"], result, "{output}");
    }
    assert_eq!(mock.counters().judge_calls, 2);
}

#[tokio::test]
async fn faults_follow_their_schedules_and_are_counted() {
    let config = MockLlmConfig::default()
        .fault(FaultRule::first(
            2,
            Fault::RateLimit {
                retry_after: RetryAfter::Seconds(7),
            },
        ))
        .fault(FaultRule::every(3, Fault::ServerError { status: 503 }));
    let mock = MockLlm::start_with(config).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let response = post(&mock, &target("t", "x")).await;
        if response.status() == 429 {
            assert_eq!(response.headers()["retry-after"], "7");
        }
        statuses.push(response.status().as_u16());
    }
    // The 500 rule counts the 429'd calls too, so it fires on calls 3 and 6.
    assert_eq!(statuses, [429, 429, 503, 200, 200, 503]);
    let counters = mock.counters();
    assert_eq!(
        (
            counters.calls,
            counters.rate_limited,
            counters.server_errors
        ),
        (6, 2, 2)
    );
}

#[tokio::test]
async fn malformed_judge_answers_hit_judge_calls_only() {
    let mock = MockLlm::start().await;
    mock.add_fault(FaultRule::first(1, Fault::MalformedJudge));
    let judge = json!({"model": "j", "response_format": {"type": "json_object"},
                       "messages": [{"role": "user", "content": "?"}]});
    let plain: Value = post(&mock, &target("t", "x")).await.json().await.unwrap();
    assert_eq!(plain["choices"][0]["message"]["content"], "x");
    for valid in [false, true] {
        let body: Value = post(&mock, &judge).await.json().await.unwrap();
        let content = body["choices"][0]["message"]["content"].as_str().unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(content).is_ok(),
            valid,
            "{content}"
        );
    }
    assert_eq!(mock.counters().malformed, 1);
}

#[tokio::test]
async fn per_model_latency_and_max_tokens() {
    let mock = MockLlm::start().await;
    mock.set_model_latency("slow", Duration::from_millis(150));
    let start = Instant::now();
    post(&mock, &target("fast", "x")).await;
    assert!(start.elapsed() < Duration::from_millis(150));
    let start = Instant::now();
    let mut request = target("slow", "abcdefghijkl");
    request["max_tokens"] = json!(2);
    let body: Value = post(&mock, &request).await.json().await.unwrap();
    assert!(start.elapsed() >= Duration::from_millis(150));
    assert_eq!(body["choices"][0]["message"]["content"], "abcdefgh");
    assert_eq!(body["choices"][0]["finish_reason"], "length");
}

#[tokio::test]
async fn bad_requests_get_openai_errors_and_models_are_listed() {
    let mock = MockLlm::start().await;
    let response = post(&mock, &json!({"messages": []})).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");

    post(&mock, &target("seen-model", "x")).await;
    let models: Value = reqwest::get(format!("{}/models", mock.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["data"][0]["id"], "seen-model");
    assert_eq!(mock.counters().bad_requests, 1);
}

/// promptfoo's `llm-rubric` grader: its template, with the JSON `response_format` its default
/// grading provider adds; the answer must be `{"reason", "pass", "score"}` in the message text.
#[tokio::test]
async fn rubric_prompts_answer_promptfoos_shape_and_counters_are_served() {
    let mock = MockLlm::start().await;
    let rubric = |output: &str| {
        json!({"model": "j", "response_format": {"type": "json_object"}, "messages": [
            {"role": "system", "content": "You are grading output according to a user-specified rubric. \
                Examples:\n<Output>Hello world</Output>\n<Rubric>Content contains a greeting</Rubric>"},
            {"role": "user", "content": format!(
                "<Output>\n{output}\n</Output>\n<Rubric>\nRestates <expected>question 1</expected>\n</Rubric>")}]})
    };
    for (output, pass) in [("question 1", true), ("question 2", false)] {
        let body: Value = post(&mock, &rubric(output)).await.json().await.unwrap();
        let verdict: Value =
            serde_json::from_str(body["choices"][0]["message"]["content"].as_str().unwrap())
                .unwrap();
        assert_eq!(verdict["pass"], pass, "{output}");
        assert_eq!(verdict["score"], if pass { 1.0 } else { 0.0 });
        assert!(verdict["reason"].is_string() && verdict.get("result").is_none());
    }
    post(&mock, &target("t", "x")).await;

    let url = format!("http://{}/mock", mock.addr());
    let counters: Value = reqwest::get(format!("{url}/counters"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            &counters["calls"],
            &counters["judge_calls"],
            &counters["rubric_calls"],
            &counters["target_calls"],
            &counters["max_in_flight"]
        ),
        (&json!(3), &json!(2), &json!(2), &json!(1), &json!(1))
    );
    let reset = reqwest::Client::new()
        .post(format!("{url}/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 204);
    assert_eq!(mock.counters().calls, 0);
}
