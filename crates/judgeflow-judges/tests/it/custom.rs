//! Custom judges: the suite's template returning yes/no, a score or a category.

use judgeflow_judges::{Judge, JudgeError, JudgeKind, OutputKind};
use judgeflow_test::MockLlm;
use rstest::rstest;
use serde_json::{Value, json};

use crate::{Row, client};

fn custom(template: &str, output: OutputKind) -> JudgeKind {
    JudgeKind::Custom {
        name: "tone".into(),
        template: template.into(),
        output,
    }
}

#[rstest]
#[case("Bonjour, ça va ?", true)]
#[case("Hello there", false)]
#[tokio::test]
async fn yes_no_through_the_template_placeholders(#[case] output: &str, #[case] yes: bool) {
    let mock = MockLlm::start().await;
    let kind = custom(
        "Question: {{inputs}}\nDoes the answer greet like the reference?\n{{expectations}}\n{{outputs}}",
        OutputKind::YesNo,
    );
    let judge = Judge::new(kind, client(&mock, "judge"));
    assert_eq!(judge.name(), "tone");
    let row =
        Row::new("Greet me in French", output).expecting(json!({"expected_response": "bonjour"}));
    let verdict = judge.judge(&row.input()).await.unwrap();
    assert_eq!(verdict.value, Value::Bool(yes));
    let user = mock.state().requests()[0]["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        user.starts_with("Question: <inputs>\nGreet me in French\n</inputs>"),
        "{user}"
    );
    assert!(user.ends_with("result: \"yes\" or \"no\"."), "{user}");
}

#[tokio::test]
async fn a_score_in_range_is_a_number() {
    let mock = MockLlm::start().await;
    mock.state().set_verdict("SCORE-ME", json!(4));
    let kind = custom(
        "Rate SCORE-ME from 1 to 5: {{outputs}}",
        OutputKind::Score { min: 1, max: 5 },
    );
    let row = Row::new("q", "an answer");
    let verdict = Judge::new(kind, client(&mock, "judge"))
        .judge(&row.input())
        .await
        .unwrap();
    assert_eq!(verdict.value, json!(4));
    let schema = &mock.state().requests()[0]["response_format"]["json_schema"]["schema"];
    assert_eq!(
        schema["properties"]["result"],
        json!({"type": "integer", "minimum": 1, "maximum": 5})
    );
}

#[tokio::test]
async fn a_score_out_of_range_is_malformed_after_one_retry() {
    let mock = MockLlm::start().await;
    mock.state().set_verdict("SCORE-ME", json!(9));
    let kind = custom(
        "Rate SCORE-ME: {{outputs}}",
        OutputKind::Score { min: 1, max: 5 },
    );
    let row = Row::new("q", "an answer");
    let error = Judge::new(kind, client(&mock, "judge"))
        .judge(&row.input())
        .await
        .unwrap_err();
    let JudgeError::Malformed { raw, reason } = error else {
        panic!("expected Malformed, got {error:?}");
    };
    assert!(raw.contains("\"result\":9"), "{raw}");
    assert!(reason.contains("integer from 1 to 5"), "{reason}");
    assert_eq!(mock.state().counters().judge_calls, 2);
}

#[tokio::test]
async fn a_category_is_its_label() {
    let mock = MockLlm::start().await;
    mock.state().set_verdict("grumpy", json!("Negative"));
    let labels = vec![
        "positive".to_owned(),
        "neutral".to_owned(),
        "negative".to_owned(),
    ];
    let kind = custom(
        "Classify the tone: {{outputs}}",
        OutputKind::Category(labels.clone()),
    );
    let row = Row::new("q", "a grumpy reply");
    let verdict = Judge::new(kind, client(&mock, "judge"))
        .judge(&row.input())
        .await
        .unwrap();
    // The model's casing is mapped back to the label as the suite spelled it.
    assert_eq!(verdict.value, json!("negative"));
    let schema = &mock.state().requests()[0]["response_format"]["json_schema"]["schema"];
    assert_eq!(schema["properties"]["result"]["enum"], json!(labels));
}
