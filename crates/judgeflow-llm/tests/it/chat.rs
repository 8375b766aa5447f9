use judgeflow_llm::{ChatParams, ChatRequest, Message, ResponseFormat, Usage};
use judgeflow_test::MockLlm;
use serde_json::{Value, json};

use crate::{client, endpoint};

#[tokio::test]
async fn a_completion_is_parsed_with_its_usage() {
    let mock = MockLlm::start().await;
    mock.set_answer("Capital of France?", "Paris");
    let client = client(endpoint(&mock, 1));

    let request = ChatRequest::new(vec![
        Message::system("Answer briefly."),
        Message::user("Capital of France?"),
    ]);
    let response = client.chat(&request).await.unwrap();

    assert_eq!(response.content, "Paris");
    assert_eq!(response.finish_reason.as_deref(), Some("stop"));
    assert_eq!(response.model, "mock-target");
    // The stand-in counts ceil(chars / 4): "Answer briefly." 4 + "Capital of France?" 5.
    assert_eq!(
        response.usage,
        Some(Usage {
            prompt_tokens: 9,
            completion_tokens: 2,
            total_tokens: 11
        })
    );
    assert_eq!((response.attempts, response.cached), (1, false));
    assert!(response.elapsed >= response.latency);
    assert!(
        response.raw["id"]
            .as_str()
            .unwrap()
            .starts_with("chatcmpl-")
    );
    assert_eq!(client.stats().calls, 1);
}

#[tokio::test]
async fn endpoint_defaults_and_request_parameters_reach_the_server() {
    let mock = MockLlm::start().await;
    let mut config = endpoint(&mock, 1);
    config.defaults = ChatParams {
        temperature: Some(0.0),
        seed: Some(42),
        extra: [("reasoning_effort".to_owned(), json!("low"))]
            .into_iter()
            .collect(),
        ..ChatParams::default()
    };
    let client = client(config);
    let request = ChatRequest::user("abcdefghijkl").with_params(ChatParams {
        max_tokens: Some(2),
        stop: Some(vec!["\n".into()]),
        ..ChatParams::default()
    });

    let response = client.chat(&request).await.unwrap();

    let sent = &mock.requests()[0];
    assert_eq!(sent["model"], "mock-target");
    assert_eq!(sent["temperature"], 0.0);
    assert_eq!(sent["seed"], 42);
    assert_eq!(sent["max_tokens"], 2);
    assert_eq!(sent["stop"], json!(["\n"]));
    assert_eq!(sent["reasoning_effort"], "low");
    // The stand-in cut the echo to max_tokens * 4 characters.
    assert_eq!(response.content, "abcdefgh");
    assert_eq!(response.finish_reason.as_deref(), Some("length"));
}

#[tokio::test]
async fn a_json_schema_judge_call_gets_a_parseable_verdict() {
    let mock = MockLlm::start().await;
    let client = client(endpoint(&mock, 1));
    let schema = json!({
        "type": "object",
        "properties": {"rationale": {"type": "string"}, "result": {"enum": ["yes", "no"]}},
        "required": ["rationale", "result"],
        "additionalProperties": false,
    });
    let request = ChatRequest::new(vec![
        Message::system("Judge whether the output contains the expected answer."),
        Message::user("<expected>42</expected>\n<output>The answer is 42.</output>"),
    ])
    .with_response_format(ResponseFormat::json_schema("verdict", schema));

    let response = client.chat(&request).await.unwrap();

    let verdict: Value = serde_json::from_str(&response.content).unwrap();
    assert_eq!(verdict["result"], "yes");
    assert_eq!(mock.requests()[0]["response_format"]["type"], "json_schema");
    assert_eq!(mock.counters().judge_calls, 1);
}
